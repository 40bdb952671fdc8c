"""Clock-aligned meter data pinned whole (OCPP 1.6 §9.1 ClockAlignedDataInterval,
MeterValuesAlignedData; §7.44 ReadingContext Sample.Clock; TC_071): findings with their
frames, measurements, the alignment tolerance at its bounds, boundaries counted from
midnight, several readings in one MeterValues, connectors, and the stop with 0."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from certification.judge.clock_aligned import clock_aligned_meter_values
from certification.judge.types import Finding, Frame, Judgement, RunSettings
from tests.judge.frames import START, Wire, cited

ENERGY = "Energy.Active.Import.Register"


def iso(seconds: float) -> str:
    """START (10:00:00 UTC, on every boundary of a divisor of 36,000 s) plus `seconds`."""
    moment = START + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def set_interval(wire: Wire, value: Any = "15", status: str = "Accepted") -> Frame:
    return wire.command(
        "ChangeConfiguration",
        {"key": "ClockAlignedDataInterval", "value": value},
        {"status": status},
    )


def set_aligned_data(wire: Wire, value: str) -> Frame:
    return wire.command(
        "ChangeConfiguration",
        {"key": "MeterValuesAlignedData", "value": value},
        {"status": "Accepted"},
    )


def reading(
    timestamp: str | None,
    *measurands: str | None,
    context: str | None = "Sample.Clock",
) -> dict[str, Any]:
    """A meterValue: one sampled value per measurand (None: no measurand named)."""
    values = [
        {
            "value": "1000",
            **({"context": context} if context else {}),
            **({"measurand": measurand} if measurand else {}),
        }
        for measurand in measurands or (None,)
    ]
    return {**({"timestamp": timestamp} if timestamp else {}), "sampledValue": values}


def meter_values(wire: Wire, *readings: dict[str, Any], connector: int = 1) -> Frame:
    return wire.request("MeterValues", {"connectorId": connector, "meterValue": list(readings)}, {})


def aligned(wire: Wire, *offsets: float, connector: int = 1) -> list[Frame]:
    """A clock-aligned MeterValues per offset from START, each sent at its interval's end
    (the wire's clock moves on by `step` between them)."""
    return [meter_values(wire, reading(iso(offset)), connector=connector) for offset in offsets]


def finding(severity: str, message: str, *ids: int) -> Finding:
    return Finding(severity, message, ids)  # type: ignore[arg-type]


def findings(judgement: Judgement) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(f.severity, f.message, f.frame_ids) for f in judgement.findings]


NOT_STOPPED: tuple[str, str, tuple[int, ...]] = (
    "info",
    "ClockAlignedDataInterval was not set back to 0 in the step: that the values stop was not "
    "checked",
    (),
)


# The interval ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "status"),
    [
        ("ClockAlignedDataInterval", "15", "Rejected"),
        ("ClockAlignedDataInterval", "15", "RebootRequired"),
        ("ClockAlignedDataInterval", "0", "Accepted"),
        ("ClockAlignedDataInterval", "-15", "Accepted"),
        ("ClockAlignedDataInterval", "fifteen", "Accepted"),
        ("MeterValueSampleInterval", "15", "Accepted"),
    ],
)
def test_no_interval_above_0_accepted_fails_alone(key: str, value: str, status: str) -> None:
    wire = Wire()
    wire.command("ChangeConfiguration", {"key": key, "value": value}, {"status": status})
    wire.wait(15)
    aligned(wire, 0)

    judgement = clock_aligned_meter_values(wire.context())

    assert judgement == Judgement(
        "N",
        (finding("fail", "ClockAlignedDataInterval was not set to a number of seconds above 0"),),
        {},
    )


def test_no_clock_aligned_value_after_the_change_fails_citing_the_change() -> None:
    wire = Wire()
    early = aligned(wire, 0)  # before the change: not an answer to it
    change = set_interval(wire)
    wire.wait(15)
    wire.meter_values()  # Sample.Periodic (no context)
    meter_values(wire, reading(iso(15), ENERGY, context="Sample.Periodic"))

    judgement = clock_aligned_meter_values(wire.context())

    assert early
    assert findings(judgement) == [
        NOT_STOPPED,
        (
            "fail",
            "No MeterValues with context Sample.Clock after ClockAlignedDataInterval was set to "
            "15 s",
            wire.exchange_ids(change),
        ),
    ]
    assert judgement.measurements == {"interval_s": 15, "clock_aligned_values": 0}


