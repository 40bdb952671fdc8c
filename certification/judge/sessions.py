"""Steps 6, 7, 8 and 13: charging sessions started locally, with a card at the charger."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from certification.judge.outcome import Findings, float_param, int_param, step_rule
from certification.judge.sequence import (
    Exchange,
    Expect,
    as_int,
    between,
    calls,
    charger_call,
    configured_value,
    connector_of,
    exchange_of,
    first,
    format_seconds,
    is_after,
    match_in_order,
    parse_timestamp,
    payload_of,
    seconds_between,
    status_is,
)
from certification.judge.types import ConnectionEvent, Frame, Judgement, StepContext

# Helpers shared with the remote sessions -------------------------------------------------


def id_tag_status(exchange: Exchange | None) -> str | None:
    """idTagInfo.status of an Authorize, StartTransaction or StopTransaction reply."""
    if exchange is None:
        return None
    info = exchange.response.get("idTagInfo")
    status = info.get("status") if isinstance(info, dict) else None
    return status if isinstance(status, str) else None


def session_connector(frames: Sequence[Frame], *hints: Frame | None) -> int | None:
    """The connector the session runs on: the first hint that names one, else any session."""
    for hint in hints:
        connector = connector_of(hint)
        if connector:
            return connector
    start = first(frames, charger_call("StartTransaction"))
    return connector_of(start) or None


def on_connector(status: str, connector: int | None) -> Expect:
    return Expect(f"StatusNotification {status}", status_is(status, connector))


def check_authorize(
    findings: Findings, authorize: Exchange | None, expected: str = "Accepted"
) -> str | None:
    """The portal's answer to Authorize; a session step needs a card the portal accepts."""
    if authorize is None:
        return None
    status = id_tag_status(authorize)
    id_tag = authorize.request.get("idTag")
    if status != expected:
        findings.fail(
            f"Authorize for idTag {id_tag} answered {status or authorize.answer} where "
            f"{expected} was expected",
            *authorize.frames,
        )
    return str(id_tag) if id_tag is not None else None


def check_start(
    findings: Findings,
    start: Exchange | None,
    id_tag: str | None = None,
    connector: int | None = None,
) -> int | None:
    """StartTransaction must be for the presented card, and its reply must open the session.

    Returns the transactionId the portal assigned.
    """
    if start is None:
        return None
    started_tag = start.request.get("idTag")
    if id_tag is not None and started_tag != id_tag:
        findings.fail(
            f"StartTransaction carries idTag {started_tag} where {id_tag} was expected",
            start.call,
        )
    started_on = as_int(start.request.get("connectorId"))
    if connector and started_on != connector:
        findings.fail(
            f"StartTransaction on connector {started_on} where connector {connector} was expected",
            start.call,
        )
    transaction_id = as_int(start.response.get("transactionId"))
    if start.reply is None or start.is_error:
        findings.fail(f"StartTransaction got {start.answer} from the portal", *start.frames)
    elif transaction_id is None:
        findings.fail("StartTransaction reply carries no transactionId", *start.frames)
    elif id_tag_status(start) != "Accepted":
        findings.fail(
            f"StartTransaction for idTag {started_tag} answered {id_tag_status(start)} "
            "where Accepted was expected",
            *start.frames,
        )
    return transaction_id


def check_stop(
    findings: Findings,
    stop: Frame | None,
    transaction_id: int | None,
    reasons: Collection[str | None] | None,
) -> None:
    """StopTransaction must close the started transaction, for the reason the step causes.

    `reasons` None accepts any reason; None inside it accepts an omitted reason (Local).
    """
    if stop is None:
        return
    payload = payload_of(stop)
    stopped = as_int(payload.get("transactionId"))
    if transaction_id is not None and stopped != transaction_id:
        findings.fail(
            f"StopTransaction for transaction {stopped} where transaction {transaction_id} "
            "was started",
            stop,
        )
    reason = payload.get("reason")
    if reasons is not None and reason not in reasons:
        expected = " or ".join(r or "omitted" for r in reasons)
        findings.fail(
            f"StopTransaction reason {reason or 'omitted (Local)'} where {expected} was expected",
            stop,
        )


def _describe(frame: Frame) -> str:
    if frame.action == "StatusNotification":
        return f"StatusNotification {payload_of(frame).get('status')}"
    return str(frame.action)


