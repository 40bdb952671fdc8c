"""Every catalog page: happy path, permissions, anonymous access, wrong method."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from chargers.models import ChargerModel, FirmwareVersion, Manufacturer, User

pytestmark = pytest.mark.django_db


def page_urls(c8eu: ChargerModel, firmware: FirmwareVersion) -> dict[str, str]:
    manufacturer = c8eu.manufacturer
    return {
        "home": reverse("home"),
        "manufacturer-list": reverse("chargers:manufacturer-list"),
        "manufacturer-detail": reverse("chargers:manufacturer-detail", args=[manufacturer.pk]),
        "model-list": reverse("chargers:model-list"),
        "model-detail": reverse("chargers:model-detail", args=[c8eu.pk]),
        "firmware-list": reverse("chargers:firmware-list"),
    }


def form_urls(c8eu: ChargerModel, firmware: FirmwareVersion) -> dict[str, str]:
    return {
        "manufacturer-create": reverse("chargers:manufacturer-create"),
        "manufacturer-update": reverse("chargers:manufacturer-update", args=[c8eu.manufacturer.pk]),
        "model-create": reverse("chargers:model-create"),
        "model-update": reverse("chargers:model-update", args=[c8eu.pk]),
        "firmware-create": reverse("chargers:firmware-create", args=[c8eu.pk]),
        "firmware-update": reverse("chargers:firmware-update", args=[firmware.pk]),
    }


def test_anonymous_visitors_are_sent_to_login_from_every_page(
    client: Client, c8eu: ChargerModel, c8eu_firmware: FirmwareVersion
) -> None:
    urls = page_urls(c8eu, c8eu_firmware) | form_urls(c8eu, c8eu_firmware)
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login") + "?next="), name


def test_engineer_opens_every_page_and_form(
    engineer_client: Client, c8eu: ChargerModel, c8eu_firmware: FirmwareVersion
) -> None:
    urls = page_urls(c8eu, c8eu_firmware) | form_urls(c8eu, c8eu_firmware)
    for name, url in urls.items():
        response = engineer_client.get(url)
        assert response.status_code == 200, name


def test_manufacturer_user_reads_own_pages_but_cannot_open_forms(
    manufacturer_client: Client, c8eu: ChargerModel, c8eu_firmware: FirmwareVersion
) -> None:
    for name, url in page_urls(c8eu, c8eu_firmware).items():
        assert manufacturer_client.get(url).status_code == 200, name
    for name, url in form_urls(c8eu, c8eu_firmware).items():
        response = manufacturer_client.get(url)
        assert response.status_code == 403, name
        assert b"Not allowed" in response.content
        assert manufacturer_client.post(url, {"name": "Hijack"}).status_code == 403, name


def test_manufacturer_user_gets_404_for_another_manufacturers_rows(
    manufacturer_client: Client,
    rival_model: ChargerModel,
    rival_firmware: FirmwareVersion,
) -> None:
    assert (
        manufacturer_client.get(
            reverse("chargers:manufacturer-detail", args=[rival_model.manufacturer.pk])
        ).status_code
        == 404
    )
    response = manufacturer_client.get(reverse("chargers:model-detail", args=[rival_model.pk]))
    assert response.status_code == 404
    assert b"Not found" in response.content


def test_lists_show_a_manufacturer_user_only_their_own_rows(
    manufacturer_client: Client,
    c8eu_firmware: FirmwareVersion,
    rival_firmware: FirmwareVersion,
) -> None:
    for url_name in ("manufacturer-list", "model-list", "firmware-list"):
        body = manufacturer_client.get(reverse(f"chargers:{url_name}")).content.decode()
        assert "Rival" not in body and "R22" not in body, url_name
    body = manufacturer_client.get(reverse("chargers:model-list")).content.decode()
    assert "C8EU" in body
    home = manufacturer_client.get(reverse("home")).content.decode()
    assert "R22" not in home and "C8EU" in home


def test_list_and_detail_pages_refuse_post(
    engineer_client: Client, c8eu: ChargerModel, c8eu_firmware: FirmwareVersion
) -> None:
    for name, url in page_urls(c8eu, c8eu_firmware).items():
        assert engineer_client.post(url).status_code == 405, name
        assert engineer_client.delete(url).status_code == 405, name


def test_forms_refuse_delete(
    engineer_client: Client, c8eu: ChargerModel, c8eu_firmware: FirmwareVersion
) -> None:
    for name, url in form_urls(c8eu, c8eu_firmware).items():
        assert engineer_client.delete(url).status_code == 405, name


def test_model_list_filters_and_sorts(
    engineer_client: Client, c8eu: ChargerModel, rival_model: ChargerModel
) -> None:
    url = reverse("chargers:model-list")
    dc_only = engineer_client.get(url, {"current_type": "DC"}).content.decode()
    assert "C8EU" in dc_only and "R22" not in dc_only
    searched = engineer_client.get(url, {"q": "rival"}).content.decode()
    assert "R22" in searched and "C8EU" not in searched
    by_name_desc = engineer_client.get(url, {"sort": "-name"}).content.decode()
    assert by_name_desc.index("R22") < by_name_desc.index("C8EU")
    by_name = engineer_client.get(url, {"sort": "name"}).content.decode()
    assert by_name.index("C8EU") < by_name.index("R22")


def test_model_list_exports_the_filtered_rows_as_csv(
    engineer_client: Client, c8eu: ChargerModel, rival_model: ChargerModel
) -> None:
    response = engineer_client.get(
        reverse("chargers:model-list"), {"current_type": "DC", "_export": "csv"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().strip().splitlines()
    assert lines[0].startswith("Manufacturer,Model name")
    assert len(lines) == 2 and "C8EU" in lines[1]


def test_manufacturer_list_exports_xlsx_without_other_manufacturers(
    manufacturer_client: Client, xcharge: Manufacturer, rival: Manufacturer
) -> None:
    response = manufacturer_client.get(reverse("chargers:manufacturer-list"), {"_export": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["Xcharge"]


def test_lists_paginate(engineer_client: Client, xcharge: Manufacturer) -> None:
    for number in range(30):
        ChargerModel.objects.create(manufacturer=xcharge, name=f"M{number:02}", current_type="AC")
    first = engineer_client.get(reverse("chargers:model-list")).content.decode()
    assert "M24" in first and "M25" not in first
    second = engineer_client.get(reverse("chargers:model-list"), {"page": 2}).content.decode()
    assert "M25" in second and "M29" in second


def test_engineer_creates_a_manufacturer_model_and_firmware(engineer_client: Client) -> None:
    response = engineer_client.post(
        reverse("chargers:manufacturer-create"),
        {"name": "Alfen", "country": "Netherlands", "website": "", "contact_email": ""},
    )
    alfen = Manufacturer.objects.get(name="Alfen")
    assert response.status_code == 302 and response["Location"] == alfen.get_absolute_url()

    response = engineer_client.post(
        reverse("chargers:model-create"),
        {
            "manufacturer": alfen.pk,
            "name": "Eve Single",
            "current_type": "AC",
            "connectors": 1,
            "max_power_kw": "22",
            "outlet": "socket",
            "notes": "",
        },
    )
    eve = ChargerModel.objects.get(name="Eve Single")
    assert response["Location"] == eve.get_absolute_url()

    response = engineer_client.post(
        reverse("chargers:firmware-create", args=[eve.pk]),
        {"version": "6.3.1", "release_date": "2024-05-01", "notes": "LTS"},
    )
    assert response["Location"] == eve.get_absolute_url()
    detail = engineer_client.get(eve.get_absolute_url()).content.decode()
    assert "6.3.1" in detail and "22 kW" in detail


def test_engineer_edits_a_charger_model_and_firmware(
    engineer_client: Client, c8eu: ChargerModel, c8eu_firmware: FirmwareVersion
) -> None:
    response = engineer_client.post(
        reverse("chargers:model-update", args=[c8eu.pk]),
        {
            "manufacturer": c8eu.manufacturer_id,
            "name": "C8EU",
            "current_type": "DC",
            "connectors": 2,
            "max_power_kw": "60",
            "outlet": "cable",
            "notes": "Battery buffered",
        },
    )
    assert response.status_code == 302
    c8eu.refresh_from_db()
    assert c8eu.notes == "Battery buffered"
    engineer_client.post(
        reverse("chargers:firmware-update", args=[c8eu_firmware.pk]),
        {"version": "V1.0.1_C8_Standard", "release_date": "", "notes": ""},
    )
    c8eu_firmware.refresh_from_db()
    assert c8eu_firmware.version == "V1.0.1_C8_Standard"


def test_form_errors_say_what_to_fix(
    engineer_client: Client, c8eu: ChargerModel, c8eu_firmware: FirmwareVersion
) -> None:
    duplicate_model = engineer_client.post(
        reverse("chargers:model-create"),
        {
            "manufacturer": c8eu.manufacturer_id,
            "name": "c8eu",
            "current_type": "DC",
            "connectors": 0,
            "max_power_kw": "-5",
            "outlet": "cable",
        },
    )
    assert duplicate_model.status_code == 200
    body = duplicate_model.content.decode()
    assert "at least one connector" in body
    assert "greater than zero" in body
    assert ChargerModel.objects.count() == 1

    duplicate_firmware = engineer_client.post(
        reverse("chargers:firmware-create", args=[c8eu.pk]),
        {"version": "V1.0.0_C8_Standard"},
    )
    assert "already has a firmware version" in duplicate_firmware.content.decode()

    duplicate_maker = engineer_client.post(
        reverse("chargers:manufacturer-create"), {"name": "XCHARGE"}
    )
    assert "A manufacturer with this name already exists." in duplicate_maker.content.decode()


def test_unique_model_name_is_case_insensitive_per_manufacturer(
    engineer_client: Client, c8eu: ChargerModel, rival: Manufacturer
) -> None:
    response = engineer_client.post(
        reverse("chargers:model-create"),
        {
            "manufacturer": c8eu.manufacturer_id,
            "name": "C8eu",
            "current_type": "DC",
            "connectors": 1,
            "outlet": "cable",
        },
    )
    assert "already has a model of this name" in response.content.decode()
    # The same name is fine under another manufacturer.
    engineer_client.post(
        reverse("chargers:model-create"),
        {
            "manufacturer": rival.pk,
            "name": "C8EU",
            "current_type": "DC",
            "connectors": 1,
            "outlet": "cable",
        },
    )
    assert ChargerModel.objects.filter(name="C8EU").count() == 2


def test_forms_refuse_manufacturer_users_whatever_the_row(
    rival_user: User, c8eu: ChargerModel, c8eu_firmware: FirmwareVersion
) -> None:
    client = Client()
    client.force_login(rival_user)
    for name, url in form_urls(c8eu, c8eu_firmware).items():
        assert client.get(url).status_code == 403, name


def test_engineer_gets_404_for_a_form_of_a_missing_row(engineer_client: Client) -> None:
    assert engineer_client.get(reverse("chargers:firmware-create", args=[999])).status_code == 404
    assert engineer_client.get(reverse("chargers:model-update", args=[999])).status_code == 404


def test_saving_a_form_says_what_was_saved(engineer_client: Client, c8eu: ChargerModel) -> None:
    created = engineer_client.post(
        reverse("chargers:manufacturer-create"), {"name": "Alfen"}, follow=True
    )
    assert "Manufacturer Alfen created." in created.content.decode()
    edited = engineer_client.post(
        reverse("chargers:model-update", args=[c8eu.pk]),
        {
            "manufacturer": c8eu.manufacturer_id,
            "name": "C8EU",
            "current_type": "DC",
            "connectors": 2,
            "outlet": "cable",
        },
        follow=True,
    )
    assert "Charger model Xcharge C8EU saved." in edited.content.decode()
    assert (
        "Edit Xcharge C8EU"
        in engineer_client.get(reverse("chargers:model-update", args=[c8eu.pk])).content.decode()
    )