def test_the_first_accepted_interval_is_the_one_judged_and_an_int_value_counts() -> None:
    wire = Wire()
    set_interval(wire, 15)
    set_interval(wire, "60")
    wire.wait(15)
    aligned(wire, 0)
    wire.wait(15)
    aligned(wire, 15)

    judgement = clock_aligned_meter_values(wire.context())

    assert judgement == Judgement(
        "Y",
        (finding(NOT_STOPPED[0], NOT_STOPPED[1]),),
        {
            "interval_s": 15,
            "clock_aligned_values": 2,
            "sample_times": ["2023-09-22T10:00:00+00:00", "2023-09-22T10:00:15+00:00"],
            "largest_offset_s": 0.0,
            "intervals_s": [15.0],
        },
    )


# Alignment ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "offset", "passes"),
    [
        (60, 4, True),  # the run's tolerance, 4 s
        (60, 4.5, False),
        (60, 56, True),  # 4 s before the next boundary
        (60, 55.5, False),
        (12, 3, True),  # a quarter of the interval, below the run's tolerance
        (12, 3.5, False),
        (12, 9, True),
        (12, 8.5, False),
    ],
)
def test_a_timestamp_may_be_off_a_boundary_by_the_tolerance_at_most_a_quarter_interval(
    interval: int, offset: float, passes: bool
) -> None:
    wire = Wire()
    set_interval(wire, str(interval))
    wire.wait(interval + offset)
    (off,) = aligned(wire, offset)
    nearest = min(offset, interval - offset)

    judgement = clock_aligned_meter_values(wire.context())

    expected = [NOT_STOPPED]
    if not passes:
        moment = START + timedelta(seconds=offset)
        expected.append(
            (
                "fail",
                f"Clock-aligned MeterValues timestamped {moment:%H:%M:%S}, {nearest:g} s off "
                f"the {interval} s boundaries counted from midnight",
                cited(off),
            )
        )
    expected.append(
        ("info", "Only one clock-aligned value per connector: no interval measured", ())
    )
    assert findings(judgement) == expected
    assert judgement.verdict == ("Y" if passes else "N")
    assert judgement.measurements["largest_offset_s"] == nearest


def test_the_steps_tolerance_param_narrows_the_bound() -> None:
    wire = Wire()
    set_interval(wire, "60")
    wire.wait(62)
    (off,) = aligned(wire, 2)

    assert clock_aligned_meter_values(wire.context(tolerance_s=2)).verdict == "Y"
    assert findings(clock_aligned_meter_values(wire.context(tolerance_s=1.5)))[1] == (
        "fail",
        "Clock-aligned MeterValues timestamped 10:00:02, 2 s off the 60 s boundaries counted "
        "from midnight",
        cited(off),
    )
    assert clock_aligned_meter_values(wire.context(RunSettings(timing_tolerance_s=1))).verdict == (
        "N"
    )


def test_boundaries_are_counted_from_utc_midnight_when_the_interval_does_not_divide_a_day() -> None:
    """1,000 s does not divide 86,400 s: the day's boundaries are 00:00:00, 00:16:40, ...,
    23:53:20 and the next midnight (the day's last interval 400 s long). 10:00:00 is one
    (36,000 s); counted from the Unix epoch it would be 200 s off. A timestamp with another
    UTC offset is read in UTC."""
    wire = Wire()
    set_interval(wire, "1000")
    wire.wait(1000)
    aligned(wire, 0)
    wire.wait(1000)
    meter_values(wire, reading("2023-09-22T12:16:40+02:00"))  # 10:16:40 UTC
    wire.wait(49000)
    (before_midnight,) = aligned(wire, 50000)  # 23:53:20
    wire.wait(1000)
    (short_of_midnight,) = aligned(wire, 50380)  # 23:59:40: 20 s before midnight
    aligned(wire, 50400)  # 00:00:00 of the next day

    judgement = clock_aligned_meter_values(wire.context())

    assert findings(judgement) == [
        NOT_STOPPED,
        (
            "fail",
            "Clock-aligned MeterValues timestamped 23:59:40, 20 s off the 1000 s boundaries "
            "counted from midnight",
            cited(short_of_midnight),
        ),
        (
            "minor",
            "Connector 1: 48 clock-aligned interval(s) of 1000 s without MeterValues",
            cited(before_midnight),
        ),
    ]
    assert judgement.measurements == {
        "interval_s": 1000,
        "clock_aligned_values": 5,
        "sample_times": [
            "2023-09-22T10:00:00+00:00",
            "2023-09-22T12:16:40+02:00",
            "2023-09-22T23:53:20+00:00",
            "2023-09-22T23:59:40+00:00",
            "2023-09-23T00:00:00+00:00",
        ],
        "largest_offset_s": 20.0,
        "intervals_s": [1000.0, 49000.0, 380.0, 20.0],
    }


