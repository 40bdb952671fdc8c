"""The strings a charger really sends in BootNotification (aliases of its model and firmware)
can be recorded from the API, as the identity finding of the boot step asks (OCPP 1.6 §4.2:
chargePointVendor, chargePointModel and firmwareVersion are free strings of the firmware)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from chargers.api_tokens import create_api_token
from chargers.models import ChargerModel, FirmwareVersion, Manufacturer, User


def api_client(user: User) -> APIClient:
    client = APIClient()
    _, token = create_api_token(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.django_db
def test_model_and_firmware_aliases_are_written_and_read_through_the_api(
    engineer: User, xcharge: Manufacturer
) -> None:
    client = api_client(engineer)
    created = client.post(
        "/api/charger-models/",
        {
            "manufacturer": xcharge.pk,
            "name": "OX-2",
            "current_type": "AC",
            "vendor_aliases": "XCHARGE\nXcharge Ltd.",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    model_id = created.json()["id"]
    patched = client.patch(
        f"/api/charger-models/{model_id}/", {"model_aliases": "OX2-22kW"}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["vendor_aliases"] == "XCHARGE\nXcharge Ltd."
    assert patched.json()["model_aliases"] == "OX2-22kW"
    model = ChargerModel.objects.get(pk=model_id)
    assert model.reported_vendors() == (xcharge.name, "XCHARGE", "Xcharge Ltd.")
    assert model.reported_models() == ("OX-2", "OX2-22kW")

    firmware = client.post(
        "/api/firmware-versions/",
        {"charger_model": model_id, "version": "1.4.2", "reported_as": "OX-1.4.2"},
        format="json",
    )
    assert firmware.status_code == 201, firmware.json()
    assert firmware.json()["reported_as"] == "OX-1.4.2"
    assert FirmwareVersion.objects.get(pk=firmware.json()["id"]).reported_as == "OX-1.4.2"
