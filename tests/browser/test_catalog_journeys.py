"""What a user notices in a real browser: logging in, moving around the catalog, sorting,
filtering, exporting, adding firmware and charge point identities, the keyboard shortcut,
the tablet layout, and a manufacturer kept out of another manufacturer's data."""

from __future__ import annotations

import base64
import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from chargers.models import ChargerModel, FirmwareVersion, Manufacturer
from chargers.services import authenticate_charge_point
from tests.browser.conftest import NewPage, Screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalog(demo_logins: dict[str, str], rival_model: ChargerModel) -> None:
    """Besides the demo's Xcharge C8EU (DC): an AC Xcharge model and Rival's R22 (AC), so
    that sorting by name and by manufacturer give different orders."""
    ChargerModel.objects.create(
        manufacturer=Manufacturer.objects.get(name="Xcharge"),
        name="Aurora 11",
        current_type=ChargerModel.CurrentType.AC,
    )


def column(page: Page, header: str) -> list[str]:
    """The texts of one column of the page's data table, top to bottom."""
    cells: list[str] = page.locator("table.data-table").first.evaluate(
        """(table, header) => {
            const heads = [...table.tHead.rows[0].cells].map((cell) => cell.innerText.trim());
            const index = heads.indexOf(header);
            if (index < 0) { throw new Error(`no column ${header} in ${heads}`); }
            return [...table.tBodies[0].rows].map((row) => row.cells[index].innerText.trim());
        }""",
        header,
    )
    return cells


def test_engineer_finds_a_model_and_adds_a_firmware_version(
    new_page: NewPage, demo_logins: dict[str, str], catalog: None, screenshot: Screenshot
) -> None:
    page = new_page()
    page.goto("/")
    expect(page).to_have_url("/accounts/login/?next=/")
    page.get_by_label("Username").fill("engineer")
    page.get_by_label("Password").fill(demo_logins["engineer"])
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url("/")
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="3 charger models")).to_be_visible()
    screenshot(page, "overview")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Charger models").click()
    expect(page.get_by_role("heading", name="Charger models", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="New", exact=True)).to_be_visible()
    by_manufacturer = column(page, "Model name")
    assert by_manufacturer == ["R22", "Aurora 11", "C8EU"]
    screenshot(page, "charger-models")

    # Each click on the header sorts by model name, the next click the other way round.
    model_name_header = page.locator("thead").get_by_role("link", name=re.compile(r"^Model name"))
    model_name_header.click()
    expect(page).to_have_url(re.compile(r"sort=-?name$"))
    first_click = column(page, "Model name")
    assert first_click != by_manufacturer
    assert first_click in (["Aurora 11", "C8EU", "R22"], ["R22", "C8EU", "Aurora 11"])
    first_click_url = page.url
    model_name_header.click()
    expect(page).not_to_have_url(first_click_url)
    assert column(page, "Model name") == list(reversed(first_click))

    page.get_by_label("Search").fill("c8")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("table.data-table tbody tr")).to_have_count(1)
    assert column(page, "Model name") == ["C8EU"]

    page.get_by_role("link", name="C8EU", exact=True).click()
    expect(page.get_by_role("heading", name="C8EU", level=1)).to_be_visible()
    page.get_by_role("link", name="New firmware version").click()

    page.get_by_label("Version", exact=True).fill("V1.0.0_C8_Standard")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Xcharge C8EU already has a firmware version 'V1.0.0_C8_Standard'."
    )

    page.get_by_label("Version", exact=True).fill("V1.1.0_C8_Standard")
    page.get_by_label("Release date").fill("2024-03-15")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="C8EU", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(
        "Firmware V1.1.0_C8_Standard saved for Xcharge C8EU."
    )
    assert column(page, "Version") == ["V1.1.0_C8_Standard", "V1.0.0_C8_Standard"]
    assert FirmwareVersion.objects.filter(
        charger_model__name="C8EU", version="V1.1.0_C8_Standard"
    ).exists()
    screenshot(page, "charger-model")


def test_csv_export_holds_the_rows_the_filtered_list_shows(
    engineer_page: Page, catalog: None, tmp_path: Path
) -> None:
    page = engineer_page
    page.goto("/catalog/models/")
    page.get_by_label("Search").fill("xcharge")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.data-table tbody tr")).to_have_count(2)
    shown = column(page, "Model name")
    assert shown == ["Aurora 11", "C8EU"]

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "charger-models.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    with path.open(newline="", encoding="utf-8-sig") as export:
        rows = list(csv.DictReader(export))
    assert [row["Model name"] for row in rows] == shown
    assert {row["Manufacturer"] for row in rows} == {"Xcharge"}


def test_manufacturer_sees_only_own_models_and_cannot_open_a_rivals(
    manufacturer_page: Page, catalog: None, rival_model: ChargerModel
) -> None:
    page = manufacturer_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Charger models").click()
    expect(page.get_by_role("heading", name="Charger models", level=1)).to_be_visible()
    assert column(page, "Model name") == ["Aurora 11", "C8EU"]
    expect(page.get_by_text("R22")).to_have_count(0)
    expect(page.get_by_role("link", name="New", exact=True)).to_have_count(0)

    response = page.goto(f"/catalog/models/{rival_model.pk}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found", exact=True, level=1)).to_be_visible()
    expect(page.get_by_text("R22")).to_have_count(0)


def test_new_charge_point_shows_its_authorization_key_once(
    engineer_page: Page, screenshot: Screenshot
) -> None:
    page = engineer_page
    page.goto("/charge-points/new/")
    page.get_by_label("chargePointId").fill("LAB-C8EU-01")
    page.get_by_label("Charger model").select_option(label="Xcharge C8EU")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="LAB-C8EU-01")).to_be_visible()
    key = page.locator("#new-key").inner_text()
    assert len(key) >= 16
    credentials = base64.b64encode(f"LAB-C8EU-01:{key}".encode())
    assert authenticate_charge_point("LAB-C8EU-01", b"Basic " + credentials).refused is None
    screenshot(page, "charge-point")

    page.reload()
    expect(page.get_by_role("heading", name="LAB-C8EU-01")).to_be_visible()
    expect(page.locator("#new-key")).to_have_count(0)
    assert key not in page.content()


def test_slash_focuses_the_first_filter_field_of_a_list(engineer_page: Page) -> None:
    page = engineer_page
    for path, first_field in [
        ("/catalog/models/", "Search"),
        ("/charge-points/events/", "chargePointId"),
    ]:
        page.goto(path)
        expect(page.get_by_label(first_field)).not_to_be_focused()
        page.keyboard.press("/")
        expect(page.get_by_label(first_field)).to_be_focused()
        expect(page.get_by_label(first_field)).to_have_value("")

    # Once in a field, "/" is just a character.
    page.keyboard.type("LAB/01")
    expect(page.get_by_label("chargePointId")).to_have_value("LAB/01")


def test_menu_toggle_shows_the_navigation_on_a_tablet(engineer_page: Page) -> None:
    page = engineer_page
    page.set_viewport_size({"width": 800, "height": 1100})
    page.goto("/")
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation).to_be_hidden()

    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    # Reachable by keyboard: Tab from the brand link lands on the toggle, Enter opens it.
    page.get_by_role("link", name="OCPP Certification Portal").focus()
    page.keyboard.press("Tab")
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(navigation).to_be_visible()
    navigation.get_by_role("link", name="Charger models").click()
    expect(page.get_by_role("heading", name="Charger models", level=1)).to_be_visible()
