"""Step 1: requests a charger sends before its boot is accepted (OCPP 1.6 §4.2) fail the step,
citing them; a reconnect without a reboot needs no BootNotification."""

from __future__ import annotations

from dataclasses import replace

from certification.judge.boot import boot, requests_before_acceptance
from certification.judge.types import Finding, RunSettings
from tests.judge.frames import Wire

ONE_CONNECTOR = RunSettings(connectors=1)


def accepted_boot(wire: Wire) -> None:
    wire.wait(300)
    wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Available")


def test_requests_while_pending_fail_step_1_citing_them() -> None:
    # The example: the portal answered them all, the step was proposed Y.
    wire = Wire()
    wire.boot(status="Pending", interval=300)
    early = [
        wire.status(1, "Available"),
        wire.heartbeat(),
        wire.start_transaction(),
    ]
    accepted_boot(wire)

    judgement = boot(wire.context(ONE_CONNECTOR))

    assert judgement.verdict == "N"
    [finding] = [f for f in judgement.findings if "before the BootNotification" in f.message]
    assert finding.severity == "fail"
    assert set(finding.frame_ids) == {frame.id for frame in early}
    assert "StartTransaction" in finding.message and "§4.2" in finding.message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="3 request(s) (Heartbeat, StartTransaction, StatusNotification) sent "
            "before the BootNotification was accepted: a charger sends no other "
            "request before its boot is accepted, while Pending only what a "
            "TriggerMessage asks for (OCPP 1.6 §4.2)",
            frame_ids=(3, 5, 7),
        ),
        Finding(
            severity="info",
            message="BootNotification carries no ICCID; it is recommended when the charger "
            "connects over a SIM card, as it helps troubleshooting",
            frame_ids=(9,),
        ),
        Finding(
            severity="info",
            message="No Heartbeat yet: the step lasted 0 s after the accepted "
            "BootNotification, and the charger was never silent for longer than the "
            "300 s interval",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {
        "requests_before_acceptance": 3,
        "boot_attempts": 2,
        "charge_point": {
            "vendor": "Xcharge",
            "model": "C8EU",
            "serial_number": "XC-0001",
            "firmware_version": "V1.0.0",
        },
        "triggered": False,
        "heartbeat_count": 0,
        "heartbeat_intervals_s": [],
        "configured_interval_s": 300,
    }


def test_a_message_triggered_while_pending_is_allowed() -> None:
    wire = Wire()
    wire.boot(status="Pending", interval=300)
    wire.command(
        "TriggerMessage", {"requestedMessage": "StatusNotification"}, {"status": "Accepted"}
    )
    wire.status(0, "Available")
    accepted_boot(wire)

    judgement = boot(wire.context(ONE_CONNECTOR))

    assert judgement.verdict == "Y", judgement.findings
    assert judgement.findings == (
        Finding(
            severity="info",
            message="BootNotification carries no ICCID; it is recommended when the charger "
            "connects over a SIM card, as it helps troubleshooting",
            frame_ids=(7,),
        ),
        Finding(
            severity="info",
            message="No Heartbeat yet: the step lasted 0 s after the accepted "
            "BootNotification, and the charger was never silent for longer than the "
            "300 s interval",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {
        "boot_attempts": 2,
        "charge_point": {
            "vendor": "Xcharge",
            "model": "C8EU",
            "serial_number": "XC-0001",
            "firmware_version": "V1.0.0",
        },
        "triggered": False,
        "heartbeat_count": 0,
        "heartbeat_intervals_s": [],
        "configured_interval_s": 300,
    }


def test_requests_while_rejected_fail_step_1() -> None:
    wire = Wire()
    wire.boot(status="Rejected", interval=60)
    wire.wait(70)
    heartbeat = wire.heartbeat()
    accepted_boot(wire)

    assert requests_before_acceptance(wire.frames) == [heartbeat]
    assert boot(wire.context(ONE_CONNECTOR)).verdict == "N"


def test_a_request_before_a_boot_on_the_same_connection_fails_step_1() -> None:
    wire = Wire()
    heartbeat = wire.heartbeat()
    accepted_boot(wire)

    assert requests_before_acceptance(wire.frames) == [heartbeat]
    assert boot(wire.context(ONE_CONNECTOR)).verdict == "N"


def test_a_reconnect_without_a_reboot_needs_no_boot() -> None:
    # Connection 1 never boots (a reconnect without reboot); connection 2 boots.
    wire = Wire()
    wire.heartbeat()
    wire.status(1, "Available")
    first_connection = len(wire.frames)
    accepted_boot(wire)
    wire.frames[:] = [
        replace(frame, connection_id=1 if index < first_connection else 2)
        for index, frame in enumerate(wire.frames)
    ]

    assert requests_before_acceptance(wire.frames) == []
    assert boot(wire.context(ONE_CONNECTOR)).verdict == "Y"
