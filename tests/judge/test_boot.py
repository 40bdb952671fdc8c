"""Steps 1 and 5: booting and the heartbeat."""

from __future__ import annotations

from typing import Any

import pytest

from certification.judge.boot import boot, heartbeat
from certification.judge.types import Finding, RunSettings
from tests.judge.expected import boot_measurements, charge_point, no_heartbeat_yet, no_iccid
from tests.judge.frames import Wire, empty_step

TWO_CONNECTORS = RunSettings(connectors=2)


def booted_wire(interval: int = 60) -> Wire:
    wire = Wire()
    wire.boot(interval=interval)
    for connector in (0, 1, 2):
        wire.status(connector, "Available")
    return wire


def heartbeat_measurements(
    count: int, intervals: list[float], configured: int, *, low: float, high: float, mean: float
) -> dict[str, Any]:
    """The heartbeat measurements of `count` Heartbeats `intervals` apart, 4 s tolerance."""
    return {
        "heartbeat_count": count,
        "heartbeat_intervals_s": intervals,
        "configured_interval_s": configured,
        "heartbeat_interval_min_s": low,
        "heartbeat_interval_max_s": high,
        "heartbeat_interval_mean_s": mean,
        "tolerance_s": 4.0,
    }


def test_boot_passes_with_accepted_boot_statuses_and_heartbeats() -> None:
    wire = booted_wire()
    for _ in range(3):
        wire.wait(60)
        wire.heartbeat()

    judgement = boot(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "Y"
    assert judgement.measurements["heartbeat_intervals_s"] == [60.0, 60.0]
    assert judgement.measurements["charge_point"]["firmware_version"] == "V1.0.0"
    assert judgement.measurements["boot_attempts"] == 1
    assert judgement.findings == (no_iccid(1),)
    assert judgement.measurements == boot_measurements(
        **heartbeat_measurements(3, [60.0, 60.0], 60, low=60.0, high=60.0, mean=60.0)
    )


def test_boot_without_frames_says_no_boot_notification_arrived() -> None:
    judgement = boot(empty_step())

    assert judgement.verdict == "N"
    assert "No BootNotification received" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="No BootNotification received: the step recorded no frames",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {}


def test_boot_fails_when_a_connector_sends_no_status() -> None:
    wire = Wire()
    wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Available")

    judgement = boot(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "N"
    assert any("connector 2" in f.message for f in judgement.findings)
    assert judgement.findings == (
        no_iccid(1),
        Finding(
            severity="fail",
            message="No StatusNotification for connector 2 after the accepted "
            "BootNotification; Available was expected",
            frame_ids=(2,),
        ),
        no_heartbeat_yet(),
    )
    assert judgement.measurements == boot_measurements()


def test_boot_accepts_a_short_unavailable_self_check_before_available() -> None:
    wire = Wire()
    wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Unavailable")
    wire.wait(5)
    wire.status(1, "Available")

    judgement = boot(wire.context())

    assert judgement.verdict == "Y"
    assert any("Unavailable for 5 s" in f.message for f in judgement.findings)
    assert judgement.findings == (
        no_iccid(1),
        Finding(
            severity="info",
            message="Connector 1 was Unavailable for 5 s after boot before it became Available",
            frame_ids=(5, 7),
        ),
        no_heartbeat_yet(5),
    )
    assert judgement.measurements == boot_measurements()


def test_boot_fails_when_a_connector_settles_on_faulted() -> None:
    wire = Wire()
    wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Faulted", "GroundFailure")

    judgement = boot(wire.context())

    assert judgement.verdict == "N"
    assert any("Faulted after boot where Available" in f.message for f in judgement.findings)
    assert judgement.findings == (
        no_iccid(1),
        Finding(
            severity="fail",
            message="Connector 1 reported Faulted after boot where Available was expected",
            frame_ids=(5,),
        ),
        no_heartbeat_yet(),
    )
    assert judgement.measurements == boot_measurements()


def test_boot_records_vendor_data_transfer_without_changing_the_verdict() -> None:
    wire = booted_wire()
    wire.request(
        "DataTransfer", {"vendorId": "XCHARGE", "data": "battery=98"}, {"status": "Accepted"}
    )
    wire.request(
        "DataTransfer", {"vendorId": "XCHARGE", "data": "battery=97"}, {"status": "Accepted"}
    )

    judgement = boot(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "Y"
    assert not judgement.minor
    assert judgement.measurements["data_transfers"] == 2
    info = [f for f in judgement.findings if "DataTransfer" in f.message]
    assert info[0].severity == "info"
    assert "XCHARGE" in info[0].message
    assert judgement.findings == (
        Finding(
            severity="info",
            message="2 vendor DataTransfer message(s) recorded (vendorId XCHARGE); they do "
            "not affect the verdict",
            frame_ids=(9, 11),
        ),
        no_iccid(1),
        no_heartbeat_yet(interval=60),
    )
    assert judgement.measurements == boot_measurements(data_transfers=2, configured_interval_s=60)


def test_boot_notes_missing_iccid_as_information() -> None:
    judgement = boot(booted_wire().context(TWO_CONNECTORS))

    assert any(f.severity == "info" and "ICCID" in f.message for f in judgement.findings)
    assert judgement.findings == (
        no_iccid(1),
        no_heartbeat_yet(interval=60),
    )
    assert judgement.measurements == boot_measurements(configured_interval_s=60)


def test_boot_fails_when_charger_resends_before_the_rejected_interval() -> None:
    wire = Wire()
    wire.boot(status="Rejected", interval=60)
    wire.wait(10)
    wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Available")

    judgement = boot(wire.context())

    assert judgement.verdict == "N"
    assert any(
        "resent after 10 s" in f.message and "wait 60 s" in f.message for f in judgement.findings
    )
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="BootNotification resent after 10 s where the Rejected reply asked the "
            "charger to wait 60 s",
            frame_ids=(2, 3),
        ),
        no_iccid(3),
        no_heartbeat_yet(),
    )
    assert judgement.measurements == boot_measurements(boot_attempts=2)


def test_boot_accepts_a_resend_after_the_rejected_interval() -> None:
    wire = Wire()
    wire.boot(status="Rejected", interval=60)
    wire.wait(60)
    wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Available")

    judgement = boot(wire.context())

    assert judgement.verdict == "Y"
    assert judgement.measurements["boot_attempts"] == 2
    assert judgement.findings == (
        no_iccid(3),
        no_heartbeat_yet(),
    )
    assert judgement.measurements == boot_measurements(boot_attempts=2)


def test_boot_fails_when_never_accepted() -> None:
    wire = Wire()
    wire.boot(status="Pending")

    judgement = boot(wire.context())

    assert judgement.verdict == "N"
    assert any("No BootNotification answered Accepted" in f.message for f in judgement.findings)
    assert judgement.findings == (
        no_iccid(1),
        Finding(
            severity="fail",
            message="No BootNotification answered Accepted (answers: Pending)",
            frame_ids=(1, 2),
        ),
    )
    assert judgement.measurements == {
        "boot_attempts": 1,
        "charge_point": charge_point(),
    }


def test_boot_fails_when_no_heartbeat_arrives_within_the_interval() -> None:
    wire = booted_wire(interval=60)
    wire.wait(200)
    wire.status(1, "Available")

    judgement = boot(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "N"
    assert any("No Heartbeat received" in f.message for f in judgement.findings)
    assert judgement.findings == (
        no_iccid(1),
        Finding(
            severity="fail",
            message="No Heartbeat received and no message from the charger for 200 s after "
            "the accepted BootNotification where one was expected every 60 s",
            frame_ids=(2,),
        ),
    )
    assert judgement.measurements == boot_measurements(configured_interval_s=60)


def test_boot_flags_a_schema_violation_naming_the_action() -> None:
    wire = booted_wire()
    wire.call_in("StatusNotification", {"connectorId": 1}, validation_error="'status' is required")

    judgement = boot(wire.context(TWO_CONNECTORS))

    assert judgement.verdict == "N"
    message = judgement.findings[0].message
    assert "StatusNotification" in message
    assert "'status' is required" in message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="StatusNotification request from the charger violates the OCPP 1.6 "
            "schema: 'status' is required",
            frame_ids=(9,),
        ),
        no_iccid(1),
        no_heartbeat_yet(interval=60),
    )
    assert judgement.measurements == boot_measurements(configured_interval_s=60)


