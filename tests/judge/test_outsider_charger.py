"""Judgements of sequences an independent OCPP 1.6-J charger sends (written from the
specification, not from the portal's simulator): legal orders and optional messages a
correct charger uses must pass, and what it accepted and did not do must not."""

from __future__ import annotations

from certification.judge.firmware import firmware_install
from tests.judge.frames import Wire

UPDATE = {"location": "https://portal.example/fw.bin", "retrieveDate": "2023-09-22T10:00:00Z"}


def install_with_unavailable_before_installing(wire: Wire, back_before_installing: bool) -> None:
    """Downloaded -> SN Unavailable per connector -> (Available again) -> Installing -> boot."""
    wire.boot(firmware="V1.0.0")
    wire.command("UpdateFirmware", UPDATE, {})
    wire.firmware_status("Downloading")
    wire.wait(5)
    wire.firmware_status("Downloaded")
    wire.status(1, "Unavailable")
    wire.status(2, "Unavailable")
    if back_before_installing:
        wire.status(1, "Available")
        wire.status(2, "Available")
    wire.firmware_status("Installing")
    wire.wait(5)
    wire.boot(firmware="V1.1.0")
    wire.status(0, "Available")
    wire.status(1, "Available")
    wire.status(2, "Available")
    wire.firmware_status("Installed")


def test_connectors_made_unavailable_just_before_installing_count_as_unavailable() -> None:
    # OCPP 1.6 §5.19 / TC_044_1: the connectors are Unavailable while the firmware installs,
    # whether their StatusNotification came just before or after FSN Installing.
    wire = Wire()
    install_with_unavailable_before_installing(wire, back_before_installing=False)

    judgement = firmware_install(wire.context())

    assert judgement.verdict == "Y"
    assert not judgement.minor, [f.message for f in judgement.findings]


def test_unavailable_that_ended_before_installing_is_still_minor() -> None:
    wire = Wire()
    install_with_unavailable_before_installing(wire, back_before_installing=True)

    judgement = firmware_install(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.minor
    assert "Unavailable while the firmware was installing" in judgement.findings[-1].message
