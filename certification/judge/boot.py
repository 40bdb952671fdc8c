"""Steps 1 and 5: booting the charger and its heartbeat."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from certification.judge.outcome import (
    Findings,
    int_param,
    step_rule,
    timing_tolerance,
)
from certification.judge.sequence import (
    Exchange,
    accepted_changes,
    as_int,
    between,
    calls,
    configured_value,
    exchange_of,
    exchanges,
    first,
    format_seconds,
    is_call,
    last,
    payload_of,
    seconds_between,
    settled_status,
    status_is,
    status_notifications,
)
from certification.judge.types import Frame, Judgement, StepContext

BOOT_FIELDS = {
    "chargePointVendor": "vendor",
    "chargePointModel": "model",
    "chargePointSerialNumber": "serial_number",
    "chargeBoxSerialNumber": "charge_box_serial_number",
    "firmwareVersion": "firmware_version",
    "iccid": "iccid",
    "imsi": "imsi",
    "meterType": "meter_type",
    "meterSerialNumber": "meter_serial_number",
}


def default_tolerance(interval: int) -> float:
    """A heartbeat a few seconds late is network jitter, not a defect: 10 %, at least 5 s."""
    return max(5.0, interval * 0.1)


def configured_heartbeat_interval(context: StepContext) -> int | None:
    """The interval the charger should keep, from the most specific source available.

    The `interval_s` param, then a HeartbeatInterval set or read in the step, then the
    interval of an accepted BootNotification in the step, then the run's setting.
    """
    explicit = int_param(context, "interval_s", None)
    if explicit is not None:
        return explicit
    value, _ = configured_value(context.frames, "HeartbeatInterval")
    if as_int(value) is not None:
        return as_int(value)
    for boot_exchange in reversed(exchanges(context.frames, "BootNotification", "in")):
        if boot_exchange.status == "Accepted" and as_int(boot_exchange.response.get("interval")):
            return as_int(boot_exchange.response.get("interval"))
    return context.settings.heartbeat_interval


def triggered_heartbeats(frames: Sequence[Frame]) -> set[int]:
    """The seq of each Heartbeat that answers a TriggerMessage(Heartbeat): it comes when the
    portal asks, not when the interval says, so it does not measure the interval."""
    triggered: set[int] = set()
    for trigger in exchanges(frames, "TriggerMessage"):
        if trigger.request.get("requestedMessage") != "Heartbeat" or trigger.status != "Accepted":
            continue
        answer = first(frames, lambda f: is_call(f, "Heartbeat", "in"), after=trigger.call)
        if answer is not None:
            triggered.add(answer.seq)
    return triggered


def interval_in_force(
    frames: Sequence[Frame], interval: int | None, at: Frame
) -> tuple[int | None, bool]:
    """The HeartbeatInterval in force when a heartbeat interval began at `at`.

    Returns (value, known): with an accepted change of HeartbeatInterval in the step, an
    interval that began before the first change ran under a value the step does not show.
    """
    changes = [
        (change.last, as_int(change.request.get("value")))
        for change in accepted_changes(frames)
        if change.request.get("key") == "HeartbeatInterval"
    ]
    if not changes:
        return interval, True
    earlier = [value for reply, value in changes if reply.seq < at.seq]
    if not earlier:
        return None, False
    return earlier[-1], True


def analyse_heartbeats(
    frames: Sequence[Frame],
    interval: int | None,
    tolerance: float | None,
    findings: Findings,
    after: Frame | None = None,
) -> dict[str, Any]:
    """Measure the heartbeat intervals and word those that break the configured interval.

    A gap longer than the interval is only a fail when the charger was silent for that long:
    OCPP lets it skip a Heartbeat when it sent another message within the interval. Gaps
    shorter than the interval are minor when they are the exception, and a fail when most
    gaps are: the charger does not apply the HeartbeatInterval it was given or accepted.
    Heartbeats answering a TriggerMessage, and gaps across a change of the interval, are not
    judged.
    """
    heartbeats = calls(between(frames, after, None), "Heartbeat", "in")
    intervals = [seconds_between(a, b) for a, b in pairwise(heartbeats)]
    measurements: dict[str, Any] = {
        "heartbeat_count": len(heartbeats),
        "heartbeat_intervals_s": intervals,
        "configured_interval_s": interval,
    }
    if intervals:
        measurements.update(
            heartbeat_interval_min_s=min(intervals),
            heartbeat_interval_max_s=max(intervals),
            heartbeat_interval_mean_s=round(statistics.fmean(intervals), 3),
        )
    if interval is None or interval <= 0 or not intervals:
        return measurements
    allowed = tolerance if tolerance is not None else default_tolerance(interval)
    measurements["tolerance_s"] = allowed
    triggered = triggered_heartbeats(frames)
    skipped: list[Frame] = []
    early: list[tuple[Frame, float, int]] = []
    judged = 0
    for (previous, heartbeat), gap in zip(pairwise(heartbeats), intervals, strict=True):
        expected, known = interval_in_force(frames, interval, previous)
        if not known or not expected or expected <= 0:
            continue
        margin = tolerance if tolerance is not None else default_tolerance(expected)
        if gap > expected + margin:
            judged += 1
            activity = [
                frame
                for frame in between(frames, previous, heartbeat)
                if is_call(frame, direction="in")
            ]
            marks = [previous, *activity, heartbeat]
            silence = max(seconds_between(a, b) for a, b in pairwise(marks))
            if silence > expected + margin:
                findings.fail(
                    f"No message from the charger for {format_seconds(silence)} between two "
                    f"Heartbeats where the interval is {expected} s",
                    previous,
                    heartbeat,
                )
            else:
                skipped.append(heartbeat)
        elif previous.seq in triggered or heartbeat.seq in triggered:
            continue
        else:
            judged += 1
            if gap < expected - margin:
                early.append((heartbeat, gap, expected))
    if skipped:
        findings.info(
            f"{len(skipped)} Heartbeat(s) skipped because the charger sent other messages "
            f"within the {interval} s interval, as OCPP allows",
            *skipped,
        )
    if early:
        shortest = min(gap for _, gap, _ in early)
        expected = early[0][2]
        if len(early) * 2 > judged:
            findings.fail(
                f"{len(early)} of {judged} Heartbeat intervals were shorter than the "
                f"HeartbeatInterval of {expected} s (down to {format_seconds(shortest)}): the "
                "charger does not apply the interval it was given",
                *(frame for frame, _, _ in early),
            )
        else:
            findings.minor(
                f"{len(early)} Heartbeat(s) came sooner than the configured interval: "
                f"{format_seconds(shortest)} after the previous one where {expected} s was "
                "expected",
                *(frame for frame, _, _ in early),
            )
    return measurements


@step_rule("BootNotification received")
def boot(context: StepContext) -> Judgement:
    """Step 1, Boot charging station (TC_001, TC_002).

    BootNotification answered Accepted with an interval, then a StatusNotification Available
    for every connector and for connector 0, then Heartbeats every interval. A first
    Rejected or Pending answer is allowed, but the charger must wait its interval before
    resending. Vendor DataTransfer messages are recorded as information only. A request
    sent before the boot was accepted fails the step (requests_before_acceptance).

    OCPP 1.6 §4.2 (Boot Notification): "After a restart, a Charge Point SHALL send a
    StatusNotification.req PDU to the Central System for each of its connectors" (connector 0
    included, §4.9), and after Rejected "the Charge Point SHALL NOT send any OCPP message to
    the Central System until the aforementioned retry interval has expired". A triggered
    BootNotification (TriggerMessage, the step's pre-filled command) is no restart: no
    statuses are due. §4.6 (Heartbeat): "The Charge Point MAY skip sending a Heartbeat.req
    PDU when another PDU has been sent to the Central System within the configured heartbeat
    interval": no Heartbeat is a fail only after a silence longer than the interval, measured
    up to the step's recorded end.

    Params: `tolerance_s` for the heartbeat interval (default: the run's timing tolerance).
    Measures: the BootNotification fields, boot attempts, the heartbeat intervals, and the
    number of DataTransfer messages.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    data_transfers = calls(frames, "DataTransfer", "in")
    if data_transfers:
        vendors = sorted({str(payload_of(f).get("vendorId")) for f in data_transfers})
        findings.info(
            f"{len(data_transfers)} vendor DataTransfer message(s) recorded "
            f"(vendorId {', '.join(vendors)}); they do not affect the verdict",
            *data_transfers,
        )
        measurements["data_transfers"] = len(data_transfers)

    boots = exchanges(frames, "BootNotification", "in")
    if not boots:
        findings.fail("No BootNotification received")
        return findings.judgement(measurements)
    early = requests_before_acceptance(frames)
    if early:
        actions = ", ".join(sorted({str(frame.action) for frame in early}))
        findings.fail(
            f"{len(early)} request(s) ({actions}) sent before the BootNotification was "
            "accepted: a charger sends no other request before its boot is accepted, while "
            "Pending only what a TriggerMessage asks for (OCPP 1.6 §4.2)",
            *early,
        )
        measurements["requests_before_acceptance"] = len(early)
    measurements["boot_attempts"] = len(boots)
    _check_resend_delays(boots, findings)
    accepted = next((b for b in boots if b.status == "Accepted"), None)
    described = accepted or boots[-1]
    measurements["charge_point"] = {
        name: described.request[key]
        for key, name in BOOT_FIELDS.items()
        if key in described.request
    }
    if "iccid" not in described.request:
        findings.info(
            "BootNotification carries no ICCID; it is recommended when the charger connects "
            "over a SIM card, as it helps troubleshooting",
            described.call,
        )
    if accepted is None:
        answers = ", ".join(b.answer for b in boots)
        findings.fail(
            f"No BootNotification answered Accepted (answers: {answers})", *boots[-1].frames
        )
        return findings.judgement(measurements)

    interval = as_int(accepted.response.get("interval")) or context.settings.heartbeat_interval
    trigger = triggered_by(frames, accepted.call)
    measurements["triggered"] = trigger is not None
    if trigger is None:
        _check_statuses_after_boot(context, accepted, findings)
    else:
        findings.info(
            "The BootNotification was triggered by TriggerMessage, not sent by a reboot: "
            "StatusNotifications need not follow it",
            trigger,
            accepted.call,
        )
    tolerance: float | None = timing_tolerance(context)
    measurements.update(analyse_heartbeats(frames, interval, tolerance, findings, accepted.last))
    if measurements["heartbeat_count"] == 0 and interval:
        _check_silence_after_boot(context, accepted, interval, tolerance, findings)
    return findings.judgement(measurements)


def triggered_by(frames: Sequence[Frame], boot_call: Frame) -> Frame | None:
    """The TriggerMessage(BootNotification) that asked for this BootNotification, if any.

    OCPP 1.6 §5.17 (Trigger Message): the charger sends the requested message; a triggered
    BootNotification reports the charger's data again, it is not a reboot, so what OCPP asks
    after a (re)boot — a StatusNotification per connector — is not due.
    """
    earlier = [
        frame
        for frame in between(frames, None, boot_call)
        if is_call(frame, "TriggerMessage", "out")
        and payload_of(frame).get("requestedMessage") == "BootNotification"
    ]
    return earlier[-1] if earlier else None


def _check_silence_after_boot(
    context: StepContext,
    accepted: Exchange,
    interval: int,
    tolerance: float | None,
    findings: Findings,
) -> None:
    """No Heartbeat at all: a fail only when the charger stayed silent longer than the
    interval (OCPP 1.6 §4.6 lets it skip a Heartbeat when it sent another message within the
    interval). The step lasts until its recorded end, not until its last frame."""
    frames = context.frames
    end = context.finished_at or frames[-1].at
    marks = [accepted.last.at]
    marks += [f.at for f in between(frames, accepted.last, None) if is_call(f, direction="in")]
    marks.append(max(end, marks[-1]))
    silence = max(seconds_between(a, b) for a, b in pairwise(marks))
    span = seconds_between(accepted.last.at, marks[-1])
    allowed = tolerance if tolerance is not None else default_tolerance(interval)
    if silence > interval + allowed:
        findings.fail(
            f"No Heartbeat received and no message from the charger for "
            f"{format_seconds(silence)} after the accepted BootNotification where one was "
            f"expected every {interval} s",
            accepted.last,
        )
    else:
        findings.info(
            f"No Heartbeat yet: the step lasted {format_seconds(span)} after the accepted "
            f"BootNotification, and the charger was never silent for longer than the "
            f"{interval} s interval"
        )


def requests_before_acceptance(frames: Sequence[Frame]) -> list[Frame]:
    """The charger's requests that OCPP 1.6 §4.2 forbids before its boot is accepted.

    Per connection: a request followed by a BootNotification on the same connection (a
    reboot; a reconnect without a reboot needs no BootNotification, so a request on a
    connection that never boots is legal); a request while the last BootNotification was
    answered Pending, unless a TriggerMessage asked for it; a request while it was answered
    Rejected.
    """
    early: list[Frame] = []
    by_connection: dict[int | None, list[Frame]] = {}
    for frame in frames:
        by_connection.setdefault(frame.connection_id, []).append(frame)
    for own in by_connection.values():
        status: str | None = None
        unbooted: list[Frame] = []
        triggered: set[str] = set()
        for frame in own:
            if is_call(frame, "TriggerMessage", "out") and isinstance(frame.payload, dict):
                triggered.add(str(payload_of(frame).get("requestedMessage")))
            if not is_call(frame, direction="in"):
                continue
            if frame.action == "BootNotification":
                if status is None:
                    early += unbooted
                unbooted = []
                answer = exchange_of(own, frame)
                if answer is not None and answer.status in ("Accepted", "Pending", "Rejected"):
                    status, triggered = answer.status, set()
            elif status is None:
                unbooted.append(frame)
            elif status == "Rejected" or (status == "Pending" and frame.action not in triggered):
                early.append(frame)
    return sorted(early, key=lambda frame: (frame.at, frame.seq))


def _check_resend_delays(boots: list[Exchange], findings: Findings) -> None:
    """After Rejected or Pending the charger must not resend before the given interval."""
    for earlier, later in pairwise(boots):
        if earlier.status not in ("Rejected", "Pending"):
            continue
        wait = as_int(earlier.response.get("interval"))
        gap = seconds_between(earlier.last, later.call)
        if wait and gap < wait - 1:
            findings.fail(
                f"BootNotification resent after {format_seconds(gap)} where the {earlier.status} "
                f"reply asked the charger to wait {wait} s",
                earlier.last,
                later.call,
            )


def _check_statuses_after_boot(
    context: StepContext, accepted: Exchange, findings: Findings
) -> None:
    for connector in range(context.settings.connectors + 1):
        notifications = status_notifications(context.frames, connector, after=accepted.last)
        if not notifications:
            findings.fail(
                f"No StatusNotification for connector {connector} after the accepted "
                "BootNotification; Available was expected",
                accepted.last,
            )
            continue
        settled = settled_status(notifications)
        if settled != "Available":
            findings.fail(
                f"Connector {connector} reported {settled} after boot where Available was expected",
                *notifications,
            )
            continue
        available = first(notifications, status_is("Available"))
        unavailable = last(
            [n for n in notifications if available and n.seq < available.seq],
            status_is("Unavailable"),
        )
        if available is not None and unavailable is not None:
            findings.info(
                f"Connector {connector} was Unavailable for "
                f"{format_seconds(seconds_between(notifications[0], available))} after boot "
                "before it became Available",
                notifications[0],
                available,
            )


@step_rule("Heartbeat received")
def heartbeat(context: StepContext) -> Judgement:
    """Step 5, Heartbeat (TC_001 step 7).

    Heartbeats at the configured interval; a charger may skip one when it sent another
    message within the interval. Heartbeats clearly more frequent than configured are minor.

    Params: `interval_s` (default: HeartbeatInterval set or read in the step, else the
    accepted BootNotification's interval in the step, else the run's heartbeat_interval);
    `tolerance_s` (default: the run's timing tolerance, 4 s unless the lab set another).
    Measures: heartbeat_count, heartbeat_intervals_s and their min, max and mean, the
    configured interval and the tolerance used.
    """
    findings = Findings()
    interval = configured_heartbeat_interval(context)
    tolerance: float | None = timing_tolerance(context)
    measurements = analyse_heartbeats(context.frames, interval, tolerance, findings)
    count = measurements["heartbeat_count"]
    if count == 0:
        findings.fail("No Heartbeat received")
    elif count == 1:
        findings.fail(
            "Only one Heartbeat received; at least two are needed to measure the interval"
        )
    if interval is None:
        findings.info("The configured heartbeat interval is unknown; intervals are only reported")
    return findings.judgement(measurements)