def session_measurements(
    frames: Sequence[Frame], start: Exchange | None, stop: Frame | None
) -> dict[str, Any]:
    measurements: dict[str, Any] = {}
    if start is not None:
        measurements["transaction_id"] = as_int(start.response.get("transactionId"))
        measurements["connector_id"] = as_int(start.request.get("connectorId"))
        measurements["id_tag"] = start.request.get("idTag")
    if start is not None and stop is not None:
        measurements["charging_s"] = seconds_between(start.call, stop)
        meter_start = as_int(start.request.get("meterStart"))
        meter_stop = as_int(payload_of(stop).get("meterStop"))
        if meter_start is not None and meter_stop is not None:
            measurements["energy_wh"] = meter_stop - meter_start
        measurements["meter_values"] = len(calls(between(frames, start.call, stop), "MeterValues"))
    return measurements


# Step 6 ------------------------------------------------------------------------------------


@step_rule("StatusNotification Preparing received")
def local_plugin_first(context: StepContext) -> Judgement:
    """Step 6, Charging Session - Local - Plugin first (TC_003, TC_068).

    [plug in] -> SN Preparing -> Authorize (Accepted) -> StartTransaction and SN Charging in
    either order -> MeterValues -> StopTransaction (reason Local or omitted) and SN Finishing
    in either order -> [unplug] -> SN Available. No MeterValues during the session is minor:
    a short session may end before the first sample.

    Measures: connector, idTag, transactionId, charging time, energy, MeterValues count and
    the time from Finishing to Available.
    """
    frames, findings = context.frames, Findings()
    connector = session_connector(frames, first(frames, status_is("Preparing")))
    match = match_in_order(
        frames,
        [
            on_connector("Preparing", connector),
            Expect("Authorize", charger_call("Authorize")),
            (
                Expect("StartTransaction", charger_call("StartTransaction")),
                on_connector("Charging", connector),
            ),
            (
                Expect("StopTransaction", charger_call("StopTransaction")),
                on_connector("Finishing", connector),
            ),
            on_connector("Available", connector),
        ],
    )
    findings.report_sequence(match)
    id_tag = check_authorize(findings, exchange_of(frames, match.get("Authorize")))
    start = exchange_of(frames, match.get("StartTransaction"))
    stop = match.get("StopTransaction")
    transaction_id = check_start(findings, start, id_tag, connector)
    check_stop(findings, stop, transaction_id, ("Local", None))
    measurements = session_measurements(frames, start, stop)
    if start is not None and stop is not None and not measurements.get("meter_values"):
        findings.minor("No MeterValues received during the transaction", start.call, stop)
    finishing, available = (
        match.get("StatusNotification Finishing"),
        match.get("StatusNotification Available"),
    )
    if finishing is not None and available is not None:
        measurements["finishing_to_available_s"] = seconds_between(finishing, available)
    return findings.judgement(measurements)


# Step 7 ------------------------------------------------------------------------------------


def sample_time(frame: Frame) -> datetime | None:
    """When a MeterValues message was sampled: its earliest meterValue timestamp."""
    times = [
        parse_timestamp(value.get("timestamp"))
        for value in payload_of(frame).get("meterValue") or []
        if isinstance(value, dict)
    ]
    known = [time for time in times if time is not None]
    return min(known) if known else None


def find_gap(
    frames: Sequence[Frame],
    events: Sequence[ConnectionEvent],
    after: Frame,
    min_gap_s: float,
) -> tuple[datetime, datetime] | None:
    """The connection loss after `after`: a closed connection, else a long silence.

    Returns when the gap started and when the charger was back (its first frame after it).
    """
    for event in events:
        if event.kind in ("closed", "replaced") and event.at >= after.at:
            back = next((f for f in frames if f.direction == "in" and f.at > event.at), None)
            if back is not None:
                return event.at, back.at
    later = [frame for frame in frames if is_after(frame, after)]
    longest: tuple[datetime, datetime] | None = None
    for previous, frame in zip([after, *later], later, strict=False):
        if longest is None or frame.at - previous.at > longest[1] - longest[0]:
            longest = (previous.at, frame.at)
    if longest is not None and (longest[1] - longest[0]).total_seconds() >= min_gap_s:
        return longest
    return None


