"""Steps 9 to 12 with their whole judgements pinned: two connectors, transactionIds that do
not match, sessions known only by their status, connectors set Inoperative through
connector 0 (issue 15, item 14: tests that kill the mutants of certification/judge/resets.py).
"""

from __future__ import annotations

from certification.judge.resets import (
    hard_reset_charging,
    hard_reset_idle,
    soft_reset_charging,
)
from certification.judge.types import Finding, RunSettings
from tests.judge.frames import Wire, cited, stamp

TWO_CONNECTORS = RunSettings(connectors=2)
NO_UNAVAILABLE = (
    "No StatusNotification Unavailable during the reset; it is recommended that the charger "
    "reports Unavailable while it resets"
)


def two_sessions(wire: Wire) -> None:
    """Transaction 6 on connector 1 and 7 on connector 2, both charging."""
    for connector, transaction_id in ((1, 6), (2, 7)):
        wire.status(connector, "Preparing")
        wire.authorize()
        wire.start_transaction(connector=connector, transaction_id=transaction_id)
        wire.status(connector, "Charging")
    wire.wait(30)


def reboot(wire: Wire, statuses: dict[int, str]) -> dict[int, int]:
    """BootNotification 40 s on, then a StatusNotification per connector; returns the
    StatusNotification ids by connector."""
    wire.wait(40)
    wire.boot()
    return {
        connector: wire.status(connector, status).id or 0 for connector, status in statuses.items()
    }


def test_a_hard_reset_of_two_sessions_stopping_both_passes_with_every_measurement() -> None:
    wire = Wire()
    two_sessions(wire)
    wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    wire.stop_transaction(6, "HardReset")
    wire.stop_transaction(7, "HardReset")
    wire.status(1, "Unavailable")
    wire.status(2, "Unavailable")
    reboot(wire, {0: "Available", 1: "Finishing", 2: "Finishing"})

    judgement = hard_reset_charging(wire.context(TWO_CONNECTORS))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == {
        "reboots": 1,
        "stop_reason": "HardReset",
        "stop_before_reboot": True,
        "reset_to_boot_s": 40.0,
        "unavailable_during_reset": True,
        "statuses_after_reboot": {"0": "Available", "1": "Finishing", "2": "Finishing"},
    }


def test_a_stop_of_another_transaction_leaves_the_second_session_unstopped() -> None:
    wire = Wire()
    two_sessions(wire)
    wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    wire.stop_transaction(6, "HardReset")
    wire.stop_transaction(9, "HardReset")
    wire.status(1, "Unavailable")
    reboot(wire, {0: "Available", 1: "Finishing", 2: "Finishing"})

    judgement = hard_reset_charging(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail",
            "StopTransaction for transaction 9 where transaction 7 was running",
            (wire.ids("StopTransaction")[1],),
        ),
    )


def test_a_session_that_goes_on_after_an_unanswered_soft_reset_fails_on_every_count() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction(transaction_id=6)
    wire.status(1, "Charging")
    wire.wait(10)
    reset = wire.call_out("Reset", {"type": "Soft"})
    wire.status(1, "Unavailable")
    after_reboot = reboot(wire, {0: "Available", 1: "Charging"})
    wire.wait(30)
    wire.meter_values(transaction_id=6)
    wire.meter_values(transaction_id=6)
    boot = wire.ids("BootNotification")[0]

    judgement = soft_reset_charging(wire.context())

    assert judgement.findings == (
        Finding(
            "fail", "Reset(Soft) got no reply from the charger; Accepted was expected", cited(reset)
        ),
        Finding(
            "fail",
            "No StopTransaction for transaction 6 after Reset(Soft); one with reason SoftReset "
            "was expected",
            cited(reset),
        ),
        Finding(
            "fail",
            "Transaction 6 survived the reboot: 2 MeterValues for it were sampled after the "
            "BootNotification, where the reset was to end it",
            (boot, *wire.ids("MeterValues")),
        ),
        Finding(
            "fail",
            "Connector 1 reported Charging after the reboot where Finishing was expected",
            (after_reboot[1],),
        ),
    )
    assert judgement.measurements == {
        "reboots": 1,
        "reset_to_boot_s": 40.0,
        "unavailable_during_reset": True,
        "statuses_after_reboot": {"0": "Available", "1": "Charging"},
    }


