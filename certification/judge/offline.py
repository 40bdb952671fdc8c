"""The full plan's offline Core cases: a transaction started and stopped while the charger
was offline and replayed after the reconnect, and a transaction whose idTag the portal
answers Invalid in StartTransaction.conf (StopTransactionOnInvalidId).

A transaction "started offline" is one whose StartTransaction.req arrived after the
charger's reconnect but carries a timestamp before it: had it started online, it would have
been sent at once. The start of the offline period (a closed connection event, else the
longest silence) is not used for this: the portal notices a lost connection later than the
charger does, and a charger may start a transaction in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certification.judge.outcome import Findings, float_param, known_setting, step_rule
from certification.judge.sequence import (
    Exchange,
    as_int,
    calls,
    charger_call,
    exchanges,
    first,
    format_seconds,
    is_after,
    is_call,
    parse_timestamp,
    payload_of,
    same_setting,
    seconds_between,
)
from certification.judge.sessions import check_start, find_gap, id_tag_status
from certification.judge.types import Frame, Judgement, StepContext

# With no connection event recorded, a silence this long (in seconds) is the offline period.
DEFAULT_MIN_GAP_S = 10.0


@dataclass(frozen=True)
class OfflinePeriod:
    """When the charger lost its connection, and when it was back (both aware UTC)."""

    lost_at: datetime
    back_at: datetime

    @property
    def seconds(self) -> float:
        return round((self.back_at - self.lost_at).total_seconds(), 3)

    def contains(self, frame: Frame) -> bool:
        """Whether a StartTransaction or StopTransaction happened offline: delivered after
        the reconnect, with a timestamp before it."""
        at = parse_timestamp(payload_of(frame).get("timestamp"))
        return at is not None and at < self.back_at <= frame.at


def offline_period(
    context: StepContext, findings: Findings, after: Frame | None = None
) -> OfflinePeriod | None:
    """The step's connection loss after `after` (its first frame when None), or a fail.

    Params: `min_gap_s`, the silence that counts as a connection loss when no closed
    connection event was recorded (default 10 s).
    """
    frames = context.frames
    start = after or frames[0]
    min_gap = float_param(context, "min_gap_s", DEFAULT_MIN_GAP_S) or DEFAULT_MIN_GAP_S
    gap = find_gap(frames, context.events, start, min_gap)
    if gap is None:
        findings.fail(
            "No connection loss in the evidence: no closed connection and no silence of "
            f"{format_seconds(min_gap)} or more, so nothing happened offline"
        )
        return None
    return OfflinePeriod(*gap)


def started_offline(frames: Sequence[Frame], period: OfflinePeriod) -> list[Exchange]:
    """The StartTransaction exchanges of transactions started in the offline period."""
    return [
        start
        for start in exchanges(frames, "StartTransaction", "in")
        if period.contains(start.call)
    ]


def stop_of(frames: Sequence[Frame], transaction_id: int | None) -> Frame | None:
    """The StopTransaction.req of a transaction, by its transactionId."""
    return first(
        frames,
        lambda f: (
            is_call(f, "StopTransaction", "in")
            and as_int(payload_of(f).get("transactionId")) == transaction_id
        ),
    )


@step_rule("StartTransaction received")
def offline_transaction(context: StepContext) -> Judgement:
    """Core: a transaction started and stopped while offline, replayed in order (TC_039).

    [connection lost] -> [card presented, cable in: the transaction starts offline] -> [card
    presented again, cable out: it stops offline] -> [connection restored] ->
    StartTransaction (timestamp in the offline period) -> StartTransaction.conf Accepted with
    a transactionId -> the queued MeterValues -> StopTransaction (timestamp in the offline
    period) with that transactionId and reason Local or omitted.

    OCPP 1.6 §3.5 (Local Authorization & Offline Behavior): "In the event of unavailability
    of the communications or even of the Central System, the Charge Point is designed to
    operate stand-alone"; StartTransaction, StopTransaction and periodic MeterValues are
    transaction-related messages, which the Charge Point "SHOULD deliver ... to the Central
    System in chronological order as soon as possible". §4.10 (Stop Transaction), the
    StopTransaction.req fields: transactionId "contains the transaction-id as received by
    the StartTransaction.conf"; reason "MAY only be omitted when the Reason is 'Local'".

    Params: `min_gap_s` (see offline_period).
    Measures: offline_s, transaction_id, id_tag, started_at, stopped_at, queued_meter_values.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    period = offline_period(context, findings)
    if period is None:
        return findings.judgement(measurements)
    measurements["offline_s"] = period.seconds
    starts = started_offline(frames, period)
    if not starts:
        later = first(frames, charger_call("StartTransaction"))
        findings.fail(
            "No StartTransaction of a transaction started while the charger was offline "
            f"(delivered after the reconnect at {period.back_at:%H:%M:%S}, with a timestamp "
            "before it)",
            later,
        )
        return findings.judgement(measurements)
    start = starts[0]
    transaction_id = check_start(findings, start)
    measurements.update(
        transaction_id=transaction_id,
        id_tag=start.request.get("idTag"),
        started_at=start.request.get("timestamp"),
    )
    stop = stop_of(frames, transaction_id)
    if stop is None:
        strays = [f for f in calls(frames, "StopTransaction") if period.contains(f)]
        if strays:
            findings.fail(
                f"StopTransaction of the transaction stopped offline carries transactionId "
                f"{payload_of(strays[0]).get('transactionId')}, where StartTransaction.conf "
                f"gave {transaction_id}: the Central System cannot close the transaction",
                strays[0],
                *start.frames,
            )
        else:
            findings.fail(
                f"No StopTransaction for transaction {transaction_id}, started offline",
                *start.frames,
            )
        return findings.judgement(measurements)
    measurements["stopped_at"] = payload_of(stop).get("timestamp")
    measurements["queued_meter_values"] = len(
        [
            f
            for f in calls(frames, "MeterValues")
            if as_int(payload_of(f).get("transactionId")) == transaction_id
        ]
    )
    if not is_after(stop, start.last):
        findings.fail(
            f"StopTransaction of transaction {transaction_id} arrived before its "
            "StartTransaction was answered: queued messages go in chronological order",
            stop,
            *start.frames,
        )
    if not period.contains(stop):
        findings.fail(
            f"Transaction {transaction_id} was stopped at {payload_of(stop).get('timestamp')}, "
            "after the reconnect: the step needs the stop while offline",
            stop,
        )
    reason = payload_of(stop).get("reason")
    if reason not in (None, "Local"):
        findings.fail(
            f"StopTransaction reason {reason} for a card presented at the charger; Local "
            "(or omitted) was expected",
            stop,
        )
    return findings.judgement(measurements)


