"""Steps 9 to 12: hard and soft resets."""

from __future__ import annotations

from typing import Any

from certification.judge.resets import (
    hard_reset_charging,
    hard_reset_idle,
    soft_reset_charging,
    soft_reset_idle,
)
from certification.judge.types import Finding
from tests.judge.expected import wrong_stop_reason
from tests.judge.frames import Wire


def charging(wire: Wire) -> None:
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction()
    wire.status(1, "Charging")
    wire.wait(30)


def reset(wire: Wire, kind: str = "Hard", answer: str = "Accepted") -> None:
    wire.command("Reset", {"type": kind}, {"status": answer})


def reboot(wire: Wire, connector_status: str = "Available", seconds: float = 40) -> None:
    wire.wait(seconds)
    wire.boot()
    wire.status(0, "Available")
    wire.status(1, connector_status)


def hard_reset_while_charging(stop_reason: str) -> Wire:
    """Step 10 as the plan orders it: a session, Reset(Hard), the stop with `stop_reason`,
    Unavailable, the reboot with connector 1 Finishing."""
    wire = Wire()
    charging(wire)
    reset(wire)
    wire.stop_transaction(reason=stop_reason)
    wire.status(1, "Unavailable")
    reboot(wire, "Finishing")
    return wire


def no_unavailable(reset_id: int) -> Finding:
    """The minor finding that no Unavailable was reported during the Reset `reset_id`."""
    return Finding(
        severity="minor",
        message="No StatusNotification Unavailable during the reset; it is recommended "
        "that the charger reports Unavailable while it resets",
        frame_ids=(reset_id,),
    )


def no_boot_after_hard_reset() -> Finding:
    """The fail that no BootNotification followed a Reset(Hard)."""
    return Finding(
        severity="fail",
        message="No BootNotification after Reset(Hard); the charger was expected to reboot",
        frame_ids=(),
    )


def reboot_measurements(
    connector_status: str = "Available", unavailable: bool = True, **stop: Any
) -> dict[str, Any]:
    """The measurements of one `reboot` 40 s after the Reset, with the `stop` of a session."""
    return {
        "reboots": 1,
        **stop,
        "reset_to_boot_s": 40.0,
        "unavailable_during_reset": unavailable,
        "statuses_after_reboot": {"0": "Available", "1": connector_status},
    }


def test_hard_reset_during_charging_passes_as_expected() -> None:
    wire = hard_reset_while_charging("HardReset")

    judgement = hard_reset_charging(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == ()
    assert judgement.measurements["reboots"] == 1
    assert judgement.measurements["reset_to_boot_s"] == 40.0
    assert judgement.measurements["stop_before_reboot"] is True
    assert judgement.measurements["statuses_after_reboot"] == {"0": "Available", "1": "Finishing"}
    assert judgement.measurements == reboot_measurements(
        "Finishing", stop_reason="HardReset", stop_before_reboot=True
    )


def test_hard_reset_during_charging_reports_the_seed_remarks_as_minor() -> None:
    wire = Wire()
    charging(wire)
    reset(wire)
    wire.stop_transaction(reason="HardReset")
    reboot(wire, "Preparing")

    judgement = hard_reset_charging(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.minor
    messages = [f.message for f in judgement.findings]
    assert any(
        "Preparing received for connector 1 after the reboot where Finishing" in m for m in messages
    )
    assert any("No StatusNotification Unavailable during the reset" in m for m in messages)
    assert any("recommended" in m for m in messages)
    assert judgement.findings == (
        no_unavailable(9),
        Finding(
            severity="minor",
            message="StatusNotification Preparing received for connector 1 after the reboot "
            "where Finishing was expected: the cable is still connected and the "
            "transaction has just stopped",
            frame_ids=(17,),
        ),
    )
    assert judgement.measurements == reboot_measurements(
        "Preparing", unavailable=False, stop_reason="HardReset", stop_before_reboot=True
    )


def test_hard_reset_accepts_the_stop_after_the_reboot() -> None:
    wire = Wire()
    charging(wire)
    reset(wire)
    wire.status(1, "Unavailable")
    reboot(wire, "Finishing")
    wire.stop_transaction(reason="HardReset")

    judgement = hard_reset_charging(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.measurements["stop_before_reboot"] is False
    assert judgement.findings == ()
    assert judgement.measurements == reboot_measurements(
        "Finishing", stop_reason="HardReset", stop_before_reboot=False
    )


def test_hard_reset_with_a_wrong_stop_reason_fails() -> None:
    wire = hard_reset_while_charging("Reboot")

    judgement = hard_reset_charging(wire.context())

    assert judgement.verdict == "N"
    assert "reason Reboot where HardReset was expected" in judgement.findings[0].message
    assert judgement.findings == (wrong_stop_reason("Reboot", "HardReset", 11),)
    assert judgement.measurements == reboot_measurements(
        "Finishing", stop_reason="Reboot", stop_before_reboot=True
    )


def test_hard_reset_during_charging_needs_a_session_first() -> None:
    wire = Wire()
    reset(wire)
    reboot(wire)

    judgement = hard_reset_charging(wire.context())

    assert judgement.verdict == "N"
    assert "No charging session before the Reset" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="No charging session before the Reset: StartTransaction or "
            "StatusNotification Charging was expected first",
            frame_ids=(1,),
        ),
        no_unavailable(1),
    )
    assert judgement.measurements == reboot_measurements(unavailable=False)


def test_hard_reset_rejected_fails() -> None:
    wire = Wire()
    reset(wire, answer="Rejected")

    judgement = hard_reset_idle(wire.context())

    assert judgement.verdict == "N"
    assert (
        "Reset(Hard) answered Rejected where Accepted was expected" in judgement.findings[0].message
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Reset(Hard) answered Rejected where Accepted was expected",
            frame_ids=(1, 2),
        ),
        no_boot_after_hard_reset(),
        no_unavailable(1),
    )
    assert judgement.measurements == {"reboots": 0, "unavailable_during_reset": False}


