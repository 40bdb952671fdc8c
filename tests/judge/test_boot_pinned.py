"""Steps 1 and 5 with their whole judgements pinned: every BootNotification field, two
connectors, the resend delay, heartbeat gaps and the silence after boot at, just inside and
just outside their bounds, and where the interval comes from (issue 15, item 14: tests that
kill the mutants of certification/judge/boot.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from certification.judge.boot import analyse_heartbeats, boot, heartbeat
from certification.judge.outcome import Findings
from certification.judge.types import Finding, RunSettings
from tests.judge.frames import Wire, stamp

NO_ICCID = (
    "BootNotification carries no ICCID; it is recommended when the charger connects over a SIM "
    "card, as it helps troubleshooting"
)


def test_a_boot_with_every_field_on_two_connectors_pins_its_whole_judgement() -> None:
    wire = Wire()
    wire.request(
        "BootNotification",
        {
            "chargePointVendor": "V",
            "chargePointModel": "M",
            "chargePointSerialNumber": "S1",
            "chargeBoxSerialNumber": "B1",
            "firmwareVersion": "F1",
            "iccid": "I1",
            "imsi": "M1",
            "meterType": "T1",
            "meterSerialNumber": "MS1",
        },
        {"status": "Accepted", "currentTime": stamp(wire.now), "interval": 60},
    )
    for connector in (0, 1, 2):
        wire.status(connector, "Available")
    for _ in range(2):
        wire.wait(60)
        wire.heartbeat()

    judgement = boot(wire.context(RunSettings(connectors=2)))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements == {
        "boot_attempts": 1,
        "charge_point": {
            "vendor": "V",
            "model": "M",
            "serial_number": "S1",
            "charge_box_serial_number": "B1",
            "firmware_version": "F1",
            "iccid": "I1",
            "imsi": "M1",
            "meter_type": "T1",
            "meter_serial_number": "MS1",
        },
        "triggered": False,
        "heartbeat_count": 2,
        "heartbeat_intervals_s": [60.0],
        "configured_interval_s": 60,
        "heartbeat_interval_min_s": 60.0,
        "heartbeat_interval_max_s": 60.0,
        "heartbeat_interval_mean_s": 60.0,
        "tolerance_s": 4.0,
    }


@pytest.mark.parametrize(("gap", "resent_early"), [(60, False), (59, False), (58, True)])
def test_a_resend_after_pending_may_come_one_second_before_its_interval(
    gap: float, resent_early: bool
) -> None:
    """OCPP 1.6 §4.2: after Pending or Rejected the charger waits the reply's interval; one
    second of clock granularity is allowed."""
    wire = Wire()
    pending = wire.boot(status="Pending", interval=60)
    wire.wait(gap)
    resent = wire.boot()
    wire.status(0, "Available")
    wire.status(1, "Available")

    judgement = boot(wire.context(finished_at=wire.now))

    early = Finding(
        "fail",
        f"BootNotification resent after {gap} s where the Pending reply asked the charger to "
        "wait 60 s",
        ((pending.id or 0) + 1, resent.id or 0),
    )
    assert judgement.findings == (
        *((early,) if resent_early else ()),
        Finding("info", NO_ICCID, (resent.id or 0,)),
        Finding(
            "info",
            "No Heartbeat yet: the step lasted 0 s after the accepted BootNotification, and the "
            "charger was never silent for longer than the 300 s interval",
        ),
    )
    assert judgement.measurements["boot_attempts"] == 2


def heartbeats_after(gaps: tuple[float, ...]) -> Wire:
    wire = Wire()
    wire.heartbeat()
    for gap in gaps:
        wire.wait(gap)
        wire.heartbeat()
    return wire


@pytest.mark.parametrize(
    ("gaps", "findings"),
    [
        ((64, 64), ()),
        (
            (64.001, 60),
            (
                Finding(
                    "fail",
                    "No message from the charger for 64 s between two Heartbeats where the "
                    "interval is 60 s",
                    (1, 3),
                ),
            ),
        ),
        ((56, 60, 60), ()),
        (
            (55.999, 60, 60),
            (
                Finding(
                    "minor",
                    "1 Heartbeat(s) came sooner than the configured interval: 56 s after the "
                    "previous one where 60 s was expected",
                    (3,),
                ),
            ),
        ),
        (
            (50, 50, 60, 60),
            (
                Finding(
                    "minor",
                    "2 Heartbeat(s) came sooner than the configured interval: 50 s after the "
                    "previous one where 60 s was expected",
                    (3, 5),
                ),
            ),
        ),
        (
            (50, 50, 50, 60),
            (
                Finding(
                    "fail",
                    "3 of 4 Heartbeat intervals were shorter than the HeartbeatInterval of 60 s "
                    "(down to 50 s): the charger does not apply the interval it was given",
                    (3, 5, 7),
                ),
            ),
        ),
    ],
)
def test_heartbeat_gaps_at_inside_and_outside_the_tolerance(
    gaps: tuple[float, ...], findings: tuple[Finding, ...]
) -> None:
    """60 s interval, 4 s tolerance: a gap up to 64 s is on time, 56 s is not early; early
    gaps are minor while they are at most half of the gaps judged, a fail beyond."""
    judgement = heartbeat(heartbeats_after(gaps).context(interval_s=60))

    assert judgement.findings == findings
    assert judgement.measurements["heartbeat_intervals_s"] == list(gaps)
    assert judgement.measurements["tolerance_s"] == 4.0


@pytest.mark.parametrize(("interval", "tolerance"), [(30, 5.0), (50, 5.0), (60, 6.0), (100, 10.0)])
def test_without_a_tolerance_a_heartbeat_may_be_10_percent_late_and_at_least_5_s(
    interval: int, tolerance: float
) -> None:
    wire = heartbeats_after((interval + tolerance, interval - tolerance))
    findings = Findings()

    measurements = analyse_heartbeats(wire.frames, interval, None, findings)

    assert measurements["tolerance_s"] == tolerance
    assert findings.items == ()


def test_without_a_tolerance_a_gap_beyond_10_percent_is_a_silence() -> None:
    wire = heartbeats_after((66.001,))
    findings = Findings()

    analyse_heartbeats(wire.frames, 60, None, findings)

    assert findings.items == (
        Finding(
            "fail",
            "No message from the charger for 66 s between two Heartbeats where the interval is "
            "60 s",
            (1, 3),
        ),
    )


@pytest.mark.parametrize(("silence", "silent_too_long"), [(64, False), (64.001, True)])
def test_no_heartbeat_after_boot_fails_only_after_a_silence_beyond_interval_and_tolerance(
    silence: float, silent_too_long: bool
) -> None:
    wire = Wire()
    booted = wire.boot(interval=60)
    wire.status(0, "Available")
    wire.status(1, "Available")

    judgement = boot(wire.context(finished_at=wire.now + timedelta(seconds=silence)))

    last = (
        Finding(
            "fail",
            "No Heartbeat received and no message from the charger for 64 s after the accepted "
            "BootNotification where one was expected every 60 s",
            ((booted.id or 0) + 1,),
        )
        if silent_too_long
        else Finding(
            "info",
            "No Heartbeat yet: the step lasted 64 s after the accepted BootNotification, and "
            "the charger was never silent for longer than the 60 s interval",
        )
    )
    assert judgement.findings == (Finding("info", NO_ICCID, (booted.id or 0,)), last)


def test_the_heartbeat_interval_comes_from_the_accepted_boot_before_the_runs_setting() -> None:
    wire = Wire()
    wire.boot(status="Rejected", interval=0)
    wire.boot(interval=45)
    wire.heartbeat()
    wire.wait(45)
    wire.heartbeat()

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=300)))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["configured_interval_s"] == 45


def test_the_runs_heartbeat_interval_is_the_last_resort() -> None:
    wire = Wire()
    wire.boot(status="Rejected", interval=30)
    wire.heartbeat()
    wire.wait(45)
    wire.heartbeat()

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=45)))

    assert (judgement.verdict, judgement.findings) == ("Y", ())
    assert judgement.measurements["configured_interval_s"] == 45


def test_an_unknown_interval_only_reports_the_gaps() -> None:
    judgement = heartbeat(heartbeats_after((45,)).context())

    assert judgement.verdict == "Y"
    assert judgement.findings == (
        Finding(
            "info", "The configured heartbeat interval is unknown; intervals are only reported"
        ),
    )
    assert judgement.measurements == {
        "heartbeat_count": 2,
        "heartbeat_intervals_s": [45.0],
        "configured_interval_s": None,
        "heartbeat_interval_min_s": 45.0,
        "heartbeat_interval_max_s": 45.0,
        "heartbeat_interval_mean_s": 45.0,
    }


def test_a_heartbeat_step_without_heartbeats_fails_with_the_count() -> None:
    wire = Wire()
    wire.status(1, "Available")

    judgement = heartbeat(wire.context(RunSettings(heartbeat_interval=45)))

    assert judgement.findings == (Finding("fail", "No Heartbeat received"),)
    assert judgement.measurements == {
        "heartbeat_count": 0,
        "heartbeat_intervals_s": [],
        "configured_interval_s": 45,
    }


def test_only_a_heartbeat_answering_an_accepted_trigger_for_heartbeat_is_left_unjudged() -> None:
    """OCPP 1.6 §5.17: a triggered Heartbeat comes when asked, not when the interval says.
    A rejected TriggerMessage(Heartbeat) and an accepted trigger of another message do not
    excuse an early Heartbeat."""
    wire = Wire()
    wire.heartbeat()
    wire.wait(60)
    wire.heartbeat()
    wire.command("TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Rejected"})
    wire.wait(6)
    early = wire.heartbeat()
    wire.wait(5)
    wire.command(
        "TriggerMessage", {"requestedMessage": "StatusNotification"}, {"status": "Accepted"}
    )
    wire.command("TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})
    wire.heartbeat()
    for _ in range(2):
        wire.wait(60)
        wire.heartbeat()

    judgement = heartbeat(wire.context(interval_s=60))

    assert judgement.findings == (
        Finding(
            "minor",
            "1 Heartbeat(s) came sooner than the configured interval: 6 s after the previous one "
            "where 60 s was expected",
            (early.id or 0,),
        ),
    )
    assert judgement.measurements["heartbeat_intervals_s"] == [60.0, 6.0, 5.0, 60.0, 60.0]
    assert judgement.measurements["heartbeat_interval_mean_s"] == 38.2


def heartbeats_with_activity(
    gaps: list[float], activity: dict[int, float], interval: int = 60
) -> tuple[Wire, list[int]]:
    """Heartbeats `gaps` apart; in the gap at index i a StatusNotification `activity[i]` s
    after the previous Heartbeat. Returns the wire and the Heartbeats' ids."""
    wire = Wire()
    beats = [wire.heartbeat()]
    for index, gap in enumerate(gaps):
        if index in activity:
            wire.wait(activity[index])
            wire.status(1, "Available")
            wire.wait(gap - activity[index])
        else:
            wire.wait(gap)
        beats.append(wire.heartbeat())
    return wire, [beat.id or 0 for beat in beats]