def heartbeats(wire: Wire, *gaps: float) -> None:
    wire.heartbeat()
    for gap in gaps:
        wire.wait(gap)
        wire.heartbeat()


def test_heartbeat_measures_intervals_against_the_configured_one() -> None:
    wire = Wire()
    heartbeats(wire, 60, 61, 59)

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=60)))

    assert judgement.verdict == "Y"
    assert judgement.measurements["heartbeat_intervals_s"] == [60.0, 61.0, 59.0]
    assert judgement.measurements["heartbeat_interval_min_s"] == 59.0
    assert judgement.measurements["heartbeat_interval_max_s"] == 61.0
    assert judgement.measurements["heartbeat_interval_mean_s"] == 60.0
    assert judgement.measurements["configured_interval_s"] == 60
    assert judgement.findings == ()
    assert judgement.measurements == heartbeat_measurements(
        4, [60.0, 61.0, 59.0], 60, low=59.0, high=61.0, mean=60.0
    )


def test_heartbeat_without_frames_says_no_heartbeat_arrived() -> None:
    judgement = heartbeat(empty_step())

    assert judgement.verdict == "N"
    assert "No Heartbeat received" in judgement.findings[0].message
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="No Heartbeat received: the step recorded no frames",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {}


def test_heartbeat_fails_when_the_charger_stays_silent_past_the_interval() -> None:
    wire = Wire()
    heartbeats(wire, 60, 180)

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=60)))

    assert judgement.verdict == "N"
    assert any("No message from the charger for 180 s" in f.message for f in judgement.findings)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="No message from the charger for 180 s between two Heartbeats where the "
            "interval is 60 s",
            frame_ids=(3, 5),
        ),
    )
    assert judgement.measurements == heartbeat_measurements(
        3, [60.0, 180.0], 60, low=60.0, high=180.0, mean=120.0
    )


