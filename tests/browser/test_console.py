"""The step console in a real browser: start a step by keyboard, see a frame arrive live
without a reload, send a command, finish, override the proposal and save."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from certification.default_plan import PLAN_NAME
from certification.models import StepResult, TestPlan, TestRun
from certification.services import create_run
from chargers import services
from chargers.models import FirmwareVersion, User
from chargers.simulator import ChargerConfig
from tests.browser.conftest import Screenshot
from tests.e2e.harness import ChargerThread
from tests.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY = "console-key-0123456789"


@pytest.fixture
def console_run(demo_logins: dict[str, str]) -> TestRun:
    firmware = FirmwareVersion.objects.get(version="V1.0.0_C8_Standard")
    charge_point, _ = services.create_charge_point(
        "CONSOLE-1",
        authorization_key=KEY,
        charger_model=firmware.charger_model,
        firmware_version=firmware,
        heartbeat_interval=2,
    )
    return create_run(
        charge_point=charge_point,
        plan=TestPlan.objects.get(name=PLAN_NAME),
        tester=User.objects.get(username="engineer"),
        firmware_version=firmware,
    )


@pytest.fixture
def charger(portal: LiveServer, console_run: TestRun) -> Iterator[ChargerThread]:
    config = ChargerConfig(
        charge_point_id="CONSOLE-1",
        url=f"{portal.ws_url}/ocpp/CONSOLE-1",
        password=KEY,
        connectors=2,
        fixed_cable=True,
        response_timeout=10,
    )
    thread = ChargerThread(config)
    thread.do(thread.charger.connect())
    try:
        yield thread
    finally:
        thread.stop()


def test_engineer_runs_a_step_in_the_console(
    engineer_page: Page, console_run: TestRun, charger: ChargerThread, screenshot: Screenshot
) -> None:
    page = engineer_page
    page.goto(f"/runs/{console_run.pk}/?step=5")
    expect(page.get_by_role("heading", name="5. Heartbeat")).to_be_visible()
    expect(page.locator("#charger-status")).to_contain_text("connected")

    page.keyboard.press("s")  # start, by keyboard
    expect(page.get_by_role("button", name="Finish step")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    # A Heartbeat arrives over the live stream, without a reload.
    frames = page.locator("#frames tbody")
    expect(frames.locator("tr", has_text="Heartbeat").first).to_be_visible(timeout=10_000)
    assert page.evaluate("window.stillTheSamePage === true")

    # A command from the step's pre-filled buttons, answered in place.
    trigger = page.locator("form.command", has_text="Trigger Heartbeat")
    trigger.get_by_role("button", name="Send").click()
    expect(trigger.locator(".command-result")).to_contain_text("Accepted")
    expect(frames.locator("tr", has_text="TriggerMessage").first).to_be_visible()
    assert page.evaluate("window.stillTheSamePage === true")
    screenshot(page, "console")

    page.keyboard.press("f")  # finish, by keyboard
    expect(page.locator(".judgement")).to_contain_text("proposed")
    proposed = StepResult.objects.get(run=console_run, step__number=5).proposed_verdict
    assert proposed in {"Y", "N"}

    # Override the proposal: the portal insists on remarks, then saves.
    override = "N" if proposed == "Y" else "Y"
    label = {"Y": "Pass", "N": "Fail"}[override]
    page.get_by_label(label, exact=True).check()
    page.get_by_role("button", name="Confirm verdict").click()
    expect(page.locator(".messages")).to_contain_text("write in the remarks why")
    page.get_by_label(label, exact=True).check()
    page.get_by_label("Remarks").fill("* Overridden in the browser test")
    page.get_by_label("Remarks").press("Control+Enter")
    expect(page.locator(".messages")).to_contain_text("Verdict of step 5 saved")
    expect(page.locator(".steps li.current")).to_contain_text(label)

    result = StepResult.objects.get(run=console_run, step__number=5)
    assert (result.final_verdict, result.remarks) == (override, "* Overridden in the browser test")
    assert result.is_overridden()