def test_a_reading_without_a_timestamp_fails_and_is_not_measured() -> None:
    wire = Wire()
    set_interval(wire)
    wire.wait(15)
    blank = meter_values(wire, reading(None))

    judgement = clock_aligned_meter_values(wire.context())

    assert judgement == Judgement(
        "N",
        (
            finding(NOT_STOPPED[0], NOT_STOPPED[1]),
            finding("fail", "A clock-aligned MeterValues carries no timestamp", *cited(blank)),
            finding("info", "Only one clock-aligned value per connector: no interval measured"),
        ),
        {
            "interval_s": 15,
            "clock_aligned_values": 1,
            "sample_times": [],
            "largest_offset_s": None,
            "intervals_s": [],
        },
    )


# Several readings in one MeterValues --------------------------------------------------------


def test_only_the_sample_clock_readings_of_a_meter_values_are_judged() -> None:
    """A MeterValues may carry a periodic reading beside the clock-aligned one (§4.7: one or
    more meterValue elements); its timestamp and measurands are not the aligned ones."""
    wire = Wire()
    set_aligned_data(wire, f"{ENERGY},Voltage")
    set_interval(wire)
    wire.wait(15)
    meter_values(
        wire,
        reading(iso(7), "Voltage", context="Sample.Periodic"),
        reading(iso(0), ENERGY, "Voltage"),
    )
    wire.wait(15)
    mixed = meter_values(wire, reading(iso(15), ENERGY), reading(iso(15), "Voltage", context=None))

    judgement = clock_aligned_meter_values(wire.context())

    assert findings(judgement) == [
        NOT_STOPPED,
        (
            "fail",
            "1 clock-aligned MeterValues lack Voltage, which MeterValuesAlignedData names",
            cited(mixed),
        ),
    ]
    assert judgement.measurements == {
        "interval_s": 15,
        "clock_aligned_values": 2,
        "sample_times": ["2023-09-22T10:00:00+00:00", "2023-09-22T10:00:15+00:00"],
        "largest_offset_s": 0.0,
        "intervals_s": [15.0],
    }


def test_readings_sent_together_each_count_as_an_interval() -> None:
    """A charger that was offline sends the readings it kept in one MeterValues."""
    wire = Wire()
    set_interval(wire)
    wire.wait(60)
    batch = meter_values(
        wire, reading(iso(0)), reading(iso(15)), reading(iso(30)), reading(iso(52))
    )

    judgement = clock_aligned_meter_values(wire.context())

    assert findings(judgement) == [
        NOT_STOPPED,
        (
            "fail",
            "Clock-aligned MeterValues timestamped 10:00:52, 7 s off the 15 s boundaries "
            "counted from midnight",
            cited(batch),
        ),
    ]
    assert judgement.measurements == {
        "interval_s": 15,
        "clock_aligned_values": 1,
        "sample_times": [
            "2023-09-22T10:00:00+00:00",
            "2023-09-22T10:00:15+00:00",
            "2023-09-22T10:00:30+00:00",
            "2023-09-22T10:00:52+00:00",
        ],
        "largest_offset_s": 7.0,
        "intervals_s": [15.0, 15.0, 22.0],
    }


# Intervals per connector -------------------------------------------------------------------


def test_each_connector_has_its_own_intervals_and_a_missed_one_is_minor() -> None:
    wire = Wire()
    set_interval(wire)
    wire.wait(15)
    aligned(wire, 0, connector=1)
    aligned(wire, 0, connector=2)
    wire.wait(15)
    aligned(wire, 15, connector=2)
    wire.wait(30)
    (third,) = aligned(wire, 45, connector=2)
    (late,) = aligned(wire, 45, connector=1)

    judgement = clock_aligned_meter_values(wire.context(RunSettings(connectors=2)))

    assert judgement == Judgement(
        "Y",
        (
            finding(NOT_STOPPED[0], NOT_STOPPED[1]),
            finding(
                "minor",
                "Connector 1: 2 clock-aligned interval(s) of 15 s without MeterValues",
                *cited(late),
            ),
            finding(
                "minor",
                "Connector 2: 1 clock-aligned interval(s) of 15 s without MeterValues",
                *cited(third),
            ),
        ),
        {
            "interval_s": 15,
            "clock_aligned_values": 5,
            "sample_times": [
                "2023-09-22T10:00:00+00:00",
                "2023-09-22T10:00:00+00:00",
                "2023-09-22T10:00:15+00:00",
                "2023-09-22T10:00:45+00:00",
                "2023-09-22T10:00:45+00:00",
            ],
            "largest_offset_s": 0.0,
            "intervals_s": [45.0, 15.0, 30.0],
        },
    )


