"""A run from creation to the manufacturer's PDF, all in the browser: an engineer creates a
run, runs a step against the scripted charger with live evidence and a command, overrides
the judge, skips the other step and sends the run to review; a second engineer publishes
it; the manufacturer finds their report, and only theirs, and downloads it."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from ocpp.v16 import call
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from certification import services
from certification.default_plan import PLAN_NAME
from certification.models import StepResult, TestPlan, TestRun
from chargers import services as charger_services
from chargers.models import ChargePoint, FirmwareVersion, User
from chargers.simulator import ChargerConfig
from tests.browser.conftest import NewPage, Screenshot, log_in
from tests.e2e.harness import ChargerThread
from tests.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY = "journey-key-0123456789"
HEARTBEAT = "Heartbeat"
UNLOCK = "Charging session - Remote Start Transaction - Request first - Unlock Connector"
REMARKS = "* Overridden in the browser journey: the lab clock drifted during the step"
SKIP_REASON = "DC charger with a fixed cable: no connector to unlock"
PDF_NAME = "ocpp-certification-Xcharge-C8EU-V1.0.0_C8_Standard-r1.pdf"


@pytest.fixture
def lab_plan(demo_logins: dict[str, str]) -> TestPlan:
    """Two steps of the default plan: one to run, one to skip. Deciding all 23 steps of the
    default plan in the browser would only repeat the same clicks; the run form offers every
    plan, so the engineer picks this one there."""
    plan = services.copy_plan(TestPlan.objects.get(name=PLAN_NAME), None, name="Lab journey")
    plan.steps.exclude(title__in=[HEARTBEAT, UNLOCK]).delete()
    for number, title in enumerate([HEARTBEAT, UNLOCK], start=1):
        plan.steps.filter(title=title).update(number=number)
    return services.publish_plan(plan, None)


@pytest.fixture
def lab_charge_point(demo_logins: dict[str, str]) -> ChargePoint:
    firmware = FirmwareVersion.objects.get(version="V1.0.0_C8_Standard")
    charge_point, _ = charger_services.create_charge_point(
        "LAB-C8EU-07",
        authorization_key=KEY,
        charger_model=firmware.charger_model,
        firmware_version=firmware,
    )
    return charge_point


@pytest.fixture
def charger(portal: LiveServer, lab_charge_point: ChargePoint) -> Iterator[ChargerThread]:
    config = ChargerConfig(
        charge_point_id="LAB-C8EU-07",
        url=f"{portal.ws_url}/ocpp/LAB-C8EU-07",
        password=KEY,
        connectors=2,
        fixed_cable=True,
        vendor="Xcharge",
        model="C8EU",
        serial="XC8-0007",
        firmware="V1.0.0_C8_Standard",
        response_timeout=10,
    )
    thread = ChargerThread(config)
    thread.do(thread.charger.connect())
    try:
        yield thread
    finally:
        thread.stop()


@pytest.fixture
def rival_run(lab_plan: TestPlan, rival_firmware: FirmwareVersion) -> TestRun:
    """Rival Charging's published run, set up through the services: the Xcharge user must
    never see it."""
    charge_point, _ = charger_services.create_charge_point(
        "RIVAL-R22-01", charger_model=rival_firmware.charger_model, firmware_version=rival_firmware
    )
    engineer = User.objects.get(username="engineer")
    run = services.create_run(
        charge_point=charge_point, plan=lab_plan, tester=engineer, firmware_version=rival_firmware
    )
    heartbeat, unlock = lab_plan.steps.order_by("number")
    services.decide_step(
        StepResult.objects.create(run=run, step=heartbeat, proposed_verdict="Y"),
        verdict="Y",
        remarks="Set up for the journey test",
        minor_issue=False,
        user=engineer,
    )
    services.skip_step(
        run, unlock, "Set up for the journey test", engineer, na_reason="fixed_cable"
    )
    services.submit_for_review(run, engineer)
    report = services.publish_run(run, User.objects.get(username="reviewer"))
    assert report.pdf.size > 0
    return run


def download_pdf(page: Page, link_name: str, target: Path) -> bytes:
    """Click a PDF link and return what the browser downloaded."""
    with page.expect_download() as download_info:
        page.get_by_role("link", name=link_name).click()
    download = download_info.value
    assert download.suggested_filename == PDF_NAME
    download.save_as(target)
    return target.read_bytes()


def assert_is_the_published_report(pdf: bytes, run: TestRun, verdict: str) -> None:
    """The PDF names the charge point and model, and holds the engineer's verdicts."""
    assert pdf.startswith(b"%PDF-")
    # Table cells wrap; compare with the line breaks folded into spaces.
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Hardware model C8EU" in text
    assert "chargePointId LAB-C8EU-07" in text
    assert f"Run {run.pk} · Published" in text
    # Step, profile, action, the OCTT ids it covers, the attempt's ISO 8601 time (cells wrap).
    octt, moment = r"TC_\d+(?:_\d+)?(?:, TC_\d+(?:_\d+)?)*", r"[\dT:+ -]+"
    assert re.search(rf"1 Core Heartbeat {octt} {moment} {verdict} {REMARKS[2:]}", text), text
    assert re.search(rf"2 Core {UNLOCK} {octt} {moment} N/A {SKIP_REASON}", text), text


