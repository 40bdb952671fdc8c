"""Step 1: requests a charger sends before its boot is accepted (OCPP 1.6 §4.2) fail the step,
citing them; a reconnect without a reboot needs no BootNotification."""

from __future__ import annotations

from dataclasses import replace

from certification.judge.boot import boot, requests_before_acceptance
from certification.judge.types import Finding, Frame, RunSettings
from tests.judge.expected import boot_measurements, no_heartbeat_yet, no_iccid
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
        no_iccid(9),
        no_heartbeat_yet(),
    )
    assert judgement.measurements == boot_measurements(
        requests_before_acceptance=3, boot_attempts=2
    )


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
        no_iccid(7),
        no_heartbeat_yet(),
    )
    assert judgement.measurements == boot_measurements(boot_attempts=2)


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


def on_connections(wire: Wire, split: int) -> list[Frame]:
    """The wire's frames, the first `split` on connection 1 and the rest on connection 2."""
    return [
        replace(frame, connection_id=1 if index < split else 2)
        for index, frame in enumerate(wire.frames)
    ]


def test_requests_before_the_boot_of_each_connection_add_up() -> None:
    wire = Wire()
    first = wire.heartbeat()
    wire.boot()
    split = len(wire.frames)
    second = wire.heartbeat()
    wire.boot()

    early = requests_before_acceptance(on_connections(wire, split))

    assert [frame.id for frame in early] == [first.id, second.id]


def test_a_request_after_an_unanswered_boot_counts_when_a_boot_follows() -> None:
    """An unanswered BootNotification leaves the charger unbooted (status unknown)."""
    wire = Wire()
    wire.call_in("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    early = wire.heartbeat()
    wire.boot()

    assert requests_before_acceptance(wire.frames) == [early]


def test_an_unanswered_boot_after_acceptance_does_not_unboot_the_charger() -> None:
    wire = Wire()
    wire.boot()
    wire.call_in("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    wire.heartbeat()
    wire.boot()

    assert requests_before_acceptance(wire.frames) == []


def test_a_request_after_rejected_fails_even_without_a_later_boot() -> None:
    wire = Wire()
    wire.boot(status="Rejected", interval=60)
    early = wire.heartbeat()

    assert requests_before_acceptance(wire.frames) == [early]


def test_a_resend_after_pending_that_follows_an_accepted_boot_is_judged_too() -> None:
    wire = Wire()
    wire.boot()
    wire.wait(30)
    pending = wire.boot(status="Pending", interval=60)
    wire.wait(10)
    resent = wire.boot()

    judgement = boot(wire.context(ONE_CONNECTOR))

    assert judgement.findings[0] == Finding(
        "fail",
        "BootNotification resent after 10 s where the Pending reply asked the charger to wait 60 s",
        ((pending.id or 0) + 1, resent.id or 0),
    )