def test_heartbeat_may_be_skipped_when_other_messages_were_sent() -> None:
    wire = Wire()
    wire.heartbeat()
    wire.wait(50)
    wire.status(1, "Available")
    wire.wait(50)
    wire.heartbeat()

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=60)))

    assert judgement.verdict == "Y"
    assert any("skipped" in f.message for f in judgement.findings)
    assert judgement.findings == (
        Finding(
            severity="info",
            message="1 Heartbeat(s) skipped because the charger sent other messages within "
            "the 60 s interval, as OCPP allows",
            frame_ids=(5,),
        ),
    )
    assert judgement.measurements == heartbeat_measurements(
        2, [100.0], 60, low=100.0, high=100.0, mean=100.0
    )


def test_one_heartbeat_too_soon_is_a_minor_finding() -> None:
    wire = Wire()
    heartbeats(wire, 60, 10, 60)

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=60)))

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "minor",
            "1 Heartbeat(s) came sooner than the configured interval: 10 s after the previous "
            "one where 60 s was expected",
            (5,),
        ),
    )
    assert judgement.measurements == heartbeat_measurements(
        4, [60.0, 10.0, 60.0], 60, low=10.0, high=60.0, mean=43.333
    )


def test_heartbeats_always_too_often_fail_the_interval_was_not_applied() -> None:
    # HeartbeatInterval set to 15 s and Accepted, yet the charger keeps beating every 5 s.
    wire = Wire()
    wire.command(
        "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "15"}, {"status": "Accepted"}
    )
    heartbeats(wire, 5, 5, 5)

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=300)))

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "3 of 3 Heartbeat intervals were shorter than the HeartbeatInterval of 15 s (down "
            "to 5 s): the charger does not apply the interval it was given",
            (5, 7, 9),
        ),
    )
    assert judgement.measurements == heartbeat_measurements(
        4, [5.0, 5.0, 5.0], 15, low=5.0, high=5.0, mean=5.0
    )