def test_a_run_goes_from_the_console_to_the_manufacturers_pdf(
    new_page: NewPage,
    demo_logins: dict[str, str],
    lab_plan: TestPlan,
    charger: ChargerThread,
    rival_run: TestRun,
    screenshot: Screenshot,
    tmp_path: Path,
) -> None:
    # --- The engineer creates the run and runs its first step. -----------------------------
    page = new_page()
    log_in(page, "engineer", demo_logins["engineer"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    page.get_by_role("link", name="New", exact=True).click()
    page.get_by_label("Charge point").select_option(label="LAB-C8EU-07")
    page.get_by_label("Firmware version").select_option(label="Xcharge C8EU V1.0.0_C8_Standard")
    page.get_by_label("Plan").select_option(label=str(lab_plan))
    page.get_by_role("button", name="Save").click()

    expect(page.locator(".messages")).to_contain_text("start its first step when ready")
    run = TestRun.objects.get(charge_point__charge_point_id="LAB-C8EU-07")
    expect(page).to_have_url(re.compile(rf"/runs/{run.pk}/$"))
    expect(page.get_by_role("heading", name=f"1. {HEARTBEAT}")).to_be_visible()
    expect(page.locator("#charger-status")).to_contain_text("connected")

    page.keyboard.press("s")
    expect(page.get_by_role("button", name="Finish step")).to_be_visible()
    # The console listens before the charger speaks, so the frame can only arrive live.
    expect(page.locator("#stream-state")).to_have_text("live")
    page.evaluate("window.stillTheSamePage = true")
    charger.do(charger.charger.request(call.Heartbeat()))
    frames = page.locator("#frames tbody")
    expect(frames.locator("tr", has_text="Heartbeat").first).to_be_visible()

    # Any command from the console, answered in place.
    page.get_by_text("Another command").click()
    other = page.locator("details.any-command form.command")
    other.get_by_label("Action").select_option("GetConfiguration")
    other.get_by_label("Payload").fill('{"key": ["HeartbeatInterval"]}')
    other.get_by_role("button", name="Send").click()
    expect(other.locator(".command-result")).to_contain_text("HeartbeatInterval")
    expect(frames.locator("tr", has_text="GetConfiguration").first).to_be_visible()
    assert page.evaluate("window.stillTheSamePage === true")
    page.locator("details.any-command").evaluate("e => e.scrollIntoView()")
    screenshot(page, "run-console-live")

    # The console's own live "step finished" message must not reload the page over the
    # redirect back to this step (it once did, and the page jumped to step 2).
    page.get_by_role("button", name="Finish step").click()
    expect(page).to_have_url(re.compile(r"\?step=1$"))
    expect(page.locator(".judgement")).to_contain_text("proposed")
    proposed = StepResult.objects.get(run=run, step__number=1).proposed_verdict
    assert proposed in {"Y", "N"}
    override = "N" if proposed == "Y" else "Y"
    label = {"Y": "Pass", "N": "Fail"}[override]
    page.get_by_label(label, exact=True).check()
    page.get_by_label("Remarks").fill(REMARKS)
    page.get_by_role("button", name="Confirm verdict").click()
    expect(page.locator(".messages")).to_contain_text("Verdict of step 1 saved")

    # --- The other step does not apply; the run goes to review. ----------------------------
    page.get_by_role("navigation", name="Steps").get_by_role("link", name=UNLOCK).click()
    page.get_by_label("The plan's N/A reason").select_option("fixed_cable")
    page.get_by_label("Reason the step does not apply").fill(SKIP_REASON)
    page.get_by_role("button", name="Skip as N/A").click()
    expect(page.locator(".messages")).to_contain_text("Step 2 recorded as N/A")
    page.get_by_role("button", name="Send to review").click()
    expect(page.locator(".messages")).to_contain_text("Run sent to review.")
    expect(page.get_by_text("Waiting for another engineer to review.")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and publish")).to_have_count(0)

    # --- A second engineer reviews and publishes. ------------------------------------------
    reviewer = new_page()
    log_in(reviewer, "reviewer", demo_logins["reviewer"])
    reviewer.get_by_role("link", name=f"Run {run.pk}", exact=True).click()
    expect(reviewer.locator("h1 .badge")).to_have_text("In review")
    expect(reviewer.locator(".steps li", has_text=HEARTBEAT)).to_contain_text(label)
    screenshot(reviewer, "run-review")
    reviewer.get_by_role("button", name="Approve and publish").click(timeout=60_000)
    expect(reviewer.locator(".messages")).to_contain_text(
        "Run approved and published", timeout=60_000
    )
    expect(reviewer.locator("h1 .badge")).to_have_text("Published")

    approved = download_pdf(reviewer, "PDF revision 1", tmp_path / "reviewer.pdf")
    assert_is_the_published_report(approved, run, override)

    reviewer.get_by_role("link", name="Report", exact=True).click()
    expect(reviewer.get_by_role("heading", level=1)).to_contain_text("Test report: Xcharge C8EU")
    expect(reviewer.locator(".draft-note")).to_have_count(0)
    expect(reviewer.get_by_role("link", name="Draft PDF")).to_have_count(0)
    screenshot(reviewer, "published-report")
    # Engineers see every manufacturer's reports: the rival's is there to be hidden.
    reviewer.get_by_role("link", name="Overview").click()
    expect(reviewer.get_by_role("cell", name="Rival Charging").first).to_be_visible()

    # --- The manufacturer sees their report, and only theirs. ------------------------------
    maker = new_page()
    log_in(maker, "xcharge", demo_logins["xcharge"])
    published = maker.locator("table.data-table").first
    expect(published).to_contain_text("C8EU")
    expect(maker.get_by_text("Rival Charging")).to_have_count(0)
    expect(maker.get_by_text("R22")).to_have_count(0)
    screenshot(maker, "manufacturer-overview")

    maker.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    rows = maker.locator("table.data-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("C8EU")
    expect(maker.get_by_text("R22")).to_have_count(0)
    maker.get_by_role("link", name=str(run.pk), exact=True).click()
    expect(maker.get_by_role("heading", level=1)).to_contain_text(f"Run {run.pk}")
    expect(maker.get_by_role("button", name="Send to review")).to_have_count(0)
    maker.get_by_role("link", name="Report", exact=True).click()
    expect(maker.get_by_role("heading", level=1)).to_contain_text("Test report: Xcharge C8EU")
    # The stored PDF, byte for byte what the reviewer approved.
    assert download_pdf(maker, "PDF revision 1", tmp_path / "manufacturer.pdf") == approved

    for path in [
        f"/runs/{rival_run.pk}/",
        f"/runs/{rival_run.pk}/report/",
        f"/runs/{rival_run.pk}/report.pdf",
    ]:
        response = maker.goto(path)
        assert response is not None
        assert response.status == 404, path
        expect(maker.get_by_role("heading", name="Not found", exact=True, level=1)).to_be_visible()