def test_a_session_seen_only_as_charging_is_stopped_by_the_transaction_its_meter_values_name() -> (
    None
):
    wire = Wire()
    wire.status(1, "Charging")
    wire.meter_values(transaction_id=77)
    reset = wire.command("Reset", {"type": "Soft"}, {"status": "Accepted"})
    wire.stop_transaction(77, "SoftReset")
    wire.status(1, "Finishing")

    judgement = soft_reset_charging(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.findings == (Finding("minor", NO_UNAVAILABLE, cited(reset)),)
    assert judgement.measurements == {
        "reboots": 0,
        "stop_reason": "SoftReset",
        "stop_before_reboot": True,
        "unavailable_during_reset": False,
    }


def test_a_suspended_session_without_a_transaction_id_needs_a_stop_too() -> None:
    wire = Wire()
    wire.status(1, "SuspendedEV")
    reset = wire.command("Reset", {"type": "Soft"}, {"status": "Accepted"})
    wire.status(1, "Unavailable")

    judgement = soft_reset_charging(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "No StopTransaction for the session after Reset(Soft); one with reason SoftReset "
            "was expected",
            cited(reset),
        ),
    )


def test_a_connector_whose_cable_was_out_before_the_reboot_must_come_back_available() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction(transaction_id=6)
    wire.status(1, "Charging")
    reset = wire.command("Reset", {"type": "Soft"}, {"status": "Accepted"})
    wire.stop_transaction(6, "SoftReset")
    wire.status(1, "Available")
    after_reboot = reboot(wire, {0: "Available", 1: "Finishing"})

    judgement = soft_reset_charging(wire.context())

    assert judgement.findings == (
        Finding("minor", NO_UNAVAILABLE, cited(reset)),
        Finding(
            "fail",
            "Connector 1 reported Finishing after the reboot where Available was expected: it "
            "reported Available (cable out) before it",
            (after_reboot[1],),
        ),
    )


def test_connector_0_set_inoperative_takes_every_connector_until_one_is_set_operative() -> None:
    """An accepted ChangeAvailability on connector 0 applies to every connector; a later
    accepted Operative on connector 1 gives it back, a rejected one on connector 2 does not
    (OCPP 1.6 §5.2; the state persists across the reset, §5.14)."""
    wire = Wire()
    wire.command(
        "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}, {"status": "Accepted"}
    )
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.command(
        "ChangeAvailability", {"connectorId": 2, "type": "Operative"}, {"status": "Rejected"}
    )
    wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    wire.status(1, "Unavailable")
    after_reboot = reboot(wire, {0: "Unavailable", 1: "Available", 2: "Available"})

    judgement = hard_reset_idle(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail",
            "Connector 2 reported Available after the reboot although it was set Inoperative; "
            "Unavailable was expected",
            (after_reboot[2],),
        ),
    )
    assert judgement.measurements["statuses_after_reboot"] == {
        "0": "Unavailable",
        "1": "Available",
        "2": "Available",
    }


def test_a_connector_silent_after_the_reboot_fails_and_the_param_marks_inoperative() -> None:
    wire = Wire()
    wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    wire.status(1, "Unavailable")
    after_reboot = reboot(wire, {0: "Available", 1: "Available"})

    judgement = hard_reset_idle(wire.context(TWO_CONNECTORS, inoperative_connectors=[1]))

    assert judgement.findings == (
        Finding(
            "fail",
            "Connector 1 reported Available after the reboot although it was set Inoperative; "
            "Unavailable was expected",
            (after_reboot[1],),
        ),
        Finding(
            "fail",
            "No StatusNotification for connector 2 after the reboot",
            tuple(wire.ids("BootNotification")),
        ),
    )
    assert judgement.measurements["statuses_after_reboot"] == {
        "0": "Available",
        "1": "Available",
        "2": None,
    }


