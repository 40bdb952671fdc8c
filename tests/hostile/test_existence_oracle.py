"""API filters on a related row: an id the user may not see is answered exactly like an id
that does not exist (it was 400 against 200, which told a manufacturer user that another
manufacturer's charger model, firmware or charge point exists)."""

from __future__ import annotations

import pytest
from django.test import Client

from chargers import services
from chargers.api_tokens import create_api_token
from chargers.models import ChargePoint, FirmwareVersion, User

MISSING = 987_654


@pytest.fixture
def rival_charge_point(rival_firmware: FirmwareVersion) -> ChargePoint:
    charge_point, _ = services.create_charge_point(
        "RIVAL-1",
        authorization_key="rival-key-0123456789",
        charger_model=rival_firmware.charger_model,
        firmware_version=rival_firmware,
    )
    return charge_point


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, parameter, target",
    [
        ("/api/runs/", "firmware_version", "firmware"),
        ("/api/runs/", "charger_model", "model"),
        ("/api/runs/", "charge_point", "charge_point"),
        ("/api/charger-models/", "manufacturer", "manufacturer"),
        ("/api/firmware-versions/", "charger_model", "model"),
        ("/api/charge-points/", "charger_model", "model"),
    ],
)
def test_an_invisible_id_is_answered_like_a_missing_one(
    manufacturer_user: User,
    rival_charge_point: ChargePoint,
    path: str,
    parameter: str,
    target: str,
) -> None:
    firmware = rival_charge_point.firmware_version
    assert firmware is not None
    ids = {
        "firmware": firmware.pk,
        "model": firmware.charger_model_id,
        "charge_point": rival_charge_point.pk,
        "manufacturer": firmware.charger_model.manufacturer_id,
    }
    api = Client(HTTP_AUTHORIZATION=f"Token {create_api_token(manufacturer_user)[1]}")
    invisible = api.get(path, {parameter: ids[target]})
    missing = api.get(path, {parameter: MISSING})
    assert (invisible.status_code, invisible.json()) == (missing.status_code, missing.json())


@pytest.mark.django_db
def test_an_engineer_still_filters_on_any_row(
    engineer: User, rival_charge_point: ChargePoint
) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Token {create_api_token(engineer)[1]}")
    found = api.get(f"/api/charge-points/?charger_model={rival_charge_point.charger_model_id}")
    assert found.status_code == 200
    assert [row["id"] for row in found.json()["results"]] == [rival_charge_point.pk]


@pytest.mark.django_db
def test_the_model_list_page_offers_only_the_users_own_manufacturer(
    manufacturer_client: Client, rival_charge_point: ChargePoint
) -> None:
    page = manufacturer_client.get("/catalog/models/").content.decode()
    assert "Xcharge" in page and "Rival Charging" not in page
