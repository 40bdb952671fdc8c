"""Steps 1 and 5: booting the charger and its heartbeat."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from certification.judge.outcome import Findings, float_param, int_param, step_rule
from certification.judge.sequence import (
    Exchange,
    as_int,
    between,
    calls,
    configured_value,
    exchanges,
    first,
    format_seconds,
    is_call,
    last,
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


def analyse_heartbeats(
    frames: Sequence[Frame],
    interval: int | None,
    tolerance: float | None,
    findings: Findings,
    after: Frame | None = None,
) -> dict[str, Any]:
    """Measure the heartbeat intervals and word those that break the configured interval.

    A gap longer than the interval is only a fail when the charger was silent for that long:
    OCPP lets it skip a Heartbeat when it sent another message within the interval.
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
    skipped: list[Frame] = []
    early: list[tuple[Frame, float]] = []
    for (previous, heartbeat), gap in zip(pairwise(heartbeats), intervals, strict=True):
        if gap > interval + allowed:
            activity = [
                frame
                for frame in between(frames, previous, heartbeat)
                if is_call(frame, direction="in")
            ]
            marks = [previous, *activity, heartbeat]
            silence = max(seconds_between(a, b) for a, b in pairwise(marks))
            if silence > interval + allowed:
                findings.fail(
                    f"No message from the charger for {format_seconds(silence)} between two "
                    f"Heartbeats where the interval is {interval} s",
                    previous,
                    heartbeat,
                )
            else:
                skipped.append(heartbeat)
        elif gap < interval - allowed:
            early.append((heartbeat, gap))
    if skipped:
        findings.info(
            f"{len(skipped)} Heartbeat(s) skipped because the charger sent other messages "
            f"within the {interval} s interval, as OCPP allows",
            *skipped,
        )
    if early:
        shortest = min(gap for _, gap in early)
        findings.minor(
            f"{len(early)} Heartbeat(s) came sooner than the configured interval: "
            f"{format_seconds(shortest)} after the previous one where {interval} s was expected",
            *(frame for frame, _ in early),
        )
    return measurements


@step_rule("BootNotification received")
def boot(context: StepContext) -> Judgement:
    """Step 1, Boot charging station (TC_001, TC_002).

    BootNotification answered Accepted with an interval, then a StatusNotification Available
    for every connector and for connector 0, then Heartbeats every interval. A first
    Rejected or Pending answer is allowed, but the charger must wait its interval before
    resending. Vendor DataTransfer messages are recorded as information only.

    Params: `tolerance_s` for the heartbeat interval (default 10 %, at least 5 s).
    Measures: the BootNotification fields, boot attempts, the heartbeat intervals, and the
    number of DataTransfer messages.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    data_transfers = calls(frames, "DataTransfer", "in")
    if data_transfers:
        vendors = sorted({str(f.payload.get("vendorId")) for f in data_transfers if f.payload})
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
    _check_statuses_after_boot(context, accepted, findings)
    tolerance = float_param(context, "tolerance_s", None)
    measurements.update(analyse_heartbeats(frames, interval, tolerance, findings, accepted.last))
    if measurements["heartbeat_count"] == 0 and interval:
        span = seconds_between(accepted.last, frames[-1])
        allowed = tolerance if tolerance is not None else default_tolerance(interval)
        if span > interval + allowed:
            findings.fail(
                f"No Heartbeat received in the {format_seconds(span)} after the accepted "
                f"BootNotification where one was expected every {interval} s",
                accepted.last,
            )
        else:
            findings.info(
                f"No Heartbeat yet: the step lasted {format_seconds(span)} after the accepted "
                f"BootNotification, less than the {interval} s interval"
            )
    return findings.judgement(measurements)


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
    `tolerance_s` (default 10 % of the interval, at least 5 s).
    Measures: heartbeat_count, heartbeat_intervals_s and their min, max and mean, the
    configured interval and the tolerance used.
    """
    findings = Findings()
    interval = configured_heartbeat_interval(context)
    tolerance = float_param(context, "tolerance_s", None)
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