def test_no_reset_in_the_step_fails_with_no_reboot_counted() -> None:
    wire = Wire()
    wire.status(1, "Unavailable")

    judgement = hard_reset_idle(wire.context())

    assert judgement.findings == (Finding("fail", "No Reset(Hard) sent to the charger", ()),)
    assert judgement.measurements == {"reboots": 0}


def test_inoperative_connectors_add_up_from_the_param_and_accepted_commands_only() -> None:
    """Connector 2 is Inoperative from an earlier step (param); connector 1 is set
    Inoperative after a first, rejected, attempt: both must come back Unavailable."""
    wire = Wire()
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, {"status": "Rejected"}
    )
    wire.command(
        "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, {"status": "Accepted"}
    )
    wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    wire.status(1, "Unavailable")
    after_reboot = reboot(wire, {0: "Available", 1: "Available", 2: "Available"})

    judgement = hard_reset_idle(wire.context(TWO_CONNECTORS, inoperative_connectors=[2]))

    assert judgement.findings == tuple(
        Finding(
            "fail",
            f"Connector {connector} reported Available after the reboot although it was set "
            "Inoperative; Unavailable was expected",
            (after_reboot[connector],),
        )
        for connector in (1, 2)
    )


def test_three_reboots_are_timed_to_the_last_and_unavailable_after_a_boot_is_a_self_check() -> None:
    """Unavailable reported after the charger booted is its self-check, not the status
    while it resets."""
    wire = Wire()
    reset = wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    boots = []
    for wait in (20, 20, 25):
        wire.wait(wait)
        boots.append(wire.boot())
    for connector in (0, 1):
        wire.status(connector, "Unavailable")
        wire.status(connector, "Available")

    judgement = hard_reset_idle(wire.context())

    assert judgement.findings == (
        Finding("minor", "The charger rebooted 3 times within 65 s after the Reset", cited(*boots)),
        Finding("minor", NO_UNAVAILABLE, cited(reset)),
    )
    assert judgement.measurements == {
        "reboots": 3,
        "reset_to_boot_s": 20.0,
        "unavailable_during_reset": False,
        "statuses_after_reboot": {"0": "Available", "1": "Available"},
    }


def test_a_session_seen_only_as_charging_takes_the_transaction_its_meter_values_last_named() -> (
    None
):
    """Connector 1's MeterValues named transaction 77 (a later one without a transactionId
    and connector 2's do not change that): stops of 78 and 79 do not close it."""
    wire = Wire()
    wire.status(1, "Charging")
    wire.meter_values(transaction_id=77)
    wire.request(
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [{"timestamp": "2023-09-22T10:00:00Z", "sampledValue": [{"value": "1"}]}],
        },
        {},
    )
    wire.meter_values(connector=2, transaction_id=99)
    wire.command("Reset", {"type": "Soft"}, {"status": "Accepted"})
    stops = [wire.stop_transaction(78, "SoftReset"), wire.stop_transaction(79, None)]
    wire.status(1, "Unavailable")

    judgement = soft_reset_charging(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail",
            "StopTransaction for transaction 78, 79 where transaction 77 was running",
            cited(*stops),
        ),
    )
    assert judgement.measurements == {"reboots": 0, "unavailable_during_reset": True}


def test_a_transaction_stopped_before_the_reset_is_no_running_session() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.start_transaction(transaction_id=5)
    wire.status(1, "Charging")
    wire.stop_transaction(5)
    wire.status(1, "Available")
    reset = wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    wire.status(1, "Unavailable")
    reboot(wire, {0: "Available", 1: "Available"})

    judgement = hard_reset_charging(wire.context())

    assert judgement.findings == (
        Finding(
            "fail",
            "No charging session before the Reset: StartTransaction or StatusNotification "
            "Charging was expected first",
            cited(reset),
        ),
    )