def skipped(beat: int) -> Finding:
    return Finding(
        "info",
        "1 Heartbeat(s) skipped because the charger sent other messages within the 60 s "
        "interval, as OCPP allows",
        (beat,),
    )


def test_a_skipped_heartbeat_counts_as_judged_when_weighing_early_ones() -> None:
    """2 early of 4 judged gaps (one of them a skipped Heartbeat) is no majority."""
    wire, beats = heartbeats_with_activity([50, 50, 60, 100], {3: 60})

    judgement = heartbeat(wire.context(interval_s=60))

    assert judgement.findings == (
        skipped(beats[4]),
        Finding(
            "minor",
            "2 Heartbeat(s) came sooner than the configured interval: 50 s after the previous "
            "one where 60 s was expected",
            (beats[1], beats[2]),
        ),
    )


def test_three_early_of_five_judged_gaps_fail() -> None:
    wire, beats = heartbeats_with_activity([50, 50, 50, 60, 100], {4: 60})

    judgement = heartbeat(wire.context(interval_s=60))

    assert judgement.findings == (
        skipped(beats[5]),
        Finding(
            "fail",
            "3 of 5 Heartbeat intervals were shorter than the HeartbeatInterval of 60 s (down to "
            "50 s): the charger does not apply the interval it was given",
            (beats[1], beats[2], beats[3]),
        ),
    )