def test_idle_hard_reset_counts_two_reboots_as_minor() -> None:
    wire = Wire()
    reset(wire)
    wire.status(1, "Unavailable")
    reboot(wire, seconds=20)
    reboot(wire, seconds=25)

    judgement = hard_reset_idle(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.minor
    assert judgement.measurements["reboots"] == 2
    assert "rebooted 2 times within 45 s after the Reset" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="minor",
            message="The charger rebooted 2 times within 45 s after the Reset",
            frame_ids=(5, 11),
        ),
    )
    assert judgement.measurements == {
        "reboots": 2,
        "reset_to_boot_s": 20.0,
        "unavailable_during_reset": True,
        "statuses_after_reboot": {"0": "Available", "1": "Available"},
    }


def test_idle_hard_reset_fails_without_a_boot_notification() -> None:
    wire = Wire()
    reset(wire)
    wire.status(1, "Unavailable")

    judgement = hard_reset_idle(wire.context())

    assert judgement.verdict == "N"
    assert judgement.measurements["reboots"] == 0
    assert "No BootNotification after Reset(Hard)" in judgement.findings[0].message
    assert judgement.findings == (no_boot_after_hard_reset(),)
    assert judgement.measurements == {"reboots": 0, "unavailable_during_reset": True}


def test_idle_hard_reset_keeps_an_inoperative_connector_unavailable() -> None:
    wire = Wire()
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, {"status": "Accepted"}
    )
    wire.status(1, "Unavailable")
    reset(wire)
    wire.status(1, "Unavailable")
    reboot(wire, "Available")

    judgement = hard_reset_idle(wire.context())

    assert judgement.verdict == "N"
    assert "although it was set Inoperative" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Connector 1 reported Available after the reboot although it was set "
            "Inoperative; Unavailable was expected",
            frame_ids=(13,),
        ),
    )
    assert judgement.measurements == reboot_measurements()


def test_idle_hard_reset_passes_with_inoperative_connector_still_unavailable() -> None:
    wire = Wire()
    reset(wire)
    wire.status(1, "Unavailable")
    reboot(wire, "Unavailable")

    judgement = hard_reset_idle(wire.context(inoperative_connectors=[1]))

    assert judgement.verdict == "Y"
    assert judgement.findings == ()
    assert judgement.measurements == reboot_measurements("Unavailable")


def test_idle_hard_reset_fails_when_a_connector_comes_back_faulted() -> None:
    wire = Wire()
    reset(wire)
    wire.status(1, "Unavailable")
    reboot(wire, "Faulted")

    judgement = hard_reset_idle(wire.context())

    assert judgement.verdict == "N"
    assert (
        "Connector 1 reported Faulted after the reboot where Available"
        in judgement.findings[0].message
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Connector 1 reported Faulted after the reboot where Available was expected",
            frame_ids=(9,),
        ),
    )
    assert judgement.measurements == reboot_measurements("Faulted")


def test_soft_reset_during_charging_accepts_no_boot_notification() -> None:
    wire = Wire()
    charging(wire)
    reset(wire, "Soft")
    wire.status(1, "Unavailable")
    wire.stop_transaction(reason="SoftReset")
    wire.status(1, "Finishing")

    judgement = soft_reset_charging(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.measurements["reboots"] == 0
    assert judgement.measurements["stop_reason"] == "SoftReset"
    assert judgement.findings == ()
    assert judgement.measurements == {
        "reboots": 0,
        "stop_reason": "SoftReset",
        "stop_before_reboot": True,
        "unavailable_during_reset": True,
    }


def test_soft_reset_during_charging_fails_on_hard_reset_reason() -> None:
    wire = Wire()
    charging(wire)
    reset(wire, "Soft")
    wire.status(1, "Unavailable")
    wire.stop_transaction(reason="HardReset")

    judgement = soft_reset_charging(wire.context())

    assert judgement.verdict == "N"
    assert "where SoftReset was expected" in judgement.findings[0].message
    assert judgement.findings == (wrong_stop_reason("HardReset", "SoftReset", 13),)
    assert judgement.measurements == {
        "reboots": 0,
        "stop_reason": "HardReset",
        "stop_before_reboot": True,
        "unavailable_during_reset": True,
    }


def test_soft_reset_idle_without_unavailable_is_minor() -> None:
    wire = Wire()
    reset(wire, "Soft")
    reboot(wire)

    judgement = soft_reset_idle(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.minor
    assert judgement.measurements["unavailable_during_reset"] is False
    assert judgement.findings == (no_unavailable(1),)
    assert judgement.measurements == reboot_measurements(unavailable=False)


def test_soft_reset_idle_fails_when_hard_reset_was_sent() -> None:
    wire = Wire()
    reset(wire, "Hard")
    wire.status(1, "Unavailable")
    reboot(wire)

    judgement = soft_reset_idle(wire.context())

    assert judgement.verdict == "N"
    assert "Reset(Hard) sent where Reset(Soft) was expected" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Reset(Hard) sent where Reset(Soft) was expected",
            frame_ids=(1,),
        ),
    )
    assert judgement.measurements == reboot_measurements()
