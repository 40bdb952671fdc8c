"""A manufacturer rehearses the certification in the browser before paying for a lab slot:
they pick their charge point, start an unattended rehearsal, watch it progress, read the
outcome of each step and download the JUnit file. The rehearsal is marked as such, and
another manufacturer sees nothing of it."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import Page, expect

from certification.models import TestRun, UnattendedRun
from chargers import services as charger_services
from chargers.models import ChargePoint, FirmwareVersion, Manufacturer, User
from chargers.simulator import ChargerConfig
from tests.browser.conftest import NewPage, Screenshot, log_in
from tests.e2e.harness import ChargerThread
from tests.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY = "rehearsal-key-0123456789"


@pytest.fixture
def own_charge_point(demo_logins: dict[str, str]) -> ChargePoint:
    firmware = FirmwareVersion.objects.get(version="V1.0.0_C8_Standard")
    charge_point, _ = charger_services.create_charge_point(
        "XC-CI-REHEARSAL",
        authorization_key=KEY,
        charger_model=firmware.charger_model,
        firmware_version=firmware,
    )
    return charge_point


@pytest.fixture
def charger(portal: LiveServer, own_charge_point: ChargePoint) -> Iterator[ChargerThread]:
    thread = ChargerThread(
        ChargerConfig(
            charge_point_id=own_charge_point.charge_point_id,
            url=f"{portal.ws_url}/ocpp/{own_charge_point.charge_point_id}",
            password=KEY,
            connectors=2,
            fixed_cable=True,
            response_timeout=10,
        )
    )
    thread.do(thread.charger.connect())
    yield thread
    thread.stop()


def test_a_manufacturer_rehearses_on_their_own_charge_point(
    manufacturer_page: Page,
    new_page: NewPage,
    charger: ChargerThread,
    own_charge_point: ChargePoint,
    screenshot: Screenshot,
) -> None:
    page = manufacturer_page
    page.get_by_role("link", name="Rehearse").click()
    expect(page.get_by_role("heading", name="Rehearse the certification")).to_be_visible()
    page.get_by_label("Charge point").select_option(label=own_charge_point.charge_point_id)
    page.get_by_label("Strict mode").check()
    # Two steps the portal plays with commands alone, and one that needs the test bench.
    page.get_by_label("Steps").fill("2, 3, 6")
    page.get_by_role("button", name="Start the rehearsal").click()

    expect(page.get_by_role("heading", name="Unattended run")).to_contain_text(
        "rehearsal: never published"
    )
    status = page.locator("#unattended-status")
    expect(status).to_contain_text("Passed", timeout=90_000)
    expect(status).to_contain_text("2 passed, 0 failed")
    outcomes = page.locator("#outcomes")
    expect(outcomes.locator("tr.outcome-passed")).to_have_count(2)
    expect(
        outcomes.locator("tr.outcome-not_run").filter(has_text="needs a test bench")
    ).to_have_count(1)
    expect(page.locator("#progress")).to_contain_text("Step 2 finished: Y.")
    screenshot(page, "rehearsal")

    href = page.get_by_role("link", name="JUnit XML").get_attribute("href")
    assert href is not None
    download = page.request.get(href)  # with the user's session, as the link is followed
    assert download.ok and download.headers["content-type"].startswith("application/xml")
    junit = ElementTree.fromstring(download.body())
    cases = junit.findall(".//testcase")
    assert len(cases) == 23
    properties = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert properties["rehearsal"] == "true" and properties["strict"] == "true"

    played = UnattendedRun.objects.get()
    run = TestRun.objects.get(pk=played.run_id)
    assert run.rehearsal and run.tester.username == "xcharge" and run.status == "in_progress"
    # Another manufacturer's user sees nothing of it.
    rival = Manufacturer.objects.create(name="Rival Charging")
    pbkdf2 = PBKDF2PasswordHasher()  # one the server verifies (see demo_logins)
    User.objects.create(
        username="rival",
        password=pbkdf2.encode("rival-password-123", pbkdf2.salt(), iterations=1000),
        role=User.Role.MANUFACTURER,
        manufacturer=rival,
    )
    other = new_page()
    log_in(other, "rival", "rival-password-123")
    response = other.goto(f"/unattended/{played.pk}/")
    assert response is not None and response.status == 404