def test_a_silence_of_exactly_interval_and_tolerance_is_a_skip_not_a_fail() -> None:
    wire, beats = heartbeats_with_activity([70], {0: 64})

    judgement = heartbeat(wire.context(interval_s=60))

    assert judgement.findings == (skipped(beats[1]),)


@pytest.mark.parametrize(("interval", "tolerance_judged"), [(0, False), (1, True)])
def test_a_zero_interval_is_not_judged_and_one_second_is(
    interval: int, tolerance_judged: bool
) -> None:
    wire = heartbeats_after((1, 10))

    judgement = heartbeat(wire.context(interval_s=interval))

    assert ("tolerance_s" in judgement.measurements) is tolerance_judged
    assert judgement.findings == (
        (
            Finding(
                "fail",
                "No message from the charger for 10 s between two Heartbeats where the interval "
                "is 1 s",
                (3, 5),
            ),
        )
        if tolerance_judged
        else ()
    )


def test_heartbeats_after_an_interval_change_are_judged_against_the_new_value() -> None:
    wire = Wire()
    wire.heartbeat()
    wire.wait(60)
    wire.heartbeat()
    wire.command(
        "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "15"}, {"status": "Accepted"}
    )
    wire.wait(30)
    late_from = wire.heartbeat()
    wire.wait(30)
    late = wire.heartbeat()

    judgement = heartbeat(wire.context(interval_s=60))

    assert judgement.findings == (
        Finding(
            "fail",
            "No message from the charger for 30 s between two Heartbeats where the interval is "
            "15 s",
            (late_from.id or 0, late.id or 0),
        ),
    )


