"""A manufacturer user fills in their model's capability declaration in the browser, an
engineer locks it, and another manufacturer's declaration stays invisible to them."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import Page, expect

from chargers import services
from chargers.models import (
    CapabilityDeclaration,
    ChargerModel,
    FirmwareVersion,
    Manufacturer,
    User,
)
from tests.browser.conftest import NewPage, Screenshot, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RIVAL_PASSWORD = "rival-browser-pw-1"


@pytest.fixture
def rival_declaration(demo_logins: dict[str, str]) -> CapabilityDeclaration:
    """Rival Charging's R22 with a declaration of its own, and a user of Rival."""
    rival = Manufacturer.objects.create(name="Rival Charging")
    model = ChargerModel.objects.create(manufacturer=rival, name="R22", current_type="AC")
    firmware = FirmwareVersion.objects.create(charger_model=model, version="R22-2.4.1")
    declaration = services.new_declaration(firmware, None)
    services.save_declaration(declaration, {"firmware_format": "RIVALFW"}, None)
    pbkdf2 = PBKDF2PasswordHasher()
    User.objects.create(
        username="rival",
        role=User.Role.MANUFACTURER,
        manufacturer=rival,
        password=pbkdf2.encode(RIVAL_PASSWORD, pbkdf2.salt(), iterations=1000),
    )
    return declaration


def test_a_manufacturer_fills_in_the_declaration_and_a_rival_cannot_see_it(
    new_page: NewPage,
    manufacturer_page: Page,
    engineer_page: Page,
    rival_declaration: CapabilityDeclaration,
    screenshot: Screenshot,
) -> None:
    page = manufacturer_page
    c8eu = ChargerModel.objects.get(name="C8EU")
    page.goto(c8eu.get_absolute_url())
    expect(page.get_by_role("heading", name="Capability declarations")).to_be_visible()
    # Another manufacturer's model and declaration are nowhere on the Xcharge user's pages.
    expect(page.get_by_text("R22-2.4.1")).to_have_count(0)
    page.get_by_role("button", name="Fill in the declaration").first.click()

    expect(page.get_by_role("heading", name="Declaration v1", level=1)).to_be_visible()
    page.get_by_label("Reservation").check()
    page.get_by_label("Remote Trigger").check()
    page.get_by_label("Firmware Management").check()
    page.get_by_label("Phases").select_option("3")
    page.get_by_label("RFID reader").select_option(label="Yes")
    page.get_by_label("SIM card (ICCID expected)").select_option(label="No")
    page.get_by_label("Energy meter").select_option(label="Yes")
    page.get_by_label("Energy.Active.Import.Register").check()
    page.locator("#id_firmware_protocols").get_by_label("HTTPS").check()
    page.locator("#id_diagnostics_protocols_0").check()  # FTP
    page.get_by_label("Firmware file format").fill("APK")
    page.get_by_label("Supported configuration keys").fill(
        "MeterValueSampleInterval: 0-3600\nReserveConnectorZeroSupported (read-only): false"
    )
    page.get_by_label("LocalAuthorizeOffline").select_option("true")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("saved.")).to_be_visible()
    facts = page.locator("dl.declaration")
    expect(facts).to_contain_text("Core, FirmwareManagement, Reservation, RemoteTrigger")
    expect(facts).to_contain_text("HTTPS · format APK")
    expect(facts).to_contain_text("ReserveConnectorZeroSupported")
    expect(facts).to_contain_text("LocalAuthorizeOffline = true")
    # Locking is the engineer's: the manufacturer user has no such button.
    expect(page.get_by_role("button", name="Lock for runs")).to_have_count(0)
    screenshot(page, "capability-declaration")
    declaration = CapabilityDeclaration.objects.get(firmware_version__charger_model=c8eu)
    assert declaration.rfid_reader is True and declaration.phases == 3

    # The rival's user reaches neither the Xcharge declaration nor its model: the 404 page.
    rival_page = new_page()
    log_in(rival_page, "rival", RIVAL_PASSWORD)
    for url in (declaration.get_absolute_url(), c8eu.get_absolute_url()):
        response = rival_page.goto(url)
        assert response is not None and response.status == 404
    # And the Xcharge user does not reach the rival's.
    response = page.goto(rival_declaration.get_absolute_url())
    assert response is not None and response.status == 404

    # The engineer reviews and locks it; the manufacturer can no longer edit that version.
    engineer_page.goto(declaration.get_absolute_url())
    engineer_page.get_by_role("button", name="Lock for runs").click()
    expect(engineer_page.get_by_text("locked: new runs of this firmware pin it")).to_be_visible()
    page.goto(declaration.get_absolute_url())
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("button", name="New version")).to_be_visible()
