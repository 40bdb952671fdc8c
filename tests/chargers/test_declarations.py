"""Capability declarations: manufacturer users fill in their own models' declarations,
engineers lock them for runs, versions never change once locked."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from chargers import services
from chargers.forms import parse_configuration_keys
from chargers.models import CapabilityDeclaration, FirmwareVersion, User

pytestmark = pytest.mark.django_db

ANSWERS = {
    "feature_profiles": ["Core", "Reservation", "RemoteTrigger"],
    "connectors": "2",
    "outlet": "cable",
    "current_type": "DC",
    "phases": "3",
    "rfid_reader": "true",
    "sim": "false",
    "energy_meter": "true",
    "measurands": ["Energy.Active.Import.Register", "Power.Active.Import"],
    "firmware_protocols": ["HTTPS"],
    "diagnostics_protocols": ["FTP", "HTTPS"],
    "firmware_format": "APK",
    "configuration_keys": "MeterValueSampleInterval: 0-3600\n"
    "ReserveConnectorZeroSupported (read-only): true",
    "offline_LocalAuthorizeOffline": "true",
    "offline_AllowOfflineTxForUnknownId": "unsupported",
    "notes": "Battery self-check at boot.",
}


def draft_of(firmware: FirmwareVersion, client: Client) -> CapabilityDeclaration:
    response = client.post(reverse("chargers:declaration-create", args=[firmware.pk]))
    assert response.status_code == 302, response.content[:300]
    return CapabilityDeclaration.objects.get(firmware_version=firmware, status="draft")


def test_manufacturer_fills_in_their_models_declaration(
    manufacturer_client: Client, c8eu_firmware: FirmwareVersion
) -> None:
    declaration = draft_of(c8eu_firmware, manufacturer_client)
    # A first version starts from the catalog's entry of the model.
    assert (declaration.version, declaration.outlet, declaration.connectors) == (1, "cable", 2)

    url = reverse("chargers:declaration-edit", args=[declaration.pk])
    assert manufacturer_client.get(url).status_code == 200
    response = manufacturer_client.post(url, ANSWERS)
    assert response.status_code == 302, response.content.decode()[:2000]

    declaration.refresh_from_db()
    facts = declaration.facts()
    assert facts["profiles"] == ["Core", "Reservation", "RemoteTrigger"]
    assert (facts["outlet"], facts["current_type"], facts["phases"]) == ("cable", "DC", 3)
    assert (facts["rfid_reader"], facts["sim"], facts["energy_meter"]) == (True, False, True)
    assert facts["firmware_protocols"] == ["HTTPS"] and facts["firmware_format"] == "APK"
    assert facts["reserve_connector_zero"] is True
    assert facts["LocalAuthorizeOffline"] is True
    assert facts["AllowOfflineTxForUnknownId"] == "unsupported"
    assert facts["LocalPreAuthorize"] is None  # not answered
    assert declaration.configuration_keys[1] == {
        "key": "ReserveConnectorZeroSupported",
        "readonly": True,
        "values": "true",
    }
    page = manufacturer_client.get(declaration.get_absolute_url()).content.decode()
    assert "ReserveConnectorZeroSupported" in page and "HTTPS" in page


def test_another_manufacturers_declaration_stays_invisible(
    manufacturer_client: Client, rival_user: User, c8eu_firmware: FirmwareVersion
) -> None:
    declaration = draft_of(c8eu_firmware, manufacturer_client)
    rival = Client()
    rival.force_login(rival_user)
    for name in ("declaration-detail", "declaration-edit"):
        assert rival.get(reverse(f"chargers:{name}", args=[declaration.pk])).status_code == 404
    assert (
        rival.post(reverse("chargers:declaration-edit", args=[declaration.pk]), ANSWERS).status_code
        == 404
    )
    create = reverse("chargers:declaration-create", args=[c8eu_firmware.pk])
    assert rival.post(create).status_code == 404
    model_page = rival.get(c8eu_firmware.charger_model.get_absolute_url())
    assert model_page.status_code == 404
    declaration.refresh_from_db()
    assert declaration.notes == ""


def test_only_engineers_lock_and_a_locked_version_never_changes(
    manufacturer_client: Client,
    engineer_client: Client,
    engineer: User,
    c8eu_firmware: FirmwareVersion,
) -> None:
    declaration = draft_of(c8eu_firmware, manufacturer_client)
    lock = reverse("chargers:declaration-lock", args=[declaration.pk])
    assert manufacturer_client.post(lock).status_code == 403
    assert engineer_client.get(lock).status_code == 405
    engineer_client.post(lock)
    declaration.refresh_from_db()
    assert declaration.is_locked() and declaration.locked_by == engineer

    edit = reverse("chargers:declaration-edit", args=[declaration.pk])
    manufacturer_client.post(edit, ANSWERS)
    declaration.refresh_from_db()
    assert declaration.rfid_reader is None  # unchanged: the locked version is frozen
    with pytest.raises(services.DeclarationError, match="locked"):
        services.save_declaration(declaration, {"rfid_reader": True}, engineer)

    # A change is a new version, starting from the locked one's answers.
    second = draft_of(c8eu_firmware, manufacturer_client)
    assert (second.version, second.outlet) == (2, "cable")
    assert services.locked_declaration(c8eu_firmware) == declaration


def test_a_declaration_without_core_cannot_be_saved_or_locked(
    manufacturer_client: Client, engineer: User, c8eu_firmware: FirmwareVersion
) -> None:
    declaration = draft_of(c8eu_firmware, manufacturer_client)
    url = reverse("chargers:declaration-edit", args=[declaration.pk])
    refused = manufacturer_client.post(url, ANSWERS | {"feature_profiles": ["Reservation"]})
    assert refused.status_code == 400 and "supports Core" in refused.content.decode()
    services.save_declaration(declaration, {"feature_profiles": []}, engineer)
    with pytest.raises(services.DeclarationError, match="Core"):
        services.lock_declaration(declaration, engineer)


def test_configuration_keys_read_one_a_line_and_refuse_what_is_not_a_key() -> None:
    assert parse_configuration_keys("A: 1\n\nB (read-only)\n") == [
        {"key": "A", "readonly": False, "values": "1"},
        {"key": "B", "readonly": True, "values": ""},
    ]
    with pytest.raises(Exception, match="Line 2"):
        parse_configuration_keys("A: 1\n= nothing")
    with pytest.raises(Exception, match="listed twice"):
        parse_configuration_keys("A\nA")


def test_visitors_and_wrong_methods_are_refused(
    client: Client, engineer_client: Client, c8eu_firmware: FirmwareVersion
) -> None:
    create = reverse("chargers:declaration-create", args=[c8eu_firmware.pk])
    assert client.post(create).status_code == 302  # to the login page
    assert not CapabilityDeclaration.objects.exists()
    assert engineer_client.get(create).status_code == 405