def test_heartbeats_after_a_triggered_one_are_judged_again() -> None:
    wire = Wire()
    wire.heartbeat()
    wire.wait(60)
    wire.heartbeat()
    wire.command("TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})
    wire.wait(2)
    wire.heartbeat()
    wire.wait(60)
    wire.heartbeat()
    wire.wait(10)
    early = wire.heartbeat()
    for _ in range(2):
        wire.wait(60)
        wire.heartbeat()

    judgement = heartbeat(wire.context(interval_s=60))

    assert judgement.findings == (
        Finding(
            "minor",
            "1 Heartbeat(s) came sooner than the configured interval: 10 s after the previous "
            "one where 60 s was expected",
            (early.id or 0,),
        ),
    )


def test_a_step_without_a_boot_notification_fails_saying_so() -> None:
    wire = Wire()
    wire.heartbeat()

    judgement = boot(wire.context())

    assert judgement.findings == (Finding("fail", "No BootNotification received"),)
    assert judgement.measurements == {}


def test_a_trigger_of_another_message_makes_no_triggered_boot() -> None:
    """Only TriggerMessage(BootNotification) makes a BootNotification that owes no
    statuses (OCPP 1.6 §5.17); after another trigger the statuses are due."""
    wire = Wire()
    wire.command(
        "TriggerMessage", {"requestedMessage": "StatusNotification"}, {"status": "Accepted"}
    )
    booted = wire.boot()
    wire.heartbeat()

    judgement = boot(wire.context())

    assert judgement.measurements["triggered"] is False
    assert judgement.findings[1:] == tuple(
        Finding(
            "fail",
            f"No StatusNotification for connector {connector} after the accepted "
            "BootNotification; Available was expected",
            ((booted.id or 0) + 1,),
        )
        for connector in (0, 1)
    )


@pytest.mark.parametrize(("last_command_at", "silent_too_long"), [(64, False), (70, True)])
def test_without_a_recorded_end_the_silence_runs_to_the_steps_last_frame(
    last_command_at: float, silent_too_long: bool
) -> None:
    """The portal's own commands (unanswered) extend the step; the charger's silence is
    measured up to its last frame."""
    wire = Wire()
    wire.boot(interval=60)
    wire.status(0, "Available")
    wire.status(1, "Available")
    wire.wait(30)
    wire.call_out("TriggerMessage", {"requestedMessage": "MeterValues"})
    wire.wait(last_command_at - 30)
    wire.call_out("TriggerMessage", {"requestedMessage": "Heartbeat"})

    judgement = boot(wire.context())

    assert judgement.findings[-1].severity == ("fail" if silent_too_long else "info")
    assert f"{last_command_at:g} s" in judgement.findings[-1].message


def test_every_connector_is_judged_after_boot_and_a_later_unavailable_is_no_self_check() -> None:
    """Connector 0 and 1 settle on Faulted: two fails. Connector 2 is Available first and
    Unavailable later: no self-check to report (that is an Unavailable before Available)."""
    wire = Wire()
    booted = wire.boot()
    zero = wire.status(0, "Faulted")
    one = wire.status(1, "Faulted")
    wire.status(2, "Available")
    wire.wait(5)
    wire.status(2, "Unavailable")

    judgement = boot(wire.context(RunSettings(connectors=2), finished_at=wire.now))

    assert judgement.findings[:3] == (
        Finding("info", NO_ICCID, (booted.id or 0,)),
        Finding(
            "fail",
            "Connector 0 reported Faulted after boot where Available was expected",
            (zero.id or 0,),
        ),
        Finding(
            "fail",
            "Connector 1 reported Faulted after boot where Available was expected",
            (one.id or 0,),
        ),
    )
    assert len(judgement.findings) == 4


def test_vendors_and_answers_are_listed_each() -> None:
    wire = Wire()
    transfers = [
        wire.request("DataTransfer", {"vendorId": vendor}, {"status": "Accepted"})
        for vendor in ("XCHARGE", "ACME")
    ]
    wire.boot(status="Pending", interval=10)
    wire.wait(10)
    last_boot = wire.boot(status="Rejected", interval=10)

    judgement = boot(wire.context())

    assert judgement.findings == (
        Finding(
            "info",
            "2 vendor DataTransfer message(s) recorded (vendorId ACME, XCHARGE); they do not "
            "affect the verdict",
            tuple(t.id or 0 for t in transfers),
        ),
        Finding(
            "fail",
            "2 request(s) (DataTransfer) sent before the BootNotification was accepted: a "
            "charger sends no other request before its boot is accepted, while Pending only "
            "what a TriggerMessage asks for (OCPP 1.6 §4.2)",
            tuple(t.id or 0 for t in transfers),
        ),
        Finding("info", NO_ICCID, (last_boot.id or 0,)),
        Finding(
            "fail",
            "No BootNotification answered Accepted (answers: Pending, Rejected)",
            (last_boot.id or 0, (last_boot.id or 0) + 1),
        ),
    )
