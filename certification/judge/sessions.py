"""Steps 6, 7, 8 and 13: charging sessions started locally, with a card at the charger.

What OCPP 1.6 allows and these rules therefore accept:
- Authorize is not always sent. §3.5.1 (Authorization Cache) and §3.5.2 (Local
  Authorization List): with LocalPreAuthorize true "the Charge Point, when online, will
  start a transaction for locally-authorized identifiers, without waiting for or requesting
  an Authorize.conf from the Central System". A session without Authorize is reported as
  authorized locally (information), unless LocalPreAuthorize is known to be false.
- §4.9 (Status Notification): Preparing, Finishing and the suspended states are states a
  connector may pass through, not messages that must appear: the transition table allows
  Available -> Charging and Charging -> Available, and MinimumStatusDuration lets a charger
  leave out short-lived states. A running transaction shows as Charging, SuspendedEV or
  SuspendedEVSE; any of them will do.
- StatusNotification and StartTransaction (or StopTransaction) may come in either order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

from certification.judge.outcome import (
    Findings,
    float_param,
    int_param,
    known_setting,
    step_rule,
    timing_tolerance,
)
from certification.judge.sequence import (
    Exchange,
    Expect,
    as_int,
    between,
    calls,
    charger_call,
    connector_of,
    exchange_of,
    first,
    format_seconds,
    is_after,
    is_periodic,
    match_in_order,
    meter_values_of,
    parse_timestamp,
    payload_of,
    same_id_tag,
    sample_time,
    seconds_between,
    status_in,
    status_is,
)
from certification.judge.timing import reconnect_backoff, replay_checks
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


# A connector with a running transaction reports one of these (OCPP 1.6 §7.7
# ChargePointStatus): Charging, or SuspendedEV/SuspendedEVSE when energy is not flowing.
SESSION_STATUSES = ("Charging", "SuspendedEV", "SuspendedEVSE")


def on_connector(status: str, connector: int | None, optional: bool = False) -> Expect:
    return Expect(f"StatusNotification {status}", status_is(status, connector), optional)


def in_session(connector: int | None) -> Expect:
    """The status of a running transaction: Charging, SuspendedEV or SuspendedEVSE."""
    return Expect("StatusNotification Charging", status_in(SESSION_STATUSES, connector))


def check_local_authorization(
    context: StepContext,
    findings: Findings,
    authorize: Frame | None,
    start: Exchange | None,
    measurements: dict[str, Any],
) -> None:
    """Where the session's authorization came from: the backend (Authorize) or the charger.

    OCPP 1.6 §9.1 LocalPreAuthorize: "Whether the Charge Point, when online, will start a
    transaction for locally-authorized identifiers, without waiting for or requesting an
    Authorize.conf from the Central System." Without Authorize the card came from the
    authorization cache or the local list; that is information, and a fail only when
    LocalPreAuthorize is known to be false.
    """
    if authorize is not None:
        measurements["authorized_by"] = "Central System (Authorize)"
        return
    if start is None:
        return
    measurements["authorized_by"] = "Charge Point (authorization cache or local list)"
    id_tag = start.request.get("idTag")
    pre_authorize = known_setting(context, "LocalPreAuthorize", before=start.call)
    if pre_authorize is not None and pre_authorize.strip().lower() == "false":
        findings.fail(
            f"StartTransaction for idTag {id_tag} without Authorize although LocalPreAuthorize "
            "is false: the charger must wait for the Central System's Authorize.conf",
            start.call,
        )
        return
    findings.info(
        f"No Authorize before StartTransaction: idTag {id_tag} was authorized by the charger "
        "from its authorization cache or local list (LocalPreAuthorize), as OCPP 1.6 allows",
        start.call,
    )


def note_optional_status(
    findings: Findings, match_found: Frame | None, status: str, connector: int | None, when: str
) -> None:
    if match_found is None:
        where = "" if connector is None else f" for connector {connector}"
        findings.info(
            f"No StatusNotification {status}{where} {when}; OCPP 1.6 does not require the "
            "connector to report this state"
        )


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
    if id_tag is not None and not same_id_tag(started_tag, id_tag):
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
        transaction_id = as_int(start.response.get("transactionId"))
        measurements["meter_values"] = len(
            [
                frame
                for frame in calls(between(frames, start.call, stop), "MeterValues")
                if as_int(payload_of(frame).get("transactionId")) in (None, transaction_id)
                and connector_of(frame) in (None, as_int(start.request.get("connectorId")))
            ]
        )
    return measurements


def check_meter_values_transaction(
    findings: Findings, frames: Sequence[Frame], start: Exchange | None, stop: Frame | None
) -> int:
    """Steps 6, 14, 15 (step 7 checks its queued values in timing.replay_checks): MeterValues
    on the session's connector that name another transaction than the one the portal
    assigned are a fail (OCPP 1.6 §4.7: transactionId is "the transaction to
    which these meter samples are related"). Returns how many there were."""
    transaction_id = as_int(start.response.get("transactionId")) if start else None
    if start is None or transaction_id is None:
        return 0  # the failed start is the finding; no MeterValues belong to the session
    connector = as_int(start.request.get("connectorId"))
    wrong = [
        frame
        for frame in calls(between(frames, start.call, stop), "MeterValues")
        if connector_of(frame) == connector
        and (named := as_int(payload_of(frame).get("transactionId"))) is not None
        and named != transaction_id
    ]
    if wrong:
        names = sorted({str(payload_of(frame).get("transactionId")) for frame in wrong})
        findings.fail(
            f"{len(wrong)} MeterValues on connector {connector} for transaction "
            f"{', '.join(names)} where transaction {transaction_id} was started",
            start.call,
            *wrong,
        )
    return len(wrong)


def check_sample_interval(
    context: StepContext,
    findings: Findings,
    start: Exchange | None,
    stop: Frame | None,
    measurements: dict[str, Any],
) -> None:
    """Periodic meter values every MeterValueSampleInterval seconds, the value accepted.

    OCPP 1.6 §9.1 MeterValueSampleInterval: "Interval between sampling of metering (or other)
    data, intended to be transmitted by "MeterValues" PDUs. For charging session data
    (ConnectorId>0), samples are acquired and transmitted periodically at this interval from
    the start of the charging transaction. A value of "0" (numeric zero), by convention, is
    to be interpreted to mean that no sampled data should be transmitted."
    Only Sample.Periodic readings are timed (clock-aligned, triggered and begin/end readings
    follow other rules); gaps are measured on the sample timestamps, so values queued offline
    count where they were sampled. Gaps around a connection loss are not judged.
    """
    if start is None:
        return
    interval = as_int(known_setting(context, "MeterValueSampleInterval", before=start.call))
    if not interval or interval <= 0:
        return
    transaction_id = as_int(start.response.get("transactionId"))
    samples = sorted(
        {
            time
            for frame in meter_values_of(context.frames, transaction_id)
            if is_periodic(frame) and (time := sample_time(frame)) is not None
        }
    )
    gaps = [round((b - a).total_seconds(), 3) for a, b in pairwise(samples)]
    measurements["sample_interval_s"] = interval
    measurements["sample_gaps_s"] = gaps
    tolerance = timing_tolerance(context)
    measurements["tolerance_s"] = tolerance
    wrong = [gap for gap in gaps if abs(gap - interval) > tolerance]
    if gaps and len(wrong) * 2 > len(gaps):
        findings.fail(
            f"Periodic MeterValues came every {format_seconds(sorted(gaps)[len(gaps) // 2])} "
            f"where MeterValueSampleInterval is {interval} s: the charger does not apply the "
            "interval it accepted",
            *meter_values_of(context.frames, transaction_id),
        )


# Step 6 ------------------------------------------------------------------------------------


@step_rule("StatusNotification Preparing received")
def local_plugin_first(context: StepContext) -> Judgement:
    """Step 6, Charging Session - Local - Plugin first (TC_003, TC_068).

    [plug in] -> SN Preparing -> [card] -> Authorize (Accepted) -> StartTransaction and SN
    Charging in either order -> MeterValues -> StopTransaction (reason Local or omitted) and
    SN Finishing in either order -> [unplug] -> SN Available.

    OCPP 1.6 §4.10 StopTransaction: "the reason field MAY be omitted when the reason is
    Local". Allowed as the module docstring says: no Authorize with a locally authorized
    card; no Preparing (information, but Authorize before a Preparing is the wrong order for
    this step); SuspendedEV/SuspendedEVSE for Charging; no Finishing when the connector goes
    to Available. No MeterValues during the session is minor (a short session may end before
    the first sample); periodic MeterValues at another interval than the accepted
    MeterValueSampleInterval are a fail.

    Measures: connector, idTag, transactionId, authorized_by, charging time, energy,
    MeterValues count, the sample gaps and the time from Finishing to Available.
    """
    frames, findings = context.frames, Findings()
    start_call = first(frames, charger_call("StartTransaction"))
    connector = session_connector(frames, start_call, first(frames, status_is("Preparing")))
    preparing = first(between(frames, None, start_call), status_is("Preparing", connector))
    authorize_call = last_before(frames, charger_call("Authorize"), start_call)
    if preparing is not None and authorize_call is not None and is_after(preparing, authorize_call):
        findings.fail(
            "Authorize arrived before StatusNotification Preparing, where it was expected "
            "after it: the cable was to be plugged in first",
            authorize_call,
            preparing,
        )
    note_optional_status(findings, preparing, "Preparing", connector, "before the session")
    match = match_in_order(
        frames,
        [
            (
                Expect("StartTransaction", charger_call("StartTransaction")),
                in_session(connector),
            ),
            (
                Expect("StopTransaction", charger_call("StopTransaction")),
                on_connector("Finishing", connector, optional=True),
            ),
            on_connector("Available", connector),
        ],
        after=preparing,
        start_label="StatusNotification Preparing" if preparing else "the start of the step",
    )
    findings.report_sequence(match)
    authorize = exchange_of(frames, authorize_call)
    id_tag = check_authorize(findings, authorize)
    start = exchange_of(frames, match.get("StartTransaction"))
    stop = match.get("StopTransaction")
    transaction_id = check_start(findings, start, id_tag, connector)
    check_stop(findings, stop, transaction_id, ("Local", None))
    measurements = session_measurements(frames, start, stop)
    check_local_authorization(context, findings, authorize_call, start, measurements)
    misnamed = check_meter_values_transaction(findings, frames, start, stop)
    if (
        start is not None
        and stop is not None
        and not (measurements.get("meter_values") or misnamed)
    ):
        findings.minor("No MeterValues received during the transaction", start.call, stop)
    check_sample_interval(context, findings, start, stop, measurements)
    finishing, available = (
        match.get("StatusNotification Finishing"),
        match.get("StatusNotification Available"),
    )
    if stop is not None:
        note_optional_status(findings, finishing, "Finishing", connector, "after the stop")
    if finishing is not None and available is not None:
        measurements["finishing_to_available_s"] = seconds_between(finishing, available)
    return findings.judgement(measurements)


def last_before(frames: Sequence[Frame], predicate: Any, before: Frame | None) -> Frame | None:
    """The latest frame matching `predicate` before `before` (anywhere when None)."""
    found = [frame for frame in between(frames, None, before) if predicate(frame)]
    return found[-1] if found else None


# Step 7 ------------------------------------------------------------------------------------


def find_gap(
    frames: Sequence[Frame],
    events: Sequence[ConnectionEvent],
    after: Frame,
    min_gap_s: float,
) -> tuple[datetime, datetime] | None:
    """The connection loss after `after`: a closed connection, else a long silence.

    Returns when the gap started and when the charger was back: the recorded "connected"
    event of the new connection, else (no event recorded) its first frame after the gap.
    """
    for index, event in enumerate(events):
        if event.kind in ("closed", "replaced") and event.at >= after.at:
            reconnected = next(
                (e for e in events[index + 1 :] if e.kind == "connected" and e.at >= event.at),
                None,
            )
            if reconnected is not None:
                return event.at, reconnected.at
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


def id_first_start(frames: Sequence[Frame]) -> tuple[Any, int | None]:
    """Identification first: Authorize (unless authorized locally) and SN Preparing in
    either order (a charger may report Preparing as the card is presented), then
    StartTransaction and a session status in either order."""
    start_call = first(frames, charger_call("StartTransaction"))
    connector = session_connector(frames, start_call, first(frames, status_is("Preparing")))
    match = match_in_order(
        frames,
        [
            (
                Expect("Authorize", charger_call("Authorize"), optional=True),
                on_connector("Preparing", connector, optional=True),
            ),
            (
                Expect("StartTransaction", charger_call("StartTransaction")),
                in_session(connector),
            ),
        ],
    )
    return match, connector


@step_rule("StartTransaction received")
def local_id_first_connection_loss(context: StepContext) -> Judgement:
    """Step 7, Local - Identification first - Connection Loss (TC_004_1, TC_036, TC_038).

    Authorize -> SN Preparing -> StartTransaction and SN Charging -> the connection is lost
    (a closed connection event, or no frame for `min_gap_s`) -> after the reconnect the queued
    MeterValues (sampled while the charger was offline) arrive in chronological order of
    their timestamps and before any new ones, and a StopTransaction of a session stopped
    offline comes after the queued values sampled before it. The step is about the session
    across the connection loss: Authorize and Preparing may be absent (see the module).

    OCPP 1.6 §4.7 (Meter Values) and "Transaction-Related Messages": StartTransaction,
    StopTransaction and periodic or clock-aligned MeterValues are transaction-related; a
    Charge Point queues them while offline, and "SHOULD deliver transaction-related messages
    to the Central System in chronological order as soon as possible". The reconnect is the
    recorded "connected" event of the new connection, so a value sampled live after it is
    never counted as queued.
    MeterValues of the transaction sampled after its (offline) StopTransaction are a fail
    (every step checks this).

    Params: `min_gap_s`, the silence that counts as a connection loss when no closed event
    was recorded (default 3 sample intervals when MeterValueSampleInterval is known, else
    60 s).
    The replay is timed too (timing.replay_checks: transactionIds, sampling timestamps and
    their intervals, of the values queued on the session's connector: another connector's
    values belong to its own session) and, when the portal cut the connection itself, the
    charger's reconnect attempts while it was refused (timing.reconnect_backoff).
    Measures: gap_s, queued_meter_values, new_meter_values, stopped_offline, authorized_by,
    queued_sample_times, queued_sample_intervals_s, reconnect_attempts, reconnect_intervals_s,
    back_after_refusal_s.
    """
    frames, findings = context.frames, Findings()
    match, connector = id_first_start(frames)
    findings.report_sequence(match)
    authorize_call = match.get("Authorize")
    id_tag = check_authorize(findings, exchange_of(frames, authorize_call))
    start = exchange_of(frames, match.get("StartTransaction"))
    transaction_id = check_start(findings, start, id_tag, connector)
    measurements = session_measurements(frames, start, None)
    check_local_authorization(context, findings, authorize_call, start, measurements)
    if start is None or match.end is None:
        return findings.judgement(measurements)

    sample_interval = as_int(known_setting(context, "MeterValueSampleInterval"))
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
    # Values of another connector (its own session, or connector 0's main meter) are not
    # this session's queue, whatever transactionId they carry.
    session_connector_id = as_int(start.request.get("connectorId"))
    queued = [
        frame
        for frame in calls([f for f in frames if f.at >= back_at], "MeterValues")
        if (time := sample_time(frame)) is not None
        and time < back_at
        and (session_connector_id is None or connector_of(frame) == session_connector_id)
    ]
    measurements.update(
        replay_checks(
            queued,
            transaction_id,
            lost_at,
            back_at,
            sample_interval,
            timing_tolerance(context),
            findings,
        )
    )
    measurements.update(reconnect_backoff(context.faults, context.events, findings))
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
        (frame, time)
        for frame in calls(after, "MeterValues")
        if (time := sample_time(frame)) is not None
        and as_int(payload_of(frame).get("transactionId")) in (None, transaction_id)
    ]
    queued = [(frame, time) for frame, time in meter_values if time < back_at]
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
    late = [f for f, t in queued if t <= stopped_at and is_after(f, stop)]
    if late:
        findings.fail(
            f"{len(late)} queued MeterValues sampled before the offline stop arrived after "
            "StopTransaction; they were expected before it",
            stop,
            *late,
        )