def test_a_session_started_before_the_step_on_connector_2_must_stop_too() -> None:
    """Connector 1's transaction started in the step, connector 2's before it (seen as
    Charging with transaction 7): the reset stops both; every connector reports after the
    reboot; a value of 7 sampled at the boot instant is not after it."""
    wire = Wire()
    wire.status(2, "Charging")
    wire.meter_values(connector=2, transaction_id=7)
    wire.status(1, "Preparing")
    wire.start_transaction(connector=1, transaction_id=6)
    wire.status(1, "Charging")
    reset = wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    stop = wire.stop_transaction(6, None)
    wire.status(1, "Unavailable")
    wire.wait(40)
    booted = wire.boot()
    wire.status(0, "Available")
    faulted = wire.status(2, "Faulted")
    wire.request(
        "MeterValues",
        {
            "connectorId": 2,
            "transactionId": 7,
            "meterValue": [{"timestamp": stamp(booted.at), "sampledValue": [{"value": "1"}]}],
        },
        {},
    )

    judgement = hard_reset_charging(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail",
            "StopTransaction reason omitted (Local) where HardReset was expected",
            cited(stop),
        ),
        Finding(
            "fail",
            "No StopTransaction for transaction 7 after Reset(Hard); one with reason HardReset "
            "was expected",
            cited(reset),
        ),
        Finding("fail", "No StatusNotification for connector 1 after the reboot", cited(booted)),
        Finding(
            "fail",
            "Connector 2 reported Faulted after the reboot where Finishing was expected",
            cited(faulted),
        ),
    )
    assert judgement.measurements["statuses_after_reboot"] == {
        "0": "Available",
        "1": None,
        "2": "Faulted",
    }


def test_an_inoperative_connector_made_operative_through_connector_0_may_be_available() -> None:
    wire = Wire()
    wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    wire.status(1, "Unavailable")
    reboot(wire, {0: "Available", 1: "Available", 2: "Unavailable"})
    wire.command(
        "ChangeAvailability", {"connectorId": 0, "type": "Operative"}, {"status": "Accepted"}
    )
    wire.status(2, "Available")

    judgement = hard_reset_idle(wire.context(TWO_CONNECTORS, inoperative_connectors=[2]))

    assert (judgement.verdict, judgement.findings) == ("Y", ())


def test_a_connector_whose_cable_was_out_does_not_end_the_judging_of_the_next() -> None:
    wire = Wire()
    two_sessions(wire)
    wire.command("Reset", {"type": "Soft"}, {"status": "Accepted"})
    wire.stop_transaction(6, "SoftReset")
    wire.stop_transaction(7, "SoftReset")
    wire.status(1, "Available")
    wire.status(2, "Unavailable")
    after_reboot = reboot(wire, {0: "Available", 1: "Available", 2: "Faulted"})

    judgement = soft_reset_charging(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "fail",
            "Connector 2 reported Faulted after the reboot where Finishing was expected",
            (after_reboot[2],),
        ),
    )


def test_a_value_sampled_before_the_reboot_may_arrive_well_after_it() -> None:
    """A queued value is judged by when it was sampled, not when it arrived."""
    wire = Wire()
    wire.status(1, "Preparing")
    wire.start_transaction(transaction_id=6)
    wire.status(1, "Charging")
    wire.wait(30)
    sampled = wire.now
    wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    wire.status(1, "Unavailable")
    wire.wait(40)
    wire.boot()
    wire.wait(5)
    wire.stop_transaction(6, "HardReset", timestamp=sampled)
    wire.meter_values(transaction_id=6, sampled=sampled)
    wire.status(0, "Available")
    wire.status(1, "Finishing")

    judgement = hard_reset_charging(wire.context())

    assert (judgement.verdict, judgement.findings) == ("Y", ())
