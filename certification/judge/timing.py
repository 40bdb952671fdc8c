"""Timing the portal measures around the faults it injects: the charger's reconnect back-off
while it is refused, the replay of its queued messages, and its retries of transaction
messages answered with a CALLERROR. Every comparison uses the run's timing tolerance
(outcome.timing_tolerance). Pure functions over frames, connection events and faults.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from certification.judge.outcome import (
    Findings,
    int_param,
    known_setting,
    step_rule,
    timing_tolerance,
)
from certification.judge.sequence import (
    as_int,
    format_seconds,
    parse_timestamp,
    payload_of,
    reply_to,
)
from certification.judge.types import (
    CALL,
    CALLERROR,
    CALLRESULT,
    ConnectionEvent,
    Frame,
    InjectedFault,
    Judgement,
    StepContext,
)

# OCPP 1.6 "Transaction-related messages": StartTransaction, StopTransaction and the
# MeterValues of a transaction.
TRANSACTION_MESSAGES = ("StartTransaction", "StopTransaction", "MeterValues")


def _seconds(earlier: datetime, later: datetime) -> float:
    return round((later - earlier).total_seconds(), 3)


# --- Reconnect back-off ----------------------------------------------------------------------


def reconnect_backoff(
    faults: Sequence[InjectedFault],
    events: Sequence[ConnectionEvent],
    findings: Findings,
    step_end: datetime | None = None,
) -> dict[str, Any]:
    """The charger's attempts to reconnect after each injected disconnect: the refused
    attempts while the window was open, the intervals between attempts (from the close),
    and how long after the window it was back.

    OCPP 1.6 leaves the back-off to the charger; what is required is that it comes back: a
    charger that never reconnects after the portal accepts it again fails.
    Measures: reconnect_attempts, reconnect_intervals_s, refused_for_s, back_after_refusal_s.
    """
    measurements: dict[str, Any] = {}
    for fault in faults:
        if fault.kind != "disconnect":
            continue
        window_end = fault.started_at + timedelta(seconds=fault.seconds or 0)
        if fault.ended_at is not None:
            window_end = min(window_end, fault.ended_at)
        closed = next(
            (e for e in events if e.kind in ("closed", "replaced") and e.at >= fault.started_at),
            None,
        )
        since = closed.at if closed is not None else fault.started_at
        refused = [e for e in events if e.kind == "refused" and since <= e.at <= window_end]
        back = next((e for e in events if e.kind == "connected" and e.at > since), None)
        attempts = [e.at for e in refused] + ([back.at] if back is not None else [])
        intervals = [_seconds(a, b) for a, b in pairwise([since, *attempts])]
        measurements.update(
            reconnect_attempts=len(attempts),
            reconnect_intervals_s=intervals,
            refused_for_s=round(fault.seconds or 0, 3),
        )
        if back is None:
            if step_end is None or step_end > window_end:
                findings.fail(
                    f"The charger did not reconnect after the portal accepted connections "
                    f"again at {window_end:%H:%M:%S} ({len(refused)} refused attempts while "
                    "it was refused)"
                )
            continue
        measurements["back_after_refusal_s"] = max(0.0, _seconds(window_end, back.at))
        if intervals:
            findings.info(
                f"Reconnect attempts after the injected disconnect: {len(attempts)}, at "
                f"intervals of {', '.join(format_seconds(i) for i in intervals)}; back "
                f"{format_seconds(measurements['back_after_refusal_s'])} after the refusal ended"
            )
    return measurements


# --- Replay of queued messages ---------------------------------------------------------------


def replay_checks(
    queued: Sequence[Frame],
    transaction_id: int | None,
    lost_at: datetime,
    back_at: datetime,
    sample_interval: int | None,
    tolerance: float,
    findings: Findings,
) -> dict[str, Any]:
    """The MeterValues a charger queued while offline and replayed after the reconnect
    (in the order they arrived): each carries the session's transactionId and a timestamp
    of when it was sampled, within the session before the reconnect, and consecutive
    periodic samples are MeterValueSampleInterval apart (within the tolerance).

    OCPP 1.6 §4.7: MeterValues.req "transactionId: Optional. The transaction to which these
    meter samples are related" - a sample of a running transaction that lacks it cannot be
    attributed (minor); another transaction's id is a fail. The queue keeps the time of
    sampling, so a value stamped when it was sent is not a queued value at all.
    Measures: queued_sample_times, queued_sample_intervals_s.
    """
    times: list[datetime] = []
    for frame in queued:
        payload = payload_of(frame)
        found = as_int(payload.get("transactionId"))
        if found is None and transaction_id is not None:
            findings.minor(
                f"Queued MeterValues without a transactionId; the session's is {transaction_id}",
                frame,
            )
        elif transaction_id is not None and found != transaction_id:
            findings.fail(
                f"Queued MeterValues carry transactionId {found} where the session's "
                f"transaction is {transaction_id}",
                frame,
            )
        stamps = [
            parse_timestamp(value.get("timestamp"))
            for value in payload.get("meterValue") or []
            if isinstance(value, dict)
        ]
        known = [t for t in stamps if t is not None]
        if known:
            times.append(min(known))
    gaps = [_seconds(a, b) for a, b in pairwise(times)]
    measurements: dict[str, Any] = {
        "queued_sample_times": [t.isoformat() for t in times],
        "queued_sample_intervals_s": gaps,
    }
    # The sampling interval in sampling order: a replay out of order is its own finding
    # (sessions._check_catch_up), not also an interval of minus so many seconds.
    sampled_gaps = [_seconds(a, b) for a, b in pairwise(sorted(times))]
    if sample_interval and sampled_gaps:
        off = [g for g in sampled_gaps if abs(g - sample_interval) > tolerance]
        if off:
            findings.minor(
                f"Queued MeterValues were sampled {', '.join(format_seconds(g) for g in off)} "
                f"apart where MeterValueSampleInterval is {sample_interval} s (tolerance "
                f"{format_seconds(tolerance)})",
                *queued,
            )
    early = [t for t in times if t > back_at]
    if early:
        findings.fail(
            "Queued MeterValues are stamped after the reconnect: the charger stamped them when "
            "it sent them, not when it sampled them",
            *queued,
        )
    return measurements


# --- Retries of transaction messages ---------------------------------------------------------


def _identity(frame: Frame) -> tuple[Any, ...]:
    """What makes a resent transaction message the same message (its unique id changes).
    Fields of another JSON type than a scalar (a charger's malformed payload) are compared as
    their JSON text, so the identity is always hashable."""
    payload = payload_of(frame)
    if frame.action == "MeterValues":
        values = payload.get("meterValue") or []
        first = values[0].get("timestamp") if values and isinstance(values[0], dict) else None
        fields: tuple[Any, ...] = (
            payload.get("connectorId"),
            payload.get("transactionId"),
            first,
        )
    else:
        fields = tuple(
            payload.get(name) for name in ("transactionId", "connectorId", "timestamp", "idTag")
        )
    return (frame.action, *(_scalar(value) for value in fields))


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def retry_chains(frames: Sequence[Frame]) -> list[list[tuple[Frame, Frame | None]]]:
    """Each transaction message the portal answered with a CALLERROR, with its resends in
    order: [(call, its answer), ...], the first call first."""
    chains: dict[tuple[Any, ...], list[tuple[Frame, Frame | None]]] = {}
    for frame in frames:
        if frame.direction != "in" or frame.message_type != CALL:
            continue
        if frame.action not in TRANSACTION_MESSAGES:
            continue
        answer = reply_to(frames, frame)
        key = _identity(frame)
        if key in chains:
            chains[key].append((frame, answer))
        elif answer is not None and answer.message_type == CALLERROR:
            chains[key] = [(frame, answer)]
    return list(chains.values())


@step_rule("transaction message received")
def transaction_message_retry(context: StepContext) -> Judgement:
    """A transaction message the portal answers with a CALLERROR (an injected fault) is
    resent as the charger's configuration says.

    OCPP 1.6 edition 2, §3.7 (Transaction-related messages), on error responses to them
    (checked against the specification's text):

        "When the Charge Point encounters a first failure to deliver a certain
        transaction-related message, it SHOULD send this message again as long as it keeps
        resulting in a failure to process the message and it has not yet encountered as
        many failures to process the message for this message as specified in its
        TransactionMessageAttempts configuration key. Before every retransmission, it
        SHOULD wait as many seconds as specified in its TransactionMessageRetryInterval
        key, multiplied by the number of preceding transmissions of this same message.
        As an example, consider a Charge Point that has the value "3" for the
        TransactionMessageAttempts configuration key and the value "60" for the
        TransactionMessageRetryInterval configuration key. It sends a StopTransaction
        message and detects a failure to process the message in the Central System. The
        Charge Point SHALL wait for 60 seconds, and resend the message. In the case when
        there is a second failure, the Charge Point SHALL wait for 120 seconds, before
        resending the message. If this final attempt fails, the Charge Point SHOULD discard
        the message and continue with the next transaction-related message, if there is
        any."

    §9.1 (Core Profile keys): TransactionMessageAttempts (integer, times) "How often the
    Charge Point should try to submit a transaction-related message when the Central System
    fails to process it"; TransactionMessageRetryInterval (integer, seconds) "How long the
    Charge Point should wait before resubmitting a transaction-related message that the
    Central System failed to process". Transaction-related messages are StartTransaction,
    StopTransaction and the MeterValues of a transaction.

    So with N = TransactionMessageAttempts and I = TransactionMessageRetryInterval, a message
    refused every time is transmitted N times, retry k coming I x k seconds after the
    previous transmission; one accepted earlier stops there. Fails: never resent (N > 1),
    more than N transmissions, given up before N without being accepted, a retry whose gap
    is further than the run's timing tolerance from I x k (at the tolerance passes).

    Params: `attempts`, `retry_interval_s` (default: TransactionMessageAttempts and
    TransactionMessageRetryInterval set, read or accepted in the run); `tolerance_s`.
    Measures: per message, transmissions, accepted_at_transmission, retry_intervals_s and
    expected_retry_intervals_s (seconds, ms resolution).
    """
    findings = Findings()
    tolerance = timing_tolerance(context)
    attempts = int_param(context, "attempts", None)
    if attempts is None:
        attempts = as_int(known_setting(context, "TransactionMessageAttempts"))
    interval = int_param(context, "retry_interval_s", None)
    if interval is None:
        interval = as_int(known_setting(context, "TransactionMessageRetryInterval"))
    chains = retry_chains(context.frames)
    measurements: dict[str, Any] = {
        "transaction_message_attempts": attempts,
        "transaction_message_retry_interval_s": interval,
        "tolerance_s": tolerance,
        "messages": [],
    }
    if not chains:
        findings.fail(
            "No transaction message was answered with a CALLERROR in the step: inject a "
            "call_error fault on StopTransaction (or StartTransaction, MeterValues) first"
        )
        return findings.judgement(measurements)
    for chain in chains:
        calls = [call for call, _ in chain]
        first = calls[0]
        accepted = next(
            (
                n
                for n, (_, answer) in enumerate(chain, 1)
                if answer and answer.message_type == CALLRESULT
            ),
            None,
        )
        gaps = [_seconds(a.at, b.at) for a, b in pairwise(calls)]
        expected = [float(interval * n) for n in range(1, len(calls))] if interval else []
        measurements["messages"].append(
            {
                "action": first.action,
                "transmissions": len(calls),
                "accepted_at_transmission": accepted,
                "retry_intervals_s": gaps,
                "expected_retry_intervals_s": expected,
            }
        )
        label = f"{first.action} (transactionId {payload_of(first).get('transactionId')})"
        if len(calls) == 1 and (attempts is None or attempts > 1):
            findings.fail(f"{label} answered with a CALLERROR was never resent", first)
            continue
        if attempts is not None and len(calls) > attempts:
            findings.fail(
                f"{label} was sent {len(calls)} times where TransactionMessageAttempts is "
                f"{attempts}",
                *calls,
            )
        elif attempts is not None and accepted is None and len(calls) < attempts:
            findings.fail(
                f"{label} was sent {len(calls)} times and given up while "
                f"TransactionMessageAttempts is {attempts}",
                *calls,
            )
        for n, (gap, want) in enumerate(zip(gaps, expected, strict=False), start=1):
            if abs(gap - want) > tolerance:
                findings.fail(
                    f"{label}: retry {n} came {format_seconds(gap)} after the previous "
                    f"transmission where TransactionMessageRetryInterval x {n} = "
                    f"{format_seconds(want)} (tolerance {format_seconds(tolerance)})",
                    calls[n - 1],
                    calls[n],
                )
    return findings.judgement(measurements)