# Step 8 ------------------------------------------------------------------------------------


@step_rule("StatusNotification Preparing received")
def local_id_first_connection_timeout(context: StepContext) -> Judgement:
    """Step 8, Local - Identification first - Connection TimeOut (TC_004_2).

    [card] -> Authorize (Accepted; absent when authorized locally) -> SN Preparing -> no
    plug-in -> SN Available after ConnectionTimeOut seconds, and no StartTransaction.

    OCPP 1.6 §9.1 ConnectionTimeOut: "Interval *from beginning of status: 'Preparing' until
    incipient Transaction is automatically canceled, due to failure of EV driver to (correctly)
    insert the charging cable connector(s) into the appropriate socket(s). The Charge Point
    SHALL go back to the original state, probably: 'Available'." The timeout is measured from
    SN Preparing to SN Available and compared with the value the charger accepted or reported
    (in the step or before it): a difference beyond the tolerance is a fail, because the
    charger does not apply the value it accepted.

    Params: `configured_timeout_s` (default: the ConnectionTimeOut the charger accepted or
    reported, in the step or before it); `tolerance_s` (default: the run's timing tolerance).
    Measures: connection_timeout_s (measured), configured_timeout_s,
    authorize_to_available_s, authorized_by.
    """
    frames, findings = context.frames, Findings()
    preparing = first(frames, status_is("Preparing"))
    connector = connector_of(preparing)
    authorize = last_before(frames, charger_call("Authorize"), preparing) or first(
        frames, charger_call("Authorize")
    )
    match = match_in_order(
        frames,
        [on_connector("Preparing", connector), on_connector("Available", connector)],
    )
    findings.report_sequence(match)
    check_authorize(findings, exchange_of(frames, authorize))
    started = first(frames, charger_call("StartTransaction"), after=authorize or preparing)
    if started is not None:
        findings.fail(
            "StartTransaction received although no cable was plugged in; the session was "
            "expected to time out",
            started,
        )
    available = match.get("StatusNotification Available")
    measurements: dict[str, Any] = {
        "authorized_by": "Central System (Authorize)"
        if authorize is not None
        else "Charge Point (authorization cache or local list)"
    }
    configured = int_param(context, "configured_timeout_s", None)
    if configured is None:
        configured = as_int(known_setting(context, "ConnectionTimeOut", before=available))
    measurements["configured_timeout_s"] = configured
    if preparing is not None and available is None and configured is not None:
        _still_preparing(context, findings, preparing, configured)
    if preparing is None or available is None:
        return findings.judgement(measurements)
    measured = seconds_between(preparing, available)
    measurements["connection_timeout_s"] = measured
    if authorize is not None:
        measurements["authorize_to_available_s"] = seconds_between(authorize, available)
    tolerance = timing_tolerance(context)
    if configured is None:
        findings.info(
            "ConnectionTimeOut is not known for this step; the connector returned to Available "
            f"after {format_seconds(measured)}",
            preparing,
            available,
        )
    elif abs(measured - configured) > tolerance:
        findings.fail(
            f"ConnectionTimeOut is {configured} s (accepted by the charger) but the connector "
            f"returned to Available after {format_seconds(measured)}: the charger does not "
            "apply the value it accepted",
            preparing,
            available,
        )
    return findings.judgement(measurements)