@pytest.mark.parametrize(
    ("gap", "verdict", "minor"),
    [(55.999, "N", False), (56, "Y", False), (64, "Y", False), (64.001, "N", False)],
)
def test_heartbeat_tolerance_bounds(gap: float, verdict: str, minor: bool) -> None:
    # 60 s with the run's timing tolerance, 4 s by default (as the OCA's tool), both sides.
    wire = Wire()
    heartbeats(wire, gap, gap)

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=60)))

    assert (judgement.verdict, judgement.minor) == (verdict, minor)


@pytest.mark.parametrize(("tolerance", "verdict"), [(4.0, "N"), (10.0, "Y")])
def test_the_heartbeat_tolerance_is_the_labs_setting_on_the_run(
    tolerance: float, verdict: str
) -> None:
    wire = Wire()
    heartbeats(wire, 52, 52)

    judgement = heartbeat(
        wire.context(RunSettings(heartbeat_interval=60, timing_tolerance_s=tolerance))
    )

    assert judgement.verdict == verdict
    assert judgement.measurements["tolerance_s"] == tolerance


def test_a_triggered_heartbeat_does_not_measure_the_interval() -> None:
    wire = Wire()
    wire.heartbeat()
    wire.wait(20)
    wire.command("TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})
    wire.heartbeat()
    wire.wait(60)
    wire.heartbeat()
    wire.wait(60)
    wire.heartbeat()

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=60)))

    assert judgement.verdict == "Y"
    assert judgement.findings == ()
    assert judgement.measurements["heartbeat_intervals_s"] == [20.0, 60.0, 60.0]
    assert judgement.measurements == heartbeat_measurements(
        4, [20.0, 60.0, 60.0], 60, low=20.0, high=60.0, mean=46.667
    )


def test_heartbeats_before_an_interval_change_are_not_held_to_the_new_value() -> None:
    wire = Wire()
    heartbeats(wire, 60, 60)
    wire.command(
        "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "15"}, {"status": "Accepted"}
    )
    wire.wait(15)
    wire.heartbeat()
    wire.wait(15)
    wire.heartbeat()
    wire.wait(15)
    wire.heartbeat()

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=60)))

    assert judgement.verdict == "Y", judgement.findings
    assert judgement.findings == ()
    assert judgement.measurements == heartbeat_measurements(
        6, [60.0, 60.0, 15.0, 15.0, 15.0], 15, low=15.0, high=60.0, mean=33.0
    )


def test_heartbeat_reads_the_interval_from_a_change_configuration() -> None:
    wire = Wire()
    wire.command(
        "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "30"}, {"status": "Accepted"}
    )
    heartbeats(wire, 30, 30)

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=300)))

    assert judgement.verdict == "Y"
    assert judgement.measurements["configured_interval_s"] == 30
    assert judgement.findings == ()
    assert judgement.measurements == heartbeat_measurements(
        3, [30.0, 30.0], 30, low=30.0, high=30.0, mean=30.0
    )


def test_heartbeat_tolerance_param_widens_the_accepted_gap() -> None:
    wire = Wire()
    heartbeats(wire, 60, 90)

    strict = heartbeat(wire.context(RunSettings(heartbeat_interval=60)))
    lenient = heartbeat(wire.context(RunSettings(heartbeat_interval=60), tolerance_s=40))

    assert strict.verdict == "N"
    assert lenient.verdict == "Y"


def test_heartbeat_needs_two_heartbeats_to_measure() -> None:
    wire = Wire()
    wire.heartbeat()

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=60)))

    assert judgement.verdict == "N"
    assert any("Only one Heartbeat" in f.message for f in judgement.findings)
    assert judgement.findings == (
        Finding(
            severity="fail",
            message="Only one Heartbeat received; at least two are needed to measure the interval",
            frame_ids=(),
        ),
    )
    assert judgement.measurements == {
        "heartbeat_count": 1,
        "heartbeat_intervals_s": [],
        "configured_interval_s": 60,
    }