@step_rule("StartTransaction received")
def stop_transaction_on_invalid_id(context: StepContext) -> Judgement:
    """Core: StopTransactionOnInvalidId (TC_037_3; TC_037_2 when the key is false).

    [StopTransactionOnInvalidId true; a transaction started offline with a card the portal
    does not accept] -> [connection restored] -> StartTransaction -> StartTransaction.conf
    with idTagInfo.status Invalid -> StopTransaction of that transactionId with reason
    DeAuthorized. With the key false, the transaction is not stopped DeAuthorized.

    OCPP 1.6 §3.5.3 (Unknown Offline Authorization): "When the authorization status in the
    StartTransaction.conf is not Accepted, and the transaction is still ongoing, the Charge
    Point SHOULD: when StopTransactionOnInvalidId is set to true: stop the transaction
    normally as stated in Stop Transaction. The Reason field in the Stop Transaction request
    should be set to DeAuthorized ... when StopTransactionOnInvalidId is set to false: only
    stop energy delivery to the vehicle." The Reason type: "DeAuthorized: The transaction was
    stopped because of the authorization status in a StartTransaction.conf". The OCTT fails a
    charger that does not stop, so the rule does too.

    Measures: transaction_id, id_tag_status, stop_transaction_on_invalid_id, stopped_after_s.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    refused = [
        start
        for start in exchanges(frames, "StartTransaction", "in")
        if id_tag_status(start) not in (None, "Accepted")
    ]
    if not refused:
        findings.fail(
            "No StartTransaction was answered with an idTag status other than Accepted: the "
            "charger was never told its transaction is not authorized"
        )
        return findings.judgement(measurements)
    start = refused[0]
    transaction_id = as_int(start.response.get("transactionId"))
    setting = known_setting(context, "StopTransactionOnInvalidId", before=start.call)
    stops = setting is None or same_setting(setting, "true")
    measurements.update(
        transaction_id=transaction_id,
        id_tag_status=id_tag_status(start),
        stop_transaction_on_invalid_id=stops,
    )
    if setting is None:
        findings.info(
            "StopTransactionOnInvalidId was neither set nor read before the start: taken as "
            "true, as the step sets it"
        )
    stop = stop_of([f for f in frames if is_after(f, start.last)], transaction_id)
    reason = payload_of(stop).get("reason") if stop is not None else None
    what = f"transaction {transaction_id}, whose idTag was answered {id_tag_status(start)}"
    if stop is not None:
        measurements["stopped_after_s"] = seconds_between(start.last, stop)
    if stops and stop is None:
        findings.fail(
            f"No StopTransaction for {what}: with StopTransactionOnInvalidId true the charger "
            "stops it with reason DeAuthorized",
            *start.frames,
        )
    elif stops and reason != "DeAuthorized" and _stopped_before(stop, start.last):
        # §3.5.3 applies "while the transaction is still ongoing": this one had ended before
        # the charger learnt the answer, so the step did not exercise the key.
        findings.fail(
            f"Transaction {transaction_id} was stopped (reason {reason or 'omitted (Local)'}) "
            f"at {payload_of(stop).get('timestamp')}, before the StartTransaction.conf "
            f"answering {id_tag_status(start)} reached the charger: not the charger's fault, "
            "but the evidence does not show StopTransactionOnInvalidId at work; repeat the "
            "step with the session still running when the connection comes back",
            stop,
        )
    elif stops and reason != "DeAuthorized":
        findings.fail(
            f"StopTransaction for {what} gives reason {reason or 'omitted (Local)'} where "
            "DeAuthorized was expected",
            stop,
        )
    elif not stops and reason == "DeAuthorized":
        findings.fail(
            f"The charger stopped {what} DeAuthorized although StopTransactionOnInvalidId is "
            "false: it only stops the energy delivery",
            stop,
        )
    return findings.judgement(measurements)


def _stopped_before(stop: Frame | None, answer: Frame | None) -> bool:
    """The StopTransaction's own timestamp is before `answer` was sent: the transaction had
    ended before the charger could know the answer."""
    stopped_at = parse_timestamp(payload_of(stop).get("timestamp"))
    return answer is not None and stopped_at is not None and stopped_at < answer.at