def _still_preparing(
    context: StepContext, findings: Findings, preparing: Frame, configured: int
) -> None:
    """No Available at all, though the step went on past ConnectionTimeOut: say how long the
    connector stayed Preparing against the value the charger accepted (a charger that
    quietly keeps a longer timeout is otherwise only "none recorded")."""
    ended = context.finished_at or context.frames[-1].at
    waited = (ended - preparing.at).total_seconds()
    if waited > configured + timing_tolerance(context):
        findings.fail(
            f"ConnectionTimeOut is {configured} s (accepted by the charger) but the connector "
            f"was still Preparing {format_seconds(waited)} later, when the step ended: the "
            "charger does not apply the value it accepted",
            preparing,
        )


# Step 13 -----------------------------------------------------------------------------------


def _is_session_start(frame: Frame) -> bool:
    return charger_call("StartTransaction")(frame) or status_in(SESSION_STATUSES)(frame)


@step_rule("StatusNotification Preparing received")
def local_unauthorized(context: StepContext) -> Judgement:
    """Step 13, Charging session - Local - Unauthorized (TC_023).

    [plug in] -> SN Preparing -> [present an unknown or blocked card] -> Authorize -> the
    portal answers Invalid, Blocked or Expired -> no StartTransaction and no SN Charging
    (nor SuspendedEV/SuspendedEVSE).

    OCPP 1.6 §4.1 (Authorize): "The Charge Point SHALL only supply energy after
    authorization." An unknown card is in neither the cache nor the local list, so the
    Authorize must be there. Preparing may be absent (information).

    Measures: the idTag presented and the portal's answer.
    """
    frames, findings = context.frames, Findings()
    match = match_in_order(
        frames,
        [
            Expect("StatusNotification Preparing", status_is("Preparing"), optional=True),
            Expect("Authorize", charger_call("Authorize")),
        ],
    )
    findings.report_sequence(match)
    if match.get("StatusNotification Preparing") is None and match.get("Authorize"):
        findings.info(
            "No StatusNotification Preparing before Authorize; OCPP 1.6 does not require the "
            "connector to report this state"
        )
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
    # Every sign of a session after the refusal is cited, in the order it arrived: the
    # StartTransaction that proves the transaction, and the statuses around it.
    started = [frame for frame in between(frames, authorize.call, None) if _is_session_start(frame)]
    if started and status != "Accepted":
        names = " and ".join(dict.fromkeys(_describe(frame) for frame in started))
        findings.fail(
            f"{names} received after Authorize was answered {status}; no transaction may start",
            *started,
        )
    return findings.judgement(measurements)