@pytest.mark.parametrize(("gap", "missed"), [(21, 0), (22, 0), (23, 1), (37, 1), (38, 2)])
def test_a_gap_counts_the_whole_intervals_missed(gap: float, missed: int) -> None:
    """A gap is counted in intervals rounded to the nearest (readings may stray from their
    boundaries): 1.47 intervals is one, 1.53 two (one missed), 2.53 three."""
    wire = Wire()
    set_interval(wire, "15")
    wire.wait(15)
    aligned(wire, 0)
    wire.wait(gap)
    (second,) = aligned(wire, gap)

    judgement = clock_aligned_meter_values(wire.context())

    minors = [f for f in findings(judgement) if f[0] == "minor"]
    assert minors == (
        [
            (
                "minor",
                f"Connector 1: {missed} clock-aligned interval(s) of 15 s without MeterValues",
                cited(second),
            )
        ]
        if missed
        else []
    )
    assert judgement.measurements["intervals_s"] == [float(gap)]


# MeterValuesAlignedData -------------------------------------------------------------------


def test_every_measurand_of_the_aligned_data_is_required_and_none_named_is_energy() -> None:
    wire = Wire()
    set_aligned_data(wire, f" {ENERGY} , Voltage,,")
    set_interval(wire)
    wire.wait(15)
    unnamed = meter_values(wire, reading(iso(0), None, "Current.Import"))
    wire.wait(15)
    both = meter_values(wire, reading(iso(15), None, "Voltage"))
    set_aligned_data(wire, "Current.Import")  # after the interval: not the one judged

    judgement = clock_aligned_meter_values(wire.context())

    assert findings(judgement) == [
        NOT_STOPPED,
        (
            "fail",
            "1 clock-aligned MeterValues lack Voltage, which MeterValuesAlignedData names",
            cited(unnamed),
        ),
    ]
    assert cited(both)


def test_the_aligned_data_may_come_from_the_configuration_read_before_the_step() -> None:
    wire = Wire()
    set_interval(wire)
    wire.wait(15)
    first = meter_values(wire, reading(iso(0), ENERGY))
    wire.wait(15)
    second = meter_values(wire, reading(iso(15), ENERGY))

    judgement = clock_aligned_meter_values(
        wire.context(configuration={"MeterValuesAlignedData": "Power.Active.Import"})
    )

    assert findings(judgement)[1:] == [
        (
            "fail",
            "2 clock-aligned MeterValues lack Power.Active.Import, which MeterValuesAlignedData "
            "names",
            cited(first, second),
        )
    ]


# The stop ----------------------------------------------------------------------------------


def stopped(stop_after_s: float, next_offset: float) -> tuple[Wire, Frame, Frame, Frame]:
    """Interval 60 from 10:00:00: the reading of 10:00:00 sent at 10:01:00, the interval set
    to 0 `stop_after_s` later, the reading of the interval under way (10:01:00) sent after
    the stop, then one timestamped `next_offset` s after START."""
    wire = Wire()
    set_interval(wire, "60")
    wire.wait(60)
    aligned(wire, 0)
    wire.wait(stop_after_s)
    stop = set_interval(wire, "0")
    wire.wait(60)
    (under_way,) = aligned(wire, 60)
    wire.wait(60)
    (after,) = aligned(wire, next_offset)
    return wire, stop, under_way, after


@pytest.mark.parametrize(("stop_after_s", "late"), [(56, False), (55.5, True), (30, True)])
def test_an_interval_starting_after_the_stop_fails_beyond_the_tolerance(
    stop_after_s: float, late: bool
) -> None:
    wire, stop, _, after = stopped(stop_after_s, 120)

    judgement = clock_aligned_meter_values(wire.context())

    if late:
        assert findings(judgement) == [
            (
                "fail",
                "1 clock-aligned value(s) of intervals that started after "
                "ClockAlignedDataInterval was set to 0, which stops them",
                (*wire.exchange_ids(stop), *cited(after)),
            )
        ]
    else:
        assert findings(judgement) == []
    assert judgement.measurements == {
        "interval_s": 60,
        "after_stop_values": int(late),
        "clock_aligned_values": 3 - late,
        "sample_times": ["2023-09-22T10:00:00+00:00", "2023-09-22T10:01:00+00:00"]
        + ([] if late else ["2023-09-22T10:02:00+00:00"]),
        "largest_offset_s": 0.0,
        "intervals_s": [60.0] + ([] if late else [60.0]),
    }


