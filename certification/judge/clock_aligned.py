"""The full plan's clock-aligned meter data: MeterValues of context Sample.Clock on the
boundaries of ClockAlignedDataInterval, counted from midnight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from certification.judge.outcome import Findings, known_setting, step_rule, timing_tolerance
from certification.judge.sequence import (
    Exchange,
    accepted_changes,
    as_int,
    calls,
    connector_of,
    format_seconds,
    is_after,
    sampled_values,
)
from certification.judge.types import Frame, Judgement, StepContext

# MeterValuesAlignedData's measurand when a reading names none (OCPP 1.6 §7.31 default).
DEFAULT_MEASURAND = "Energy.Active.Import.Register"
DAY_S = 86400


@dataclass(frozen=True)
class Reading:
    """One clock-aligned meterValue: its frame, timestamp and the measurands of its
    Sample.Clock sampled values."""

    frame: Frame
    at: datetime | None
    measurands: frozenset[str]


def _interval_changes(frames: Sequence[Frame]) -> list[Exchange]:
    return [
        change
        for change in accepted_changes(frames)
        if change.request.get("key") == "ClockAlignedDataInterval"
    ]


def _interval_change(frames: Sequence[Frame]) -> Exchange | None:
    """The accepted ChangeConfiguration that set ClockAlignedDataInterval above 0."""
    changes = [
        change
        for change in _interval_changes(frames)
        if (as_int(change.request.get("value")) or 0) > 0
    ]
    return changes[0] if changes else None


def _stop_change(frames: Sequence[Frame], after: Frame) -> Exchange | None:
    """The first accepted ChangeConfiguration(ClockAlignedDataInterval, 0) after `after`."""
    stops = [
        change
        for change in _interval_changes(frames)
        if is_after(change.call, after) and as_int(change.request.get("value")) == 0
    ]
    return stops[0] if stops else None


def _readings(frames: Sequence[Frame], after: Frame) -> list[Reading]:
    """The clock-aligned readings of the MeterValues after `after`: one per meterValue
    with a Sample.Clock sampled value (a MeterValues may carry several, and readings of
    other contexts beside them)."""
    readings: list[Reading] = []
    for frame in calls(frames, "MeterValues"):
        if not is_after(frame, after):
            continue
        by_time: dict[datetime | None, set[str]] = {}
        for value in sampled_values(frame):
            if value.get("context") == "Sample.Clock":
                measurand = str(value.get("measurand") or DEFAULT_MEASURAND)
                by_time.setdefault(value["_at"], set()).add(measurand)
        readings.extend(Reading(frame, at, frozenset(found)) for at, found in by_time.items())
    return readings


def _started_after(reading: Reading, frame: Frame, tolerance: float) -> bool:
    """Whether `reading` bears a timestamp (its interval's start) more than `tolerance`
    seconds after `frame` was captured."""
    return reading.at is not None and (reading.at - frame.at).total_seconds() > tolerance


def _offset(time: datetime, interval: int) -> float:
    """Seconds from `time` to the nearest boundary of the `interval`-second intervals of its
    UTC day (the day's last interval ends at midnight, shorter when `interval` does not
    divide a day)."""
    utc = time.astimezone(UTC)
    since = (utc - utc.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    into = since % interval
    return round(min(into, interval - into, DAY_S - since), 3)


def _frames_of(readings: Sequence[Reading]) -> list[Frame]:
    """The frames of `readings`, each once, in order (a frame is not hashable)."""
    found: list[Frame] = []
    for reading in readings:
        if not any(frame is reading.frame for frame in found):
            found.append(reading.frame)
    return found


@step_rule("ChangeConfiguration sent to the charger")
def clock_aligned_meter_values(context: StepContext) -> Judgement:
    """Core: clock-aligned meter data (TC_071).

    ChangeConfiguration(ClockAlignedDataInterval, N) -> Accepted -> MeterValues whose
    readings have context Sample.Clock, each timestamped on a boundary of the N-second
    intervals of the day (counted from 00:00:00 UTC), consecutive ones N seconds apart,
    carrying the measurands of MeterValuesAlignedData -> ChangeConfiguration(..., 0) stops
    them.

    OCPP 1.6 §9.1 ClockAlignedDataInterval: "Size (in seconds) of the clock-aligned data
    interval. This is the size (in seconds) of the set of evenly spaced aggregation
    intervals per day, starting at 00:00:00 (midnight)"; the values are "transmitted (if so
    enabled) at the end of each interval, bearing the interval start time timestamp". "A
    value of "0" (numeric zero), by convention, is to be interpreted to mean that no
    clock-aligned data should be transmitted": once 0 is accepted, a reading of an interval
    that starts later fails (the one under way may still be sent). MeterValuesAlignedData:
    the "Clock-aligned measurand(s) to be included in a MeterValues.req PDU, every
    ClockAlignedDataInterval seconds". ReadingContext Sample.Clock: "Value taken at clock
    aligned interval".

    Each meterValue with Sample.Clock values is a reading of its own (a MeterValues may
    carry several, and readings of other contexts, whose timestamps and measurands do not
    count). A timestamp may be off a boundary by the run's timing tolerance, at most a
    quarter of the interval.
    Measures: interval_s, clock_aligned_values (MeterValues), sample_times,
    largest_offset_s, intervals_s, and after_stop_values once 0 was accepted.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    change = _interval_change(frames)
    if change is None:
        findings.fail("ClockAlignedDataInterval was not set to a number of seconds above 0")
        return findings.judgement(measurements)
    interval = as_int(change.request.get("value")) or 0
    measurements["interval_s"] = interval
    tolerance = min(timing_tolerance(context), interval / 4)
    readings = _readings(frames, change.last)
    stop = _stop_change(frames, change.last)
    if stop is None:
        findings.info(
            "ClockAlignedDataInterval was not set back to 0 in the step: that the values stop "
            "was not checked"
        )
    else:
        late = [r for r in readings if _started_after(r, stop.last, tolerance)]
        readings = [r for r in readings if not _started_after(r, stop.last, tolerance)]
        measurements["after_stop_values"] = len(late)
        if late:
            findings.fail(
                f"{len(late)} clock-aligned value(s) of intervals that started after "
                "ClockAlignedDataInterval was set to 0, which stops them",
                *stop.frames,
                *_frames_of(late),
            )
    aligned = _frames_of(readings)
    measurements["clock_aligned_values"] = len(aligned)
    if not aligned:
        findings.fail(
            f"No MeterValues with context Sample.Clock after ClockAlignedDataInterval was set "
            f"to {interval} s",
            *change.frames,
        )
        return findings.judgement(measurements)
    measurements["sample_times"] = [r.at.isoformat() for r in readings if r.at is not None]
    offsets = []
    for reading in readings:
        if reading.at is None:
            findings.fail("A clock-aligned MeterValues carries no timestamp", reading.frame)
            continue
        offset = _offset(reading.at, interval)
        offsets.append(offset)
        if offset > tolerance:
            findings.fail(
                f"Clock-aligned MeterValues timestamped {reading.at:%H:%M:%S}, "
                f"{format_seconds(offset)} off the {interval} s boundaries counted from midnight",
                reading.frame,
            )
    measurements["largest_offset_s"] = max(offsets, default=None)
    _check_intervals(readings, interval, findings, measurements)
    wanted = known_setting(context, "MeterValuesAlignedData", before=change.call)
    if wanted:
        for measurand in (name.strip() for name in wanted.split(",") if name.strip()):
            lacking = _frames_of([r for r in readings if measurand not in r.measurands])
            if lacking:
                findings.fail(
                    f"{len(lacking)} clock-aligned MeterValues lack {measurand}, which "
                    "MeterValuesAlignedData names",
                    *lacking,
                )
    return findings.judgement(measurements)


def _check_intervals(
    readings: list[Reading],
    interval: int,
    findings: Findings,
    measurements: dict[str, Any],
) -> None:
    """Consecutive clock-aligned values of a connector are one interval apart; a missed
    interval is a minor finding (the alignment itself is checked per value)."""
    by_connector: dict[int | None, list[tuple[Frame, datetime]]] = {}
    for reading in readings:
        if reading.at is not None:
            by_connector.setdefault(connector_of(reading.frame), []).append(
                (reading.frame, reading.at)
            )
    gaps: list[float] = []
    for connector, samples in by_connector.items():
        for (_, earlier), (frame, later) in pairwise(samples):
            gap = round((later - earlier).total_seconds(), 3)
            gaps.append(gap)
            if round(gap / interval) > 1:
                findings.minor(
                    f"Connector {connector}: {round(gap / interval) - 1} clock-aligned "
                    f"interval(s) of {interval} s without MeterValues",
                    frame,
                )
    measurements["intervals_s"] = gaps
    if not gaps:
        findings.info("Only one clock-aligned value per connector: no interval measured")
