"""The full plan's clock-aligned meter data: MeterValues of context Sample.Clock on the
boundaries of ClockAlignedDataInterval, counted from midnight."""

from __future__ import annotations

from collections.abc import Sequence
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
    reading_contexts,
    sample_time,
    sampled_values,
)
from certification.judge.types import Frame, Judgement, StepContext

# MeterValuesAlignedData's measurand when a reading names none (OCPP 1.6 §7.31 default).
DEFAULT_MEASURAND = "Energy.Active.Import.Register"


def _interval_change(frames: Sequence[Frame]) -> Exchange | None:
    """The accepted ChangeConfiguration that set ClockAlignedDataInterval above 0."""
    changes = [
        change
        for change in accepted_changes(frames)
        if change.request.get("key") == "ClockAlignedDataInterval"
        and (as_int(change.request.get("value")) or 0) > 0
    ]
    return changes[0] if changes else None


def _clock_aligned(frames: Sequence[Frame], after: Frame) -> list[Frame]:
    return [
        frame
        for frame in calls(frames, "MeterValues")
        if is_after(frame, after) and "Sample.Clock" in reading_contexts(frame)
    ]


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
    enabled) at the end of each interval, bearing the interval start time timestamp".
    MeterValuesAlignedData: the "Clock-aligned measurand(s) to be included in a
    MeterValues.req PDU, every ClockAlignedDataInterval seconds". ReadingContext
    Sample.Clock: "Value taken at clock aligned interval".

    A timestamp may be off a boundary by the run's timing tolerance, at most a quarter of
    the interval.
    Measures: interval_s, clock_aligned_values, sample_times, largest_offset_s,
    intervals_s.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    change = _interval_change(frames)
    if change is None:
        findings.fail("ClockAlignedDataInterval was not set to a number of seconds above 0")
        return findings.judgement(measurements)
    interval = as_int(change.request.get("value")) or 0
    measurements["interval_s"] = interval
    aligned = _clock_aligned(frames, change.last)
    measurements["clock_aligned_values"] = len(aligned)
    if not aligned:
        findings.fail(
            f"No MeterValues with context Sample.Clock after ClockAlignedDataInterval was set "
            f"to {interval} s",
            *change.frames,
        )
        return findings.judgement(measurements)
    tolerance = min(timing_tolerance(context), interval / 4)
    times = [(frame, sample_time(frame)) for frame in aligned]
    measurements["sample_times"] = [t.isoformat() for _, t in times if t is not None]
    offsets = []
    for frame, time in times:
        if time is None:
            findings.fail("A clock-aligned MeterValues carries no timestamp", frame)
            continue
        offset = round(time.timestamp() % interval, 3)
        offset = min(offset, round(interval - offset, 3))
        offsets.append(offset)
        if offset > tolerance:
            findings.fail(
                f"Clock-aligned MeterValues timestamped {time:%H:%M:%S}, "
                f"{format_seconds(offset)} off the {interval} s boundaries counted from midnight",
                frame,
            )
    measurements["largest_offset_s"] = max(offsets, default=None)
    _check_intervals(times, interval, findings, measurements)
    wanted = known_setting(context, "MeterValuesAlignedData", before=change.call)
    if wanted:
        for measurand in (name.strip() for name in wanted.split(",") if name.strip()):
            lacking = [
                frame
                for frame in aligned
                if measurand
                not in {str(v.get("measurand") or DEFAULT_MEASURAND) for v in sampled_values(frame)}
            ]
            if lacking:
                findings.fail(
                    f"{len(lacking)} clock-aligned MeterValues lack {measurand}, which "
                    "MeterValuesAlignedData names",
                    *lacking,
                )
    return findings.judgement(measurements)


def _check_intervals(
    times: list[tuple[Frame, Any]],
    interval: int,
    findings: Findings,
    measurements: dict[str, Any],
) -> None:
    """Consecutive clock-aligned values of a connector are one interval apart; a missed
    interval is a minor finding (the alignment itself is checked per value)."""
    by_connector: dict[int | None, list[tuple[Frame, Any]]] = {}
    for frame, time in times:
        if time is not None:
            by_connector.setdefault(connector_of(frame), []).append((frame, time))
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