def test_a_refused_stop_or_one_before_the_interval_is_no_stop() -> None:
    wire = Wire()
    set_interval(wire, "0")
    set_interval(wire, "60")
    wire.wait(60)
    aligned(wire, 0)
    set_interval(wire, "0", status="Rejected")
    wire.wait(60)
    aligned(wire, 60)

    judgement = clock_aligned_meter_values(wire.context())

    assert findings(judgement) == [NOT_STOPPED]
    assert "after_stop_values" not in judgement.measurements


def test_only_values_after_the_stop_is_no_clock_aligned_value() -> None:
    wire = Wire()
    set_interval(wire, "60")
    stop = set_interval(wire, "0")
    wire.wait(120)
    (after,) = aligned(wire, 60)

    judgement = clock_aligned_meter_values(wire.context())

    change = [f for f in wire.frames if f.action == "ChangeConfiguration"][:2]
    assert findings(judgement) == [
        (
            "fail",
            "1 clock-aligned value(s) of intervals that started after ClockAlignedDataInterval "
            "was set to 0, which stops them",
            (*wire.exchange_ids(stop), *cited(after)),
        ),
        (
            "fail",
            "No MeterValues with context Sample.Clock after ClockAlignedDataInterval was set to "
            "60 s",
            cited(*change),
        ),
    ]
    assert judgement.measurements == {
        "interval_s": 60,
        "after_stop_values": 1,
        "clock_aligned_values": 0,
    }


@pytest.mark.parametrize(
    ("timestamp", "offset", "passes"),
    [
        ("2023-09-22T10:00:04.000400Z", 4.0, True),
        ("2023-09-22T10:00:04.000500Z", 4.001, False),
        ("2023-09-22T09:59:55.999600Z", 4.0, True),
    ],
)
def test_offsets_are_measured_to_the_millisecond(
    timestamp: str, offset: float, passes: bool
) -> None:
    wire = Wire()
    set_interval(wire, "60")
    wire.wait(60)
    meter_values(wire, reading(timestamp))

    judgement = clock_aligned_meter_values(wire.context())

    assert judgement.verdict == ("Y" if passes else "N")
    assert judgement.measurements["largest_offset_s"] == offset


def test_a_one_second_interval_is_an_interval() -> None:
    wire = Wire()
    aligned(wire, -3)  # clock-aligned values of an earlier setting, before the change
    set_interval(wire, "1")
    wire.wait(1)
    aligned(wire, 0)
    wire.wait(1)
    aligned(wire, 1)

    judgement = clock_aligned_meter_values(wire.context())

    assert judgement == Judgement(
        "Y",
        (finding(NOT_STOPPED[0], NOT_STOPPED[1]),),
        {
            "interval_s": 1,
            "clock_aligned_values": 2,
            "sample_times": ["2023-09-22T10:00:00+00:00", "2023-09-22T10:00:01+00:00"],
            "largest_offset_s": 0.0,
            "intervals_s": [1.0],
        },
    )


def test_the_readings_after_one_without_a_timestamp_are_still_judged() -> None:
    wire = Wire()
    set_interval(wire)
    wire.wait(15)
    blank = meter_values(wire, reading(None))
    wire.wait(15)
    (off,) = aligned(wire, 22)

    assert findings(clock_aligned_meter_values(wire.context()))[1:3] == [
        ("fail", "A clock-aligned MeterValues carries no timestamp", cited(blank)),
        (
            "fail",
            "Clock-aligned MeterValues timestamped 10:00:22, 7 s off the 15 s boundaries "
            "counted from midnight",
            cited(off),
        ),
    ]


def test_intervals_are_measured_to_the_millisecond() -> None:
    wire = Wire()
    set_interval(wire)
    wire.wait(15)
    meter_values(wire, reading("2023-09-22T10:00:00.000400Z"))
    wire.wait(15)
    meter_values(wire, reading("2023-09-22T10:00:15Z"))

    judgement = clock_aligned_meter_values(wire.context())

    assert judgement.measurements["intervals_s"] == [15.0]