@step_rule("Authorize received")
def local_id_first_connection_loss(context: StepContext) -> Judgement:
    """Step 7, Local - Identification first - Connection Loss (TC_004_1, TC_036, TC_038).

    Authorize -> SN Preparing -> StartTransaction and SN Charging -> the connection is lost
    (a closed connection event, or no frame for `min_gap_s`) -> after the reconnect the queued
    MeterValues (sampled before the reconnect) arrive in chronological order of their
    timestamps and before any new ones, and a StopTransaction of a session stopped offline
    comes after the queued values sampled before it.

    Params: `min_gap_s`, the silence that counts as a connection loss when no closed event
    was recorded (default 3 sample intervals when MeterValueSampleInterval is in the step,
    else 60 s).
    Measures: gap_s, queued_meter_values, new_meter_values, stopped_offline.
    """
    frames, findings = context.frames, Findings()
    match = match_in_order(
        frames,
        [
            Expect("Authorize", charger_call("Authorize")),
            Expect("StatusNotification Preparing", status_is("Preparing")),
            (
                Expect("StartTransaction", charger_call("StartTransaction")),
                Expect("StatusNotification Charging", status_is("Charging")),
            ),
        ],
    )
    findings.report_sequence(match)
    id_tag = check_authorize(findings, exchange_of(frames, match.get("Authorize")))
    start = exchange_of(frames, match.get("StartTransaction"))
    transaction_id = check_start(findings, start, id_tag)
    measurements = session_measurements(frames, start, None)
    if start is None or match.end is None:
        return findings.judgement(measurements)

    sample_interval = as_int(configured_value(frames, "MeterValueSampleInterval")[0])
    default_gap = 3 * sample_interval if sample_interval else 60.0
    min_gap = float_param(context, "min_gap_s", default_gap) or default_gap
    gap = find_gap(frames, context.events, match.end, min_gap)
    if gap is None:
        findings.fail(
            "No connection loss in the evidence: no closed connection after StartTransaction "
            f"and no silence of {format_seconds(min_gap)} or more",
            start.call,
        )
        return findings.judgement(measurements)
    lost_at, back_at = gap
    gap_s = round((back_at - lost_at).total_seconds(), 3)
    measurements.update(
        gap_s=gap_s, connection_lost_at=lost_at.isoformat(), reconnected_at=back_at.isoformat()
    )
    if sample_interval and gap_s < 3 * sample_interval:
        findings.minor(
            f"The connection was lost for {format_seconds(gap_s)}, less than 3 sample "
            f"intervals (3 x {sample_interval} s)"
        )
    _check_catch_up(frames, back_at, transaction_id, findings, measurements)
    return findings.judgement(measurements)


def _check_catch_up(
    frames: Sequence[Frame],
    back_at: datetime,
    transaction_id: int | None,
    findings: Findings,
    measurements: dict[str, Any],
) -> None:
    after = [frame for frame in frames if frame.at >= back_at]
    meter_values = [
        (frame, sample_time(frame)) for frame in calls(after, "MeterValues") if sample_time(frame)
    ]
    queued = [(frame, time) for frame, time in meter_values if time and time < back_at]
    measurements["queued_meter_values"] = len(queued)
    measurements["new_meter_values"] = len(meter_values) - len(queued)
    if not queued:
        findings.fail(
            "No queued MeterValues arrived after the connection was restored; values sampled "
            "during the gap were expected first"
        )
    latest_queued: datetime | None = None
    seen_new: tuple[Frame, datetime] | None = None
    for frame, time in meter_values:
        assert time is not None  # filtered above; keeps mypy sure of it
        if time >= back_at:
            seen_new = seen_new or (frame, time)
            continue
        if seen_new is not None:
            findings.fail(
                f"Queued MeterValues sampled at {time:%H:%M:%S} arrived after new MeterValues "
                f"sampled at {seen_new[1]:%H:%M:%S}; queued values must come first",
                frame,
                seen_new[0],
            )
        if latest_queued is not None and time < latest_queued:
            findings.fail(
                f"Queued MeterValues arrived out of chronological order: sampled at "
                f"{time:%H:%M:%S} after one sampled at {latest_queued:%H:%M:%S}",
                frame,
            )
        latest_queued = max(time, latest_queued or time)

    stop = first(after, charger_call("StopTransaction"))
    measurements["stopped_offline"] = False
    if stop is None:
        return
    check_stop(findings, stop, transaction_id, None)
    stopped_at = parse_timestamp(payload_of(stop).get("timestamp"))
    if stopped_at is None or stopped_at >= back_at:
        return
    measurements["stopped_offline"] = True
    late = [f for f, t in queued if t and t <= stopped_at and is_after(f, stop)]
    if late:
        findings.fail(
            f"{len(late)} queued MeterValues sampled before the offline stop arrived after "
            "StopTransaction; they were expected before it",
            stop,
            *late,
        )


