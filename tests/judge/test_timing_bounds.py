"""The reconnect back-off after an injected disconnect, bound by bound (issue 15, item 14:
tests that kill the mutants of certification/judge/timing.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from certification.judge.outcome import Findings
from certification.judge.timing import reconnect_backoff, replay_checks, retry_chains
from certification.judge.types import ConnectionEvent, Finding, Frame, InjectedFault
from tests.judge.frames import START, Wire, stamp


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def event(seconds: float, kind: Any) -> ConnectionEvent:
    return ConnectionEvent(id=None, at=at(seconds), kind=kind)


def disconnect(seconds: float | None = 15.0, ended: float | None = None) -> InjectedFault:
    return InjectedFault(
        id=1,
        kind="disconnect",
        started_at=START,
        seconds=seconds,
        ended_at=None if ended is None else at(ended),
    )


def backoff(
    faults: list[InjectedFault], events: list[ConnectionEvent], step_end: float | None = None
) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    findings = Findings()
    measured = reconnect_backoff(
        faults, events, findings, None if step_end is None else at(step_end)
    )
    return measured, findings.items


def test_attempts_at_the_bounds_of_the_window_count_and_other_faults_do_not() -> None:
    """The window runs from the close (at the fault's start: included) to the end of the
    refusal (included); a connect at the close's instant is not the charger back."""
    delay = InjectedFault(id=2, kind="delay", started_at=START, seconds=99.0)
    events = [
        event(-1, "closed"),
        event(0, "replaced"),
        event(0, "connected"),
        event(0, "refused"),
        event(15, "refused"),
        event(16, "refused"),
        event(17, "connected"),
    ]

    measured, findings = backoff([delay, disconnect()], events)

    assert measured == {
        "reconnect_attempts": 3,
        "reconnect_intervals_s": [0.0, 15.0, 2.0],
        "refused_for_s": 15.0,
        "back_after_refusal_s": 2.0,
    }
    assert findings == (
        Finding(
            "info",
            "Reconnect attempts after the injected disconnect: 3, at intervals of 0 s, 15 s, "
            "2 s; back 2 s after the refusal ended",
        ),
    )


def test_a_refusal_ended_early_ends_the_window_and_a_charger_back_inside_it_is_back_at_once() -> (
    None
):
    measured, _ = backoff(
        [disconnect(seconds=15.0004, ended=5)],
        [event(1, "closed"), event(5, "refused"), event(6, "refused"), event(4, "connected")],
    )

    assert measured == {
        "reconnect_attempts": 2,
        "reconnect_intervals_s": [4.0, -1.0],
        "refused_for_s": 15.0,
        "back_after_refusal_s": 0.0,
    }


def test_a_fault_without_seconds_has_an_empty_window() -> None:
    measured, findings = backoff(
        [disconnect(seconds=None)], [event(0, "refused"), event(1, "refused")], step_end=2
    )

    assert measured == {
        "reconnect_attempts": 1,
        "reconnect_intervals_s": [0.0],
        "refused_for_s": 0,
    }
    assert findings == (
        Finding(
            "fail",
            "The charger did not reconnect after the portal accepted connections again at "
            "10:00:00 (1 refused attempts while it was refused)",
        ),
    )


@pytest.mark.parametrize(
    ("step_end", "failed"), [(None, True), (14, False), (15, False), (16, True)]
)
def test_a_charger_not_back_fails_only_when_the_step_outlasted_the_refusal(
    step_end: float | None, failed: bool
) -> None:
    measured, findings = backoff([disconnect()], [event(0, "closed")], step_end=step_end)

    assert measured == {"reconnect_attempts": 0, "reconnect_intervals_s": [], "refused_for_s": 15.0}
    assert [f.severity for f in findings] == (["fail"] if failed else [])


def queued(wire: Wire, sampled: list[float], transaction_id: int | None = 42) -> list[Frame]:
    """MeterValues sampled at START + each of `sampled` seconds, sent now."""
    frames = []
    for offset in sampled:
        payload: dict[str, Any] = {
            "connectorId": 1,
            "meterValue": [{"timestamp": at(offset).isoformat(), "sampledValue": [{"value": "1"}]}],
        }
        if transaction_id is not None:
            payload["transactionId"] = transaction_id
        frames.append(wire.call_in("MeterValues", payload))
    return frames


@pytest.mark.parametrize(
    ("sampled", "off"),
    [
        ([0, 9, 14], []),
        ([0, 9, 19], ["10 s"]),
        ([0, 1, 10.5], ["9.5 s"]),
        ([0, 0.5, 10.5], ["0.5 s", "10 s"]),
    ],
)
def test_queued_samples_off_the_interval_beyond_the_tolerance_are_named(
    sampled: list[float], off: list[str]
) -> None:
    """MeterValueSampleInterval 5, tolerance 4: gaps of 1 s and 9 s are within, 0.5 s,
    9.5 s and 10 s are not."""
    wire = Wire()
    frames = queued(wire, sampled)
    findings = Findings()

    measured = replay_checks(frames, 42, START, at(20), 5, 4.0, findings)

    assert measured["queued_sample_intervals_s"] == [float(b - a) for a, b in pairwise(sampled)]
    assert findings.items == (
        (
            Finding(
                "minor",
                f"Queued MeterValues were sampled {', '.join(off)} apart where "
                "MeterValueSampleInterval is 5 s (tolerance 4 s)",
                tuple(f.id or 0 for f in frames),
            ),
        )
        if off
        else ()
    )


def test_without_a_sample_interval_the_gaps_are_only_measured() -> None:
    wire = Wire()
    frames = queued(wire, [0, 1])
    findings = Findings()

    replay_checks(frames, 42, START, at(20), None, 4.0, findings)

    assert findings.items == ()


@pytest.mark.parametrize(("last", "stamped_late"), [(20, False), (21, True)])
def test_a_value_stamped_after_the_reconnect_was_stamped_when_sent(
    last: float, stamped_late: bool
) -> None:
    wire = Wire()
    frames = queued(wire, [5, last])
    findings = Findings()

    replay_checks(frames, 42, START, at(20), None, 4.0, findings)

    assert findings.items == (
        (
            Finding(
                "fail",
                "Queued MeterValues are stamped after the reconnect: the charger stamped them "
                "when it sent them, not when it sampled them",
                tuple(f.id or 0 for f in frames),
            ),
        )
        if stamped_late
        else ()
    )


def test_a_queued_value_without_a_transaction_id_is_minor_and_named() -> None:
    wire = Wire()
    frames = queued(wire, [5], transaction_id=None)
    findings = Findings()

    replay_checks(frames, 42, START, at(20), None, 4.0, findings)

    assert findings.items == (
        Finding(
            "minor",
            "Queued MeterValues without a transactionId; the session's is 42",
            (frames[0].id or 0,),
        ),
    )


def refused(wire: Wire, action: str, payload: dict[str, Any]) -> tuple[Frame, Frame]:
    call = wire.call_in(action, payload)
    return call, wire.error_out(call, "InternalError")


def accepted(wire: Wire, action: str, payload: dict[str, Any]) -> tuple[Frame, Frame]:
    call = wire.call_in(action, payload)
    return call, wire.result_out(call, {})


def meter_values(connector: int, transaction_id: int, *offsets: float) -> dict[str, Any]:
    return {
        "connectorId": connector,
        "transactionId": transaction_id,
        "meterValue": [
            {"timestamp": stamp(at(o)), "sampledValue": [{"value": "1"}]} for o in offsets
        ],
    }


def test_a_resend_is_the_same_message_and_nothing_else_is() -> None:
    """A resent MeterValues has the same connector, transaction and first sample time; a
    resent Start/StopTransaction the same transactionId, connector, timestamp and idTag."""
    wire = Wire()
    wire.heartbeat()
    start = {"connectorId": 1, "idTag": "CARD-1", "meterStart": 0, "timestamp": stamp(at(0))}
    stop = {"transactionId": 42, "meterStop": 5, "timestamp": stamp(at(9)), "idTag": "CARD-1"}
    values = meter_values(1, 42, 5, 6)
    first_start = refused(wire, "StartTransaction", start)
    first_values = refused(wire, "MeterValues", values)
    first_stop = refused(wire, "StopTransaction", stop)
    wire.wait(10)
    accepted(wire, "StartTransaction", {**start, "idTag": "CARD-2"})
    accepted(wire, "StartTransaction", {**start, "connectorId": 2})
    resent_start = accepted(wire, "StartTransaction", start)
    accepted(wire, "MeterValues", meter_values(2, 42, 5, 6))
    accepted(wire, "MeterValues", meter_values(1, 43, 5, 6))
    accepted(wire, "MeterValues", meter_values(1, 42, 6, 5))
    resent_values = accepted(wire, "MeterValues", meter_values(1, 42, 5, 7))
    accepted(wire, "StopTransaction", {**stop, "transactionId": 43})
    accepted(wire, "StopTransaction", {**stop, "timestamp": stamp(at(8))})
    resent_stop = accepted(wire, "StopTransaction", stop)
    wire.heartbeat()

    assert retry_chains(wire.frames) == [
        [first_start, resent_start],
        [first_values, resent_values],
        [first_stop, resent_stop],
    ]
