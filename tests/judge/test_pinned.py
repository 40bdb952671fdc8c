"""Whole judgements pinned: passing cases with their complete findings, cited frames and
measurements; messages inconsistent with each other; every threshold at, just inside and
just outside its bound (issue 15, item 14: the tests that kill the judge's mutants)."""

from __future__ import annotations

import pytest

from certification.judge.boot import boot
from certification.judge.configuration import change_configuration
from certification.judge.remote import remote_start_stop_cable_first
from certification.judge.resets import hard_reset_idle, soft_reset_charging
from certification.judge.sessions import local_id_first_connection_loss, local_plugin_first
from certification.judge.triggers import trigger_message
from certification.judge.types import Finding, RunSettings
from tests.judge.frames import Wire

TWO_CONNECTORS = RunSettings(connectors=2)


def test_a_plugin_first_session_on_connector_2_pins_its_whole_judgement() -> None:
    wire = Wire()
    wire.status(2, "Preparing")
    wire.wait(4)
    wire.authorize()
    wire.start_transaction(connector=2, transaction_id=6)
    wire.status(2, "Charging")
    wire.wait(30)
    wire.meter_values(connector=2, transaction_id=6)
    wire.wait(30)
    wire.stop_transaction(transaction_id=6)
    wire.status(2, "Finishing")
    wire.wait(12)
    wire.status(2, "Available")

    judgement = local_plugin_first(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "Y"
    assert judgement.findings == ()
    assert judgement.measurements == {
        "transaction_id": 6,
        "connector_id": 2,
        "id_tag": "CARD-1",
        "charging_s": 60.0,
        "energy_wh": 1500,
        "meter_values": 1,
        "authorized_by": "Central System (Authorize)",
        "finishing_to_available_s": 12.0,
    }


def test_a_stop_of_another_transaction_fails_the_session() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    wire.start_transaction(transaction_id=6)
    wire.status(1, "Charging")
    wire.meter_values(transaction_id=6)
    stop = wire.stop_transaction(transaction_id=1)
    wire.status(1, "Finishing")
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "StopTransaction for transaction 1 where transaction 6 was started",
            (stop.id or 0,),
        ),
    )


def test_meter_values_of_another_transaction_are_not_counted_as_the_sessions() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.authorize()
    start = wire.start_transaction(transaction_id=6)
    wire.status(1, "Charging")
    wire.meter_values(connector=2, transaction_id=7)
    stop = wire.stop_transaction(transaction_id=6)
    wire.status(1, "Finishing")
    wire.status(1, "Available")

    judgement = local_plugin_first(wire.context(TWO_CONNECTORS))

    assert judgement.findings == (
        Finding(
            "minor",
            "No MeterValues received during the transaction",
            (start.id or 0, stop.id or 0),
        ),
    )
    assert judgement.measurements["meter_values"] == 0


def test_a_remote_stop_for_another_transaction_fails() -> None:
    wire = Wire()
    wire.status(1, "Preparing")
    wire.command(
        "RemoteStartTransaction", {"idTag": "CARD-1", "connectorId": 1}, {"status": "Accepted"}
    )
    wire.start_transaction(transaction_id=6)
    wire.status(1, "Charging")
    remote_stop = wire.command(
        "RemoteStopTransaction", {"transactionId": 1}, {"status": "Accepted"}
    )
    wire.stop_transaction(transaction_id=6, reason="Remote")
    wire.status(1, "Finishing")

    judgement = remote_start_stop_cable_first(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "RemoteStopTransaction asked to stop transaction 1 where transaction 6 was started",
            (remote_stop.id or 0,),
        ),
    )


def test_reading_back_another_key_is_no_read_back() -> None:
    wire = Wire()
    change = wire.command(
        "ChangeConfiguration",
        {"key": "MeterValueSampleInterval", "value": "30"},
        {"status": "Accepted"},
    )
    wire.command(
        "GetConfiguration",
        {"key": ["HeartbeatInterval"]},
        {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "30"}]},
    )

    judgement = change_configuration(wire.context(require_negative_cases=False))

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "MeterValueSampleInterval was not read back with GetConfiguration after it was set "
            "to 30",
            ((change.id or 0) + 1,),
        ),
    )


def test_an_idle_hard_reset_of_a_two_connector_charger_pins_its_judgement() -> None:
    wire = Wire()
    reset = wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    for connector in (0, 1, 2):
        wire.status(connector, "Unavailable")
    wire.wait(20)
    wire.boot()
    for connector in (0, 1, 2):
        wire.status(connector, "Available")

    judgement = hard_reset_idle(wire.context(TWO_CONNECTORS))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == {
        "reboots": 1,
        "reset_to_boot_s": 20.0,
        "unavailable_during_reset": True,
        "statuses_after_reboot": {"0": "Available", "1": "Available", "2": "Available"},
    }
    assert reset.id == 1


def test_a_soft_reset_on_the_second_connector_expects_finishing_there_only() -> None:
    wire = Wire()
    wire.status(2, "Preparing")
    wire.start_transaction(connector=2, transaction_id=9)
    wire.status(2, "Charging")
    wire.command("Reset", {"type": "Soft"}, {"status": "Accepted"})
    wire.stop_transaction(transaction_id=9, reason="SoftReset")
    for connector in (0, 1, 2):
        wire.status(connector, "Unavailable")
    wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Available")
    wire.status(2, "Finishing")

    judgement = soft_reset_charging(wire.context(TWO_CONNECTORS))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["statuses_after_reboot"] == {
        "0": "Available",
        "1": "Available",
        "2": "Finishing",
    }
    assert judgement.measurements["stop_reason"] == "SoftReset"
    assert judgement.measurements["stop_before_reboot"] is True


@pytest.mark.parametrize(("gap", "verdict"), [(58.999, "N"), (59, "Y"), (60, "Y")])
def test_a_boot_resent_after_rejected_may_come_one_second_early(gap: float, verdict: str) -> None:
    wire = Wire()
    wire.boot(status="Rejected", interval=60)
    wire.wait(gap)
    wire.boot(interval=60)
    wire.status(0, "Available")
    wire.status(1, "Available")

    assert boot(wire.context()).verdict == verdict


@pytest.mark.parametrize(("gap", "verdict"), [(179.999, "N"), (180, "Y")])
def test_a_connection_loss_by_silence_needs_three_sample_intervals(
    gap: float, verdict: str
) -> None:
    wire = Wire()
    wire.start_card_first()
    cut = wire.now
    wire.wait(gap)
    wire.meter_values(sampled=cut)
    wire.meter_values()

    judgement = local_id_first_connection_loss(
        wire.context(configuration={"MeterValueSampleInterval": "60"})
    )

    assert judgement.verdict == verdict, judgement.findings


@pytest.mark.parametrize(("delay", "informed"), [(60, False), (60.001, True)])
def test_a_slow_triggered_message_is_information_beyond_60_s(delay: float, informed: bool) -> None:
    wire = Wire()
    wire.command("TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})
    wire.wait(delay)
    wire.heartbeat()

    judgement = trigger_message(wire.context(kinds=["Heartbeat"]))

    slow = [f for f in judgement.findings if f.message.startswith("The slowest")]
    assert bool(slow) is informed