# Step 8 ------------------------------------------------------------------------------------


@step_rule("Authorize received")
def local_id_first_connection_timeout(context: StepContext) -> Judgement:
    """Step 8, Local - Identification first - Connection TimeOut (TC_004_2).

    Authorize (Accepted) -> SN Preparing -> no plug-in -> SN Available after ConnectionTimeOut
    seconds, and no StartTransaction. The measured timeout runs from SN Preparing (OCPP
    starts ConnectionTimeOut there), else from Authorize.

    Params: `configured_timeout_s` (default: the ConnectionTimeOut set by ChangeConfiguration
    or read by GetConfiguration in the step, else None); `tolerance_s` (default 5).
    Measures: connection_timeout_s (measured), configured_timeout_s,
    authorize_to_available_s.
    """
    frames, findings = context.frames, Findings()
    preparing = first(frames, status_is("Preparing"))
    connector = connector_of(preparing)
    match = match_in_order(
        frames,
        [
            Expect("Authorize", charger_call("Authorize")),
            on_connector("Preparing", connector),
            on_connector("Available", connector),
        ],
    )
    findings.report_sequence(match)
    authorize = match.get("Authorize")
    check_authorize(findings, exchange_of(frames, authorize))
    started = first(frames, charger_call("StartTransaction"), after=authorize)
    if started is not None:
        findings.fail(
            "StartTransaction received although no cable was plugged in; the session was "
            "expected to time out",
            started,
        )
    available = match.get("StatusNotification Available")
    measurements: dict[str, Any] = {}
    configured = int_param(context, "configured_timeout_s", None)
    if configured is None:
        configured = as_int(configured_value(frames, "ConnectionTimeOut", before=available)[0])
    measurements["configured_timeout_s"] = configured
    began = match.get("StatusNotification Preparing") or authorize
    if began is None or available is None:
        return findings.judgement(measurements)
    measured = seconds_between(began, available)
    measurements["connection_timeout_s"] = measured
    if authorize is not None:
        measurements["authorize_to_available_s"] = seconds_between(authorize, available)
    tolerance = float_param(context, "tolerance_s", 5.0) or 0.0
    if configured is None:
        findings.info(
            "ConnectionTimeOut is not known for this step; the connector returned to Available "
            f"after {format_seconds(measured)}",
            began,
            available,
        )
    elif abs(measured - configured) > tolerance:
        findings.minor(
            f"ConnectionTimeOut configured as {configured} s but the connector returned to "
            f"Available after {format_seconds(measured)}",
            began,
            available,
        )
    return findings.judgement(measurements)


# Step 13 -----------------------------------------------------------------------------------


def _is_session_start(frame: Frame) -> bool:
    return charger_call("StartTransaction")(frame) or status_is("Charging")(frame)


@step_rule("StatusNotification Preparing received")
def local_unauthorized(context: StepContext) -> Judgement:
    """Step 13, Charging session - Local - Unauthorized (TC_023).

    [plug in] -> SN Preparing -> [present an unknown or blocked card] -> Authorize -> the
    portal answers Invalid, Blocked or Expired -> no StartTransaction and no SN Charging.

    Measures: the idTag presented and the portal's answer.
    """
    frames, findings = context.frames, Findings()
    match = match_in_order(
        frames,
        [
            Expect("StatusNotification Preparing", status_is("Preparing")),
            Expect("Authorize", charger_call("Authorize")),
        ],
    )
    findings.report_sequence(match)
    authorize = exchange_of(frames, match.get("Authorize"))
    measurements: dict[str, Any] = {}
    if authorize is None:
        return findings.judgement(measurements)
    status = id_tag_status(authorize)
    id_tag = authorize.request.get("idTag")
    measurements.update(id_tag=id_tag, authorize_status=status)
    if status == "Accepted":
        findings.fail(
            f"Authorize for idTag {id_tag} answered Accepted; the step needs an unknown, "
            "blocked or expired card",
            *authorize.frames,
        )
    elif status is None:
        findings.fail(f"Authorize for idTag {id_tag} got {authorize.answer}", *authorize.frames)
    started = first(frames, _is_session_start, after=authorize.call)
    if started is not None and status != "Accepted":
        findings.fail(
            f"{_describe(started)} received after Authorize was answered {status}; "
            "no transaction may start",
            started,
        )
    return findings.judgement(measurements)
