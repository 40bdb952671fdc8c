"""The full plan's Smart Charging steps pinned whole (OCPP 1.6 §3.13, §5.5, §5.7, §5.16;
TC_056, TC_057, TC_058_1, TC_058_2, TC_066, TC_067, TC_072): findings with their frames,
measurements, profiles on connector 0 and on another connector, A and W, and every bound
at, just inside and just outside it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from certification.judge.smart_charging import (
    expected_limit,
    stacked_profiles,
    tx_default_profile,
    tx_profile,
    tx_profile_refusals,
)
from certification.judge.types import Finding, Frame, Judgement, RunSettings
from tests.judge.frames import START, Wire, absolute_profile, cited, stamp


def findings(judgement: Judgement) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(f.severity, f.message, f.frame_ids) for f in judgement.findings]


def profile(
    purpose: str,
    limit: Any = 6000.0,
    *,
    profile_id: int = 201,
    unit: str = "W",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "chargingProfileId": profile_id,
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
        },
        **extra,
    }


def set_profile(
    wire: Wire, connector: int | None, charging_profile: dict[str, Any], answer: str = "Accepted"
) -> Frame:
    request: dict[str, Any] = {"csChargingProfiles": charging_profile}
    if connector is not None:
        request["connectorId"] = connector
    return wire.command("SetChargingProfile", request, {"status": answer})


def read_composite(
    wire: Wire,
    periods: list[dict[str, Any]] | None,
    *,
    unit: str | None = "W",
    status: str = "Accepted",
    connector: int = 1,
    duration: int = 3600,
    **reply: Any,
) -> Frame:
    schedule: dict[str, Any] = {}
    if unit is not None:
        schedule["chargingRateUnit"] = unit
    if periods is not None:
        schedule["chargingSchedulePeriod"] = periods
    answer: dict[str, Any] = {"status": status, **reply}
    if status == "Accepted":
        answer.update(connectorId=connector, chargingSchedule=schedule)
    return wire.command(
        "GetCompositeSchedule",
        {"connectorId": connector, "duration": duration, "chargingRateUnit": "W"},
        answer,
    )


def clear(wire: Wire, answer: str = "Accepted", **request: Any) -> Frame:
    return wire.command("ClearChargingProfile", request or {"id": 201}, {"status": answer})


def fail(message: str, *frames: Frame) -> Finding:
    return Finding("fail", message, cited(*frames))


def reply_of(wire: Wire, call: Frame) -> Frame:
    return next(f for f in wire.frames if f.unique_id == call.unique_id and f is not call)


# tx_default_profile (TC_056, TC_066, TC_067) ----------------------------------------------


def default_step(
    composite_limit: Any = 6000.0,
    *,
    charging_profile: dict[str, Any] | None = None,
    composite_unit: str | None = "W",
    connector: int = 0,
) -> Wire:
    wire = Wire()
    set_profile(wire, connector, charging_profile or profile("TxDefaultProfile", 6000.0))
    read_composite(wire, [{"startPeriod": 0, "limit": composite_limit}], unit=composite_unit)
    clear(wire)
    return wire


def test_a_default_profile_read_back_at_its_limit_and_cleared_passes_with_nothing_to_say() -> None:
    assert tx_default_profile(default_step(6000.0).context()) == Judgement(
        "Y", (), {"limit_set": 6000.0, "unit": "W", "composite_limit": 6000.0}
    )


def test_a_composite_below_the_profile_passes_a_max_profile_may_cap_it() -> None:
    assert tx_default_profile(default_step(4000).context()) == Judgement(
        "Y", (), {"limit_set": 6000.0, "unit": "W", "composite_limit": 4000.0}
    )


@pytest.mark.parametrize(("read", "passes"), [(6000.0, True), (6000.5, False), (6001, False)])
def test_the_composite_limit_is_judged_at_the_profiles_limit(read: float, passes: bool) -> None:
    wire = default_step(read)
    composite = wire.frames[2]

    judgement = tx_default_profile(wire.context())

    assert findings(judgement) == (
        []
        if passes
        else [
            (
                "fail",
                f"The composite schedule allows {read:g} W where the TxDefaultProfile limits "
                "to 6000 W",
                cited(composite, wire.frames[3]),
            )
        ]
    )
    assert judgement.verdict == ("Y" if passes else "N")


def test_limits_in_a_are_compared_in_a() -> None:
    wire = default_step(
        32, charging_profile=profile("TxDefaultProfile", 16, unit="A"), composite_unit="A"
    )

    assert tx_default_profile(wire.context()) == Judgement(
        "N",
        (
            fail(
                "The composite schedule allows 32 A where the TxDefaultProfile limits to 16 A",
                wire.frames[2],
                wire.frames[3],
            ),
        ),
        {"limit_set": 16.0, "unit": "A", "composite_limit": 32.0},
    )


def test_a_composite_in_another_unit_is_not_compared_and_one_without_a_unit_is() -> None:
    in_amps = default_step(16, composite_unit="A")
    in_watts = default_step(
        3680, charging_profile=profile("TxDefaultProfile", 16, unit="A"), composite_unit="W"
    )
    without_unit = default_step(7000, composite_unit=None)

    assert tx_default_profile(in_amps.context()) == Judgement(
        "Y", (), {"limit_set": 6000.0, "unit": "W", "composite_limit": 16.0}
    )
    assert tx_default_profile(in_watts.context()) == Judgement(
        "Y", (), {"limit_set": 16.0, "unit": "A", "composite_limit": 3680.0}
    )
    assert findings(tx_default_profile(without_unit.context())) == [
        (
            "fail",
            "The composite schedule allows 7000 W where the TxDefaultProfile limits to 6000 W",
            cited(without_unit.frames[2], without_unit.frames[3]),
        )
    ]


@pytest.mark.parametrize(
    "periods",
    [[], [{"startPeriod": 0}], ["6000"], [{"startPeriod": 0, "limit": "many"}]],
)
def test_a_profile_without_a_readable_limit_is_not_compared(periods: list[Any]) -> None:
    charging_profile = profile("TxDefaultProfile")
    charging_profile["chargingSchedule"]["chargingSchedulePeriod"] = periods

    judgement = tx_default_profile(default_step(9000, charging_profile=charging_profile).context())

    assert judgement == Judgement(
        "Y", (), {"limit_set": None, "unit": "W", "composite_limit": 9000.0}
    )


def test_a_limit_sent_as_a_string_counts_as_its_number() -> None:
    judgement = tx_default_profile(
        default_step(6500, charging_profile=profile("TxDefaultProfile", "6000")).context()
    )

    assert judgement.measurements == {"limit_set": 6000.0, "unit": "W", "composite_limit": 6500.0}
    assert [m for _, m, _ in findings(judgement)] == [
        "The composite schedule allows 6500 W where the TxDefaultProfile limits to 6000 W"
    ]


def test_a_schedule_without_a_unit_measures_none() -> None:
    charging_profile = profile("TxDefaultProfile")
    del charging_profile["chargingSchedule"]["chargingRateUnit"]

    judgement = tx_default_profile(default_step(5000, charging_profile=charging_profile).context())

    assert judgement == Judgement(
        "Y", (), {"limit_set": 6000.0, "unit": None, "composite_limit": 5000.0}
    )


def test_a_step_without_a_default_profile_says_so_whatever_else_was_set() -> None:
    wire = Wire()
    set_profile(wire, 1, profile("TxProfile"))
    set_profile(wire, 0, profile("ChargePointMaxProfile"))
    wire.command("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": "x"}, {})
    read_composite(wire, [{"startPeriod": 0, "limit": 6000}])
    clear(wire)

    assert tx_default_profile(wire.context()) == Judgement(
        "N",
        (fail("No SetChargingProfile with a TxDefaultProfile was sent to the charger"),),
        {},
    )


@pytest.mark.parametrize("answer", ["Rejected", "NotSupported"])
def test_a_refused_default_profile_ends_the_judgement_there(answer: str) -> None:
    wire = Wire()
    setting = set_profile(wire, 0, profile("TxDefaultProfile"), answer)

    assert tx_default_profile(wire.context()) == Judgement(
        "N",
        (
            fail(
                f"SetChargingProfile(TxDefaultProfile) answered {answer} where Accepted was "
                "expected",
                setting,
                wire.frames[1],
            ),
        ),
        {"limit_set": 6000.0, "unit": "W"},
    )


def test_the_first_default_profile_is_the_one_judged() -> None:
    wire = Wire()
    set_profile(wire, 0, profile("TxDefaultProfile", 6000.0))
    set_profile(wire, 0, profile("TxDefaultProfile", 9000.0, profile_id=202))
    read_composite(wire, [{"startPeriod": 0, "limit": 7000}])
    clear(wire)

    judgement = tx_default_profile(wire.context())

    assert judgement.measurements == {"limit_set": 6000.0, "unit": "W", "composite_limit": 7000.0}
    assert judgement.verdict == "N"


def test_composite_and_clear_before_the_profile_was_set_do_not_count() -> None:
    wire = Wire()
    read_composite(wire, [{"startPeriod": 0, "limit": 6000}])
    clear(wire)
    setting = set_profile(wire, 0, profile("TxDefaultProfile"))

    assert tx_default_profile(wire.context()) == Judgement(
        "N",
        (
            fail("No GetCompositeSchedule after the profile was set"),
            fail("No ClearChargingProfile of TxDefaultProfile 201 after it was set"),
        ),
        {"limit_set": 6000.0, "unit": "W"},
    )
    assert setting.id == 5


def test_a_clear_of_another_profile_may_be_unknown_and_does_not_clear_this_one() -> None:
    """§5.5: a ClearChargingProfile clears the profile of its id, or those matching its
    criteria; the charger answers Unknown when none does."""
    wire = Wire()
    set_profile(wire, 1, profile("TxDefaultProfile"))
    read_composite(wire, [{"startPeriod": 0, "limit": 6000}])
    clear(wire, "Unknown", id=999)
    clear(wire, "Unknown", connectorId=2)
    clear(wire, "Unknown", chargingProfilePurpose="ChargePointMaxProfile")
    clear(wire, "Unknown", stackLevel=3)
    only_others = Wire()
    only_others.frames = list(wire.frames)
    clear(wire, "Accepted", connectorId=1, chargingProfilePurpose="TxDefaultProfile")

    assert tx_default_profile(wire.context()) == Judgement(
        "Y", (), {"limit_set": 6000.0, "unit": "W", "composite_limit": 6000.0}
    )
    assert findings(tx_default_profile(only_others.context())) == [
        ("fail", "No ClearChargingProfile of TxDefaultProfile 201 after it was set", ())
    ]


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"id": 201},
        {"stackLevel": 0},
        {"connectorId": 1},
        {"chargingProfilePurpose": "TxDefaultProfile"},
    ],
)
def test_a_clear_matching_the_profile_set_is_judged(request_: dict[str, Any]) -> None:
    wire = Wire()
    set_profile(wire, 1, profile("TxDefaultProfile"))
    read_composite(wire, [{"startPeriod": 0, "limit": 6000}])
    cleared = wire.command("ClearChargingProfile", request_, {"status": "Unknown"})

    assert findings(tx_default_profile(wire.context())) == [
        (
            "fail",
            "ClearChargingProfile of the profile set answered Unknown where Accepted was expected",
            cited(cleared, reply_of(wire, cleared)),
        )
    ]


def test_only_a_composite_of_a_connector_the_profile_applies_to_is_judged() -> None:
    on_1 = Wire()
    set_profile(on_1, 1, profile("TxDefaultProfile"))
    read_composite(on_1, [{"startPeriod": 0, "limit": 22000}], connector=2)
    clear(on_1)
    on_0 = Wire()
    set_profile(on_0, 0, profile("TxDefaultProfile"))
    read_composite(on_0, [{"startPeriod": 0, "limit": 9000}], connector=2)
    clear(on_0)

    assert tx_default_profile(on_1.context()) == Judgement(
        "N",
        (fail("No GetCompositeSchedule of connector 1 after the profile was set"),),
        {"limit_set": 6000.0, "unit": "W"},
    )
    assert [m for _, m, _ in findings(tx_default_profile(on_0.context()))] == [
        "The composite schedule allows 9000 W where the TxDefaultProfile limits to 6000 W"
    ]
    read_composite(on_1, [{"startPeriod": 0, "limit": 5000}], connector=1)
    assert tx_default_profile(on_1.context()).verdict == "Y"


def test_a_refused_composite_and_a_refused_clear_are_named_with_their_frames() -> None:
    wire = Wire()
    set_profile(wire, 0, profile("TxDefaultProfile"))
    composite = read_composite(wire, None, status="Rejected")
    cleared = clear(wire, "Unknown")

    assert tx_default_profile(wire.context()) == Judgement(
        "N",
        (
            fail(
                "GetCompositeSchedule answered Rejected where Accepted was expected",
                composite,
                reply_of(wire, composite),
            ),
            fail(
                "ClearChargingProfile of the profile set answered Unknown where Accepted was "
                "expected",
                cleared,
                reply_of(wire, cleared),
            ),
        ),
        {"limit_set": 6000.0, "unit": "W"},
    )


def test_only_the_first_composite_and_the_first_clear_after_the_profile_are_judged() -> None:
    wire = Wire()
    set_profile(wire, 0, profile("TxDefaultProfile"))
    read_composite(wire, [{"startPeriod": 0, "limit": 6000}])
    read_composite(wire, [{"startPeriod": 0, "limit": 9000}])
    clear(wire)
    clear(wire, "Unknown")

    assert tx_default_profile(wire.context()) == Judgement(
        "Y", (), {"limit_set": 6000.0, "unit": "W", "composite_limit": 6000.0}
    )


@pytest.mark.parametrize("periods", [None, [], [{"startPeriod": 0}]])
def test_a_composite_without_a_period_limit_is_named(periods: list[Any] | None) -> None:
    wire = Wire()
    set_profile(wire, 0, profile("TxDefaultProfile"))
    composite = read_composite(wire, periods)
    clear(wire)

    assert tx_default_profile(wire.context()) == Judgement(
        "N",
        (
            fail(
                "GetCompositeSchedule answered without a schedule period",
                composite,
                reply_of(wire, composite),
            ),
        ),
        {"limit_set": 6000.0, "unit": "W", "composite_limit": None},
    )


def test_a_composite_without_a_schedule_is_named() -> None:
    wire = Wire()
    set_profile(wire, 0, profile("TxDefaultProfile"))
    composite = wire.command(
        "GetCompositeSchedule", {"connectorId": 1, "duration": 60}, {"status": "Accepted"}
    )
    clear(wire, chargingProfilePurpose="TxDefaultProfile")

    assert findings(tx_default_profile(wire.context())) == [
        (
            "fail",
            "GetCompositeSchedule answered without a schedule period",
            cited(composite, reply_of(wire, composite)),
        )
    ]


def test_a_composite_and_a_clear_that_got_no_reply_are_named() -> None:
    wire = Wire()
    set_profile(wire, 0, profile("TxDefaultProfile"))
    composite = wire.call_out("GetCompositeSchedule", {"connectorId": 1, "duration": 60})
    cleared = wire.call_out("ClearChargingProfile", {"id": 201})

    assert findings(tx_default_profile(wire.context())) == [
        (
            "fail",
            "GetCompositeSchedule got no reply from the charger; Accepted was expected",
            cited(composite),
        ),
        (
            "fail",
            "ClearChargingProfile of the profile set got no reply from the charger; Accepted "
            "was expected",
            cited(cleared),
        ),
    ]


# tx_profile (TC_057) -----------------------------------------------------------------------


def power(
    wire: Wire,
    value: str,
    *,
    connector: int = 1,
    unit: str | None = "W",
    measurand: str = "Power.Active.Import",
    before: list[Any] | None = None,
) -> Frame:
    sampled: dict[str, Any] = {"value": value, "measurand": measurand}
    if unit is not None:
        sampled["unit"] = unit
    return wire.request(
        "MeterValues",
        {
            "connectorId": connector,
            "transactionId": 42,
            "meterValue": [
                {"timestamp": stamp(wire.now), "sampledValue": [*(before or []), sampled]}
            ],
        },
        {},
    )


def limited(limit: Any = 3000.0, unit: str = "W", connector: int = 1, **extra: Any) -> Wire:
    wire = Wire()
    wire.start_transaction(connector=connector, transaction_id=42)
    set_profile(wire, connector, profile("TxProfile", limit, unit=unit, transactionId=42, **extra))
    return wire


def test_power_within_the_tx_profile_passes_with_its_measurements() -> None:
    wire = limited()
    wire.wait(10)
    power(wire, "3000")
    wire.wait(10)
    power(wire, "2.5", unit="kW")

    assert tx_profile(wire.context()) == Judgement(
        "Y", (), {"limit_w": 3000.0, "powers_w": [3000.0, 2500.0]}
    )


@pytest.mark.parametrize(
    ("value", "unit", "passes"),
    [("3150", "W", True), ("3150.5", "W", False), ("3.15", "kW", True), ("3.151", "kW", False)],
)
def test_the_power_is_judged_at_the_tolerance_bound(value: str, unit: str, passes: bool) -> None:
    wire = limited()
    wire.wait(10)
    reported = power(wire, value, unit=unit)
    watts = float(value) * (1000 if unit == "kW" else 1)

    judgement = tx_profile(wire.context())

    assert judgement == Judgement(
        "Y" if passes else "N",
        ()
        if passes
        else (
            fail(
                f"MeterValues reported {watts:g} W after the TxProfile limited connector 1 to "
                "3000 W",
                reported,
            ),
        ),
        {"limit_w": 3000.0, "powers_w": [watts]},
    )


@pytest.mark.parametrize(("tolerance", "passes"), [(0, False), (0.1, True), (0.0001, False)])
def test_the_tolerance_comes_from_the_params_and_zero_means_none(
    tolerance: float, passes: bool
) -> None:
    wire = limited()
    wire.wait(10)
    power(wire, "3001")

    assert tx_profile(wire.context(tolerance=tolerance)).verdict == ("Y" if passes else "N")


def test_the_first_power_over_the_limit_is_the_one_named() -> None:
    wire = limited()
    wire.wait(10)
    power(wire, "2000")
    first = power(wire, "5000")
    power(wire, "6000")

    assert findings(tx_profile(wire.context())) == [
        (
            "fail",
            "MeterValues reported 5000 W after the TxProfile limited connector 1 to 3000 W",
            cited(first),
        )
    ]


@pytest.mark.parametrize(
    ("params", "limit_w"), [({}, 11040.0), ({"phases": 1}, 3680.0), ({"phases": 0}, 11040.0)]
)
def test_a_limit_in_a_counts_at_230_v_per_phase(params: dict[str, Any], limit_w: float) -> None:
    wire = limited(16, unit="A")
    wire.wait(10)
    power(wire, "3000")

    assert tx_profile(wire.context(**params)) == Judgement(
        "Y", (), {"limit_w": limit_w, "powers_w": [3000.0]}
    )


def one_phase(limit: float, phases: Any) -> Wire:
    wire = limited(limit, unit="A")
    set_call = wire.frames[2]
    periods = set_call.payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"]  # type: ignore[index]
    periods[0]["numberPhases"] = phases
    return wire


def test_a_limit_in_a_counts_on_the_phases_the_profile_allows() -> None:
    """ChargingSchedulePeriod.numberPhases: "The number of phases that can be used for
    charging"; 16 A on one phase is 3680 W, and 9 kW on three phases is over it."""
    wire = one_phase(16, 1)
    wire.wait(10)
    over = power(wire, "9000")

    assert tx_profile(wire.context()) == Judgement(
        "N",
        (
            fail(
                "MeterValues reported 9000 W after the TxProfile limited connector 1 to 3680 W",
                over,
            ),
        ),
        {"limit_w": 3680.0, "powers_w": [9000.0]},
    )


@pytest.mark.parametrize(
    ("phases", "params", "limit_w"),
    [
        (2, {}, 7360.0),
        (3, {"phases": 1}, 3680.0),
        (2, {"phases": 3}, 7360.0),
        (0, {}, 11040.0),
        ("1", {}, 11040.0),
        (None, {"phases": 2}, 7360.0),
        (None, {"phases": 4}, 11040.0),
        (6, {}, 11040.0),
        (6, {"phases": 0}, 11040.0),
    ],
)
def test_the_phases_are_the_fewer_of_the_profiles_and_the_chargers(
    phases: Any, params: dict[str, Any], limit_w: float
) -> None:
    wire = one_phase(16, phases)
    wire.wait(10)
    power(wire, "100")

    assert tx_profile(wire.context(**params)).measurements == {
        "limit_w": limit_w,
        "powers_w": [100.0],
    }


def test_power_before_the_profile_and_on_another_connector_is_not_judged() -> None:
    wire = Wire()
    wire.start_transaction(connector=2, transaction_id=42)
    power(wire, "9000", connector=2)
    set_profile(wire, 2, profile("TxProfile", 3000.0, transactionId=42))
    wire.wait(10)
    power(wire, "9000", connector=1)
    power(wire, "2900", connector=2)

    assert tx_profile(wire.context(RunSettings(connectors=2))) == Judgement(
        "Y", (), {"limit_w": 3000.0, "powers_w": [2900.0]}
    )


def test_without_a_connector_every_connectors_power_counts() -> None:
    wire = Wire()
    wire.start_transaction(transaction_id=42)
    set_profile(wire, None, profile("TxProfile", 3000.0, transactionId=42))
    over = power(wire, "9000", connector=2)

    assert tx_profile(wire.context()) == Judgement(
        "N",
        (
            fail(
                "MeterValues reported 9000 W after the TxProfile limited connector None to 3000 W",
                over,
            ),
        ),
        {"limit_w": 3000.0, "powers_w": [9000.0]},
    )


def test_only_power_readings_count_and_the_first_one_of_a_frame() -> None:
    wire = limited()
    wire.wait(10)
    power(wire, "9000", measurand="Energy.Active.Import.Register", unit="Wh")
    power(
        wire,
        "2800",
        before=["garbage", {"value": "99999", "measurand": "Current.Import", "unit": "A"}],
    )
    power(wire, "2000", before=[{"value": "2900", "measurand": "Power.Active.Import"}])
    power(wire, "unreadable")

    assert tx_profile(wire.context()) == Judgement(
        "Y", (), {"limit_w": 3000.0, "powers_w": [2800.0, 2900.0]}
    )


def test_a_power_in_w_is_not_scaled_and_a_missing_unit_means_w() -> None:
    wire = limited()
    wire.wait(10)
    power(wire, "3100", unit=None)
    power(wire, "3", unit="W")

    assert tx_profile(wire.context()).measurements == {
        "limit_w": 3000.0,
        "powers_w": [3100.0, 3.0],
    }


def test_no_power_reading_after_the_profile_fails_with_what_was_measured() -> None:
    wire = limited()
    wire.meter_values()
    power(wire, "100", measurand="Power.Offered")

    assert tx_profile(wire.context()) == Judgement(
        "N",
        (
            fail(
                "No MeterValues with Power.Active.Import after the TxProfile: the limit cannot "
                "be seen followed"
            ),
        ),
        {"limit_w": 3000.0, "powers_w": []},
    )


def test_a_step_without_a_tx_profile_says_so() -> None:
    wire = Wire()
    set_profile(wire, 1, profile("TxDefaultProfile"))
    power(wire, "100")

    assert tx_profile(wire.context()) == Judgement(
        "N",
        (fail("No SetChargingProfile with a TxProfile was sent to the charger"),),
        {},
    )


def test_a_refused_tx_profile_is_named_with_its_connector() -> None:
    wire = Wire()
    setting = set_profile(wire, 2, profile("TxProfile"), "Rejected")
    power(wire, "100", connector=2)

    assert tx_profile(wire.context()) == Judgement(
        "N",
        (
            fail(
                "SetChargingProfile(TxProfile, connector 2) answered Rejected where Accepted "
                "was expected",
                setting,
                reply_of(wire, setting),
            ),
        ),
        {},
    )


def test_a_tx_profile_without_a_limit_has_nothing_to_follow() -> None:
    charging_profile = profile("TxProfile")
    charging_profile["chargingSchedule"]["chargingSchedulePeriod"] = []
    wire = Wire()
    setting = set_profile(wire, 1, charging_profile)
    power(wire, "100")

    assert tx_profile(wire.context()) == Judgement(
        "N", (fail("The TxProfile sent has no limit to follow", setting),), {}
    )


def test_the_first_tx_profile_is_the_one_followed() -> None:
    wire = limited(3000.0)
    set_profile(wire, 1, profile("TxProfile", 9000.0, profile_id=202, transactionId=42))
    wire.wait(10)
    over = power(wire, "5000")

    assert findings(tx_profile(wire.context())) == [
        (
            "fail",
            "MeterValues reported 5000 W after the TxProfile limited connector 1 to 3000 W",
            cited(over),
        )
    ]


# stacked_profiles (TC_072) -----------------------------------------------------------------


LATER = stamp(START + timedelta(hours=1))

# TC_072's stack: stack 0 (6, 8, 10 kW at 0, 100, 200 s for 400 s), stack 1 (4 kW for 150 s),
# a 7 kW ChargePointMaxProfile and a stack 2 profile valid only an hour later (1 kW).
TC_072 = [
    (1, absolute_profile("TxDefaultProfile", 301, 0, [(0, 6000), (100, 8000), (200, 10000)], 400)),
    (1, absolute_profile("TxDefaultProfile", 302, 1, [(0, 4000)], 150)),
    (0, absolute_profile("ChargePointMaxProfile", 303, 0, [(0, 7000)])),
    (1, absolute_profile("TxDefaultProfile", 304, 2, [(0, 1000)], validFrom=LATER)),
]


def composite_periods(periods: list[Any]) -> list[dict[str, Any]]:
    """(startPeriod, limit) pairs as periods; periods given whole are kept."""
    return [p if isinstance(p, dict) else {"startPeriod": p[0], "limit": p[1]} for p in periods]


def stack(
    composite: list[Any],
    profiles: list[tuple[int, dict[str, Any]]] | None = None,
    *,
    connector: int = 1,
    duration: int = 400,
    composite_duration: int | None = 400,
    unit: str = "W",
    schedule_start: bool = True,
) -> Wire:
    wire = Wire()
    for on, charging_profile in TC_072 if profiles is None else profiles:
        set_profile(wire, on, charging_profile)
    reply: dict[str, Any] = {}
    if schedule_start:
        reply["scheduleStart"] = stamp(START)
    read_composite(
        wire,
        composite_periods(composite),
        unit=unit,
        connector=connector,
        duration=duration,
        **reply,
    )
    if composite_duration is not None:
        wire.frames[-1].payload["chargingSchedule"]["duration"] = composite_duration  # type: ignore[index]
    return wire


TC_072_ROWS = [(0.0, 4000.0), (100.0, 4000.0), (150.0, 7000.0), (200.0, 7000.0)]


def test_a_composite_following_stack_levels_validity_and_the_max_profile_passes() -> None:
    assert stacked_profiles(stack([(0, 4000), (150, 7000)]).context()) == Judgement(
        "Y", (), {"expected": TC_072_ROWS, "reported": TC_072_ROWS}
    )


def test_each_stretch_the_composite_gets_wrong_is_a_finding_with_its_source() -> None:
    wire = stack([(0, 6000), (100, 8000), (200, 10000)])
    composite = cited(wire.frames[-2], wire.frames[-1])

    assert stacked_profiles(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "The composite schedule allows 6000 W 0 s after its start, where "
                "TxDefaultProfile 302 (stack level 1) sets 4000 W for connector 1",
                composite,
            ),
            Finding(
                "fail",
                "The composite schedule allows 8000 W 100 s after its start, where "
                "TxDefaultProfile 302 (stack level 1) sets 4000 W for connector 1",
                composite,
            ),
            Finding(
                "fail",
                "The composite schedule allows 8000 W 150 s after its start, where "
                "ChargePointMaxProfile 303 (stack level 0) sets 7000 W for connector 1",
                composite,
            ),
            Finding(
                "fail",
                "The composite schedule allows 10000 W 200 s after its start, where "
                "ChargePointMaxProfile 303 (stack level 0) sets 7000 W for connector 1",
                composite,
            ),
        ),
        {
            "expected": TC_072_ROWS,
            "reported": [(0.0, 6000.0), (100.0, 8000.0), (150.0, 8000.0), (200.0, 10000.0)],
        },
    )


def test_a_composite_shorter_than_the_profiles_sets_no_limit_where_they_do() -> None:
    wire = stack([(0, 4000), (150, 7000)], composite_duration=150)

    assert stacked_profiles(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "The composite schedule sets no limit 150 s after its start, where "
                "ChargePointMaxProfile 303 (stack level 0) limits connector 1 to 7000 W",
                cited(wire.frames[-2], wire.frames[-1]),
            ),
            Finding(
                "fail",
                "The composite schedule sets no limit 200 s after its start, where "
                "ChargePointMaxProfile 303 (stack level 0) limits connector 1 to 7000 W",
                cited(wire.frames[-2], wire.frames[-1]),
            ),
        ),
        {
            "expected": TC_072_ROWS,
            "reported": [(0.0, 4000.0), (100.0, 4000.0), (150.0, None), (200.0, None)],
        },
    )


@pytest.mark.parametrize(
    ("reported", "passes"),
    [(4040, True), (3960, True), (4041, False), (3959, False)],
)
def test_a_reported_limit_may_differ_by_one_percent(reported: float, passes: bool) -> None:
    wire = stack([(0, reported), (150, 7000)])

    assert stacked_profiles(wire.context()).verdict == ("Y" if passes else "N")


@pytest.mark.parametrize(("reported", "passes"), [(51, True), (49, True), (51.5, False)])
def test_a_small_limit_may_differ_by_one_watt(reported: float, passes: bool) -> None:
    wire = stack(
        [(0, reported)], [(0, absolute_profile("ChargePointMaxProfile", 303, 0, [(0, 50)]))]
    )

    judgement = stacked_profiles(wire.context())

    assert judgement.verdict == ("Y" if passes else "N")
    assert judgement.measurements["expected"] == [(0.0, 50.0)]


def test_a_composite_in_a_counts_at_230_v_per_phase_and_its_number_of_phases() -> None:
    profiles = [
        (0, absolute_profile("ChargePointMaxProfile", 303, 0, [(0, 5520), (100, 5520)])),
        (0, absolute_profile("ChargePointMaxProfile", 304, 1, [(200, 11040)], 400)),
    ]
    composite = [
        {"startPeriod": 0, "limit": 8},
        {"startPeriod": 100, "limit": 24, "numberPhases": 1},
        {"startPeriod": 200, "limit": 16},
    ]

    judgement = stacked_profiles(stack(composite, profiles, unit="A").context())

    rows = [(0.0, 5520.0), (100.0, 5520.0), (200.0, 11040.0)]
    assert judgement == Judgement("Y", (), {"expected": rows, "reported": rows})


def test_a_profile_in_a_counts_at_its_own_number_of_phases() -> None:
    profiles = [
        (0, absolute_profile("ChargePointMaxProfile", 303, 0, [(0, 16)], unit="A", phases=1)),
        (1, absolute_profile("TxDefaultProfile", 301, 0, [(0, 16)], unit="A")),
    ]

    judgement = stacked_profiles(stack([(0, 3680)], profiles).context())

    assert judgement == Judgement(
        "Y", (), {"expected": [(0.0, 3680.0)], "reported": [(0.0, 3680.0)]}
    )


def test_no_accepted_profile_no_composite_or_a_refused_one_is_named() -> None:
    refused = Wire()
    set_profile(refused, 1, TC_072[0][1], "Rejected")
    read_composite(refused, composite_periods([(0, 6000)]))
    without = Wire()
    set_profile(without, 1, TC_072[0][1])
    not_read = Wire()
    set_profile(not_read, 1, TC_072[0][1])
    composite = read_composite(not_read, None, status="Rejected")

    assert stacked_profiles(refused.context()) == Judgement(
        "N", (fail("No SetChargingProfile was Accepted in the step"),), {}
    )
    assert stacked_profiles(without.context()) == Judgement(
        "N", (fail("No GetCompositeSchedule after the profiles were set"),), {}
    )
    assert stacked_profiles(not_read.context()) == Judgement(
        "N",
        (
            fail(
                "GetCompositeSchedule answered Rejected where Accepted was expected",
                composite,
                reply_of(not_read, composite),
            ),
        ),
        {},
    )


def test_the_last_composite_is_the_one_judged() -> None:
    wire = stack([(0, 9000)])
    read_composite(
        wire, composite_periods([(0, 4000), (150, 7000)]), duration=400, scheduleStart=stamp(START)
    )

    assert stacked_profiles(wire.context()).verdict == "Y"
    wire = stack([(0, 4000), (150, 7000)])
    read_composite(wire, composite_periods([(0, 9000)]), duration=400, scheduleStart=stamp(START))

    assert stacked_profiles(wire.context()).verdict == "N"


def rows(wire: Wire, **params: Any) -> tuple[list[Any], list[Any]]:
    measured = stacked_profiles(wire.context(**params)).measurements
    return measured["expected"], measured["reported"]


def default(profile_id: int, stack_level: int, limit: float, *more: Any, **kw: Any) -> Any:
    return absolute_profile("TxDefaultProfile", profile_id, stack_level, [(0, limit), *more], **kw)


def test_a_start_without_schedule_start_is_the_composites_reply() -> None:
    wire = Wire()
    set_profile(wire, 1, default(301, 0, 6000, (100, 8000)))
    wire.wait(50)
    read_composite(wire, composite_periods([(0, 6000), (50, 8000)]), duration=100)

    assert stacked_profiles(wire.context()) == Judgement(
        "Y",
        (),
        {"expected": [(0.0, 6000.0), (50.0, 8000.0)], "reported": [(0.0, 6000.0), (50.0, 8000.0)]},
    )


def test_a_duration_sent_as_a_string_counts_and_none_compares_nothing() -> None:
    wire = stack([(0, 9000)], [(1, default(301, 0, 6000))], duration=100)
    wire.frames[-2].payload["duration"] = "100"  # type: ignore[index]
    without = stack([(0, 9000)], [(1, default(301, 0, 6000))])
    del without.frames[-2].payload["duration"]  # type: ignore[union-attr]

    assert rows(wire) == ([(0.0, 6000.0)], [(0.0, 9000.0)])
    assert stacked_profiles(without.context()) == Judgement(
        "Y", (), {"expected": [], "reported": []}
    )


def test_the_highest_stack_level_prevails_whatever_the_order_set() -> None:
    profiles = [
        (1, default(301, 0, 6000)),
        (1, default(302, 2, 3000)),
        (1, default(303, 1, 5000)),
    ]
    unlevelled = default(304, 0, 2000)
    del unlevelled["stackLevel"]

    assert rows(stack([(0, 3000)], profiles)) == ([(0.0, 3000.0)], [(0.0, 3000.0)])
    assert rows(stack([(0, 6000)], [(1, unlevelled), (1, default(301, 1, 6000))]))[0] == [
        (0.0, 6000.0)
    ]


def test_validity_bounds_where_a_profile_prevails() -> None:
    until = stamp(START + timedelta(seconds=100))
    ending = [(1, default(301, 0, 6000)), (1, default(302, 1, 4000, validTo=until))]
    starting = [(1, default(301, 0, 6000)), (1, default(302, 1, 4000, validFrom=until))]

    assert rows(stack([(0, 4000), (100, 6000)], ending)) == (
        [(0.0, 4000.0), (100.0, 6000.0)],
        [(0.0, 4000.0), (100.0, 6000.0)],
    )
    assert rows(stack([(0, 6000), (100, 4000)], starting)) == (
        [(0.0, 6000.0), (100.0, 4000.0)],
        [(0.0, 6000.0), (100.0, 4000.0)],
    )


def test_expected_limit_at_the_exact_bounds_of_validity_schedule_and_duration() -> None:
    valid_from = START + timedelta(seconds=10)
    valid_to = START + timedelta(seconds=100)
    held = [
        (1, default(301, 0, 6000, validFrom=stamp(valid_from), validTo=stamp(valid_to))),
        (1, default(302, 1, 4000, (50, 5000), duration=80)),
    ]
    cap = (0, absolute_profile("ChargePointMaxProfile", 303, 0, [(0, 4500)], 300))

    def at(seconds: float, profiles: list[Any] = held) -> Any:
        return expected_limit(profiles, 1, START + timedelta(seconds=seconds))

    assert at(-1) is None
    assert at(0) == (4000.0, "TxDefaultProfile 302 (stack level 1)")
    assert at(49.9) == (4000.0, "TxDefaultProfile 302 (stack level 1)")
    assert at(50) == (5000.0, "TxDefaultProfile 302 (stack level 1)")
    assert at(79.9) == (5000.0, "TxDefaultProfile 302 (stack level 1)")
    assert at(80) == (6000.0, "TxDefaultProfile 301 (stack level 0)")
    assert at(99.9) == (6000.0, "TxDefaultProfile 301 (stack level 0)")
    assert at(100) is None
    assert at(60, [*held, cap]) == (4500.0, "ChargePointMaxProfile 303 (stack level 0)")
    assert at(300, [*held, cap]) is None
    assert at(299, [cap]) == (4500.0, "ChargePointMaxProfile 303 (stack level 0)")
    assert expected_limit(held, 2, START) is None


def test_a_tie_between_the_default_and_the_max_profile_names_the_max_profile() -> None:
    held = [
        (1, default(301, 0, 7000)),
        (0, absolute_profile("ChargePointMaxProfile", 303, 0, [(0, 7000)])),
    ]

    assert expected_limit(held, 1, START) == (7000.0, "ChargePointMaxProfile 303 (stack level 0)")


def test_only_absolute_profiles_with_a_start_set_a_limit() -> None:
    relative = default(301, 0, 6000)
    relative["chargingProfileKind"] = "Relative"
    unstarted = default(302, 0, 6000)
    del unstarted["chargingSchedule"]["startSchedule"]
    recurring = default(303, 0, 6000)
    recurring["chargingProfileKind"] = "Recurring"

    for charging_profile in (relative, unstarted, recurring):
        assert expected_limit([(1, charging_profile)], 1, START) is None
    assert stacked_profiles(stack([(0, 9000)], [(1, relative)]).context()) == Judgement(
        "Y", (), {"expected": [(0.0, None)], "reported": [(0.0, 9000.0)]}
    )


def test_a_period_without_a_limit_sets_none_and_periods_count_in_their_order() -> None:
    broken = default(301, 0, 6000)
    broken["chargingSchedule"]["chargingSchedulePeriod"] = [{"startPeriod": 0}]
    unordered = default(302, 0, 0)
    unordered["chargingSchedule"]["chargingSchedulePeriod"] = [
        {"startPeriod": 100, "limit": 8000},
        "noise",
        {"limit": 6000},
    ]

    assert expected_limit([(1, broken)], 1, START) is None
    assert expected_limit([(1, unordered)], 1, START + timedelta(seconds=50)) == (
        6000.0,
        "TxDefaultProfile 302 (stack level 0)",
    )
    assert expected_limit([(1, unordered)], 1, START + timedelta(seconds=100)) == (
        8000.0,
        "TxDefaultProfile 302 (stack level 0)",
    )


def test_a_composite_period_without_a_limit_sets_none_there() -> None:
    wire = stack([{"startPeriod": 0}], [(1, default(301, 0, 6000))], duration=100)

    assert stacked_profiles(wire.context()) == Judgement(
        "N",
        (
            fail(
                "The composite schedule sets no limit 0 s after its start, where "
                "TxDefaultProfile 301 (stack level 0) limits connector 1 to 6000 W",
                wire.frames[-2],
                wire.frames[-1],
            ),
        ),
        {"expected": [(0.0, 6000.0)], "reported": [(0.0, None)]},
    )


@pytest.mark.parametrize(
    ("params", "compared"),
    [
        ({"tolerance_s": 20}, False),
        ({"tolerance_s": 19.9}, True),
        ({}, True),
    ],
)
def test_stretches_up_to_twice_the_tolerance_are_not_compared(
    params: dict[str, Any], compared: bool
) -> None:
    # Stack 1 ends at 60 s, 40 s before stack 0's second period: that stretch is wrong.
    profiles = [(1, default(301, 0, 6000, (100, 8000))), (1, default(302, 1, 4000, duration=60))]
    wire = stack([(0, 4000), (100, 8000)], profiles, duration=200)

    judgement = stacked_profiles(wire.context(**params))

    offsets = [offset for offset, _ in judgement.measurements["expected"]]
    assert offsets == ([0.0, 60.0, 100.0] if compared else [0.0, 100.0])
    assert judgement.verdict == ("N" if compared else "Y")


def test_the_runs_tolerance_is_used_without_a_param() -> None:
    profiles = [(1, default(301, 0, 6000, (100, 8000))), (1, default(302, 1, 4000, duration=60))]
    wire = stack([(0, 4000), (100, 8000)], profiles, duration=200)

    judgement = stacked_profiles(wire.context(RunSettings(timing_tolerance_s=20)))

    assert judgement.verdict == "Y"


def test_connector_0_reads_only_connector_0s_profiles() -> None:
    profiles = [
        (1, default(301, 0, 3000)),
        (0, default(305, 0, 6000)),
        (0, absolute_profile("ChargePointMaxProfile", 303, 0, [(0, 9000)])),
    ]

    assert rows(stack([(0, 6000)], profiles, connector=0)) == ([(0.0, 6000.0)], [(0.0, 6000.0)])
    assert rows(stack([(0, 3000)], profiles, connector=1))[0] == [(0.0, 3000.0)]
    assert rows(stack([(0, 6000)], profiles, connector=2))[0] == [(0.0, 6000.0)]


def test_a_max_profile_on_a_connector_does_not_cap() -> None:
    profiles = [
        (1, default(301, 0, 6000)),
        (1, absolute_profile("ChargePointMaxProfile", 303, 0, [(0, 1000)])),
    ]

    assert rows(stack([(0, 6000)], profiles))[0] == [(0.0, 6000.0)]


def test_a_wrong_connector_is_named_in_the_finding() -> None:
    wire = stack([(0, 9000)], [(0, default(305, 0, 6000))], connector=2)

    assert [m for _, m, _ in findings(stacked_profiles(wire.context()))] == [
        "The composite schedule allows 9000 W 0 s after its start, where TxDefaultProfile 305 "
        "(stack level 0) sets 6000 W for connector 2"
    ]


# Which profiles the charger holds: replacements and clears (§5.5, §5.16) ------------------


def held_after(*changes: tuple[str, int | None, Any, str]) -> list[Any]:
    """The expected rows of a 100 s composite after `changes`: ("set", connector, profile,
    answer) or ("clear", None, request, answer)."""
    wire = Wire()
    for kind, connector, body, answer in changes:
        if kind == "set":
            set_profile(wire, connector, body, answer)
        else:
            wire.command("ClearChargingProfile", body, {"status": answer})
    read_composite(wire, composite_periods([(0, 1)]), duration=100, scheduleStart=stamp(START))
    return rows(wire)[0]


BASE = ("set", 1, default(301, 0, 6000), "Accepted")
HIGHER = ("set", 1, default(302, 1, 4000), "Accepted")


def test_a_profile_not_accepted_is_not_held() -> None:
    assert held_after(BASE, ("set", 1, default(302, 1, 4000), "Rejected")) == [(0.0, 6000.0)]


def test_the_same_id_replaces_a_profile_on_any_connector() -> None:
    moved = ("set", 2, default(302, 1, 5000), "Accepted")
    same_id = ("set", 1, default(302, 3, 5000), "Accepted")

    assert held_after(BASE, HIGHER, moved) == [(0.0, 6000.0)]
    assert held_after(BASE, HIGHER, same_id) == [(0.0, 5000.0)]


def test_the_same_connector_purpose_and_stack_level_replace_a_profile() -> None:
    replacing = ("set", 1, default(309, 1, 7000), "Accepted")
    elsewhere = ("set", 2, default(309, 1, 7000), "Accepted")
    other_purpose = (
        "set",
        1,
        absolute_profile("TxProfile", 309, 1, [(0, 7000)]),
        "Accepted",
    )

    assert held_after(BASE, HIGHER, replacing) == [(0.0, 7000.0)]
    assert held_after(BASE, HIGHER, elsewhere) == [(0.0, 4000.0)]
    assert held_after(BASE, HIGHER, other_purpose) == [(0.0, 4000.0)]


def test_a_clear_by_id_removes_that_profile_only() -> None:
    assert held_after(BASE, HIGHER, ("clear", None, {"id": 302}, "Accepted")) == [(0.0, 6000.0)]
    assert held_after(BASE, HIGHER, ("clear", None, {"id": 302}, "Unknown")) == [(0.0, 4000.0)]


def test_a_clear_without_criteria_removes_every_profile() -> None:
    assert held_after(BASE, HIGHER, ("clear", None, {}, "Accepted")) == [(0.0, None)]


def test_a_clear_by_purpose_keeps_the_other_purposes() -> None:
    cap = ("set", 0, absolute_profile("ChargePointMaxProfile", 303, 0, [(0, 5000)]), "Accepted")
    defaults = {"chargingProfilePurpose": "TxDefaultProfile"}
    caps = {"chargingProfilePurpose": "ChargePointMaxProfile"}

    assert held_after(BASE, cap, ("clear", None, defaults, "Accepted")) == [(0.0, 5000.0)]
    assert held_after(BASE, cap, ("clear", None, caps, "Accepted")) == [(0.0, 6000.0)]


def test_a_clear_by_stack_level_keeps_the_other_levels() -> None:
    """§5.5: stackLevel "specifies the stackLevel for which charging profiles will be
    cleared, if they meet the other criteria in the request"."""
    level_1 = {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 1}

    assert held_after(BASE, HIGHER, ("clear", None, level_1, "Accepted")) == [(0.0, 6000.0)]
    assert held_after(BASE, HIGHER, ("clear", None, {"stackLevel": 0}, "Accepted")) == [
        (0.0, 4000.0)
    ]


def test_a_clear_by_connector_keeps_the_other_connectors_profiles() -> None:
    """§5.5: connectorId "specifies the ID of the connector for which to clear charging
    profiles"; connector 0's are the whole charge point's."""
    everywhere = ("set", 0, default(305, 0, 5000), "Accepted")
    on_1 = {"connectorId": 1, "chargingProfilePurpose": "TxDefaultProfile"}

    assert held_after(BASE, everywhere, ("clear", None, on_1, "Accepted")) == [(0.0, 5000.0)]
    assert held_after(BASE, everywhere, ("clear", None, {"connectorId": 0}, "Accepted")) == [
        (0.0, 6000.0)
    ]


def test_a_change_after_the_composite_does_not_count() -> None:
    wire = Wire()
    set_profile(wire, 1, default(301, 0, 6000))
    read_composite(wire, composite_periods([(0, 6000)]), duration=100, scheduleStart=stamp(START))
    set_profile(wire, 1, default(302, 1, 4000))
    wire.command("ClearChargingProfile", {"id": 301}, {"status": "Accepted"})

    assert stacked_profiles(wire.context()).verdict == "Y"


# tx_profile_refusals (TC_058_1, TC_058_2) --------------------------------------------------


def tx_set(wire: Wire, answer: str, connector: int = 1, **named: Any) -> Frame:
    return set_profile(wire, connector, profile("TxProfile", 3000.0, **named), answer)


def answer(connector: int, running: int | None, named: int | None, said: str) -> dict[str, Any]:
    return {
        "connector": connector,
        "transaction_running": running,
        "transaction_named": named,
        "answer": said,
    }


def refusals(no_transaction: str = "Rejected", another: str = "Rejected") -> Wire:
    wire = Wire()
    tx_set(wire, no_transaction)
    wire.start_transaction(transaction_id=42)
    tx_set(wire, another, transactionId=999)
    tx_set(wire, "Accepted", transactionId=42)
    wire.stop_transaction(transaction_id=42)
    return wire


def test_both_refusals_pass_with_every_answer_measured() -> None:
    assert tx_profile_refusals(refusals().context()) == Judgement(
        "Y",
        (),
        {
            "answers": [
                answer(1, None, None, "Rejected"),
                answer(1, 42, 999, "Rejected"),
                answer(1, 42, 42, "Accepted"),
            ]
        },
    )


def test_each_accepted_refusal_is_named_with_its_frames() -> None:
    wire = refusals(no_transaction="Accepted", another="Accepted")
    first, second = wire.frames[0], wire.frames[4]

    assert tx_profile_refusals(wire.context()) == Judgement(
        "N",
        (
            fail(
                "SetChargingProfile(TxProfile) with no transaction on connector 1 answered "
                "Accepted where Rejected was expected",
                first,
                reply_of(wire, first),
            ),
            fail(
                "SetChargingProfile(TxProfile) for transaction 999 while transaction 42 runs "
                "answered Accepted where Rejected was expected",
                second,
                reply_of(wire, second),
            ),
        ),
        {
            "answers": [
                answer(1, None, None, "Accepted"),
                answer(1, 42, 999, "Accepted"),
                answer(1, 42, 42, "Accepted"),
            ]
        },
    )


def test_no_tx_profile_at_all_says_so() -> None:
    wire = Wire()
    set_profile(wire, 1, profile("TxDefaultProfile"), "Rejected")

    assert tx_profile_refusals(wire.context()) == Judgement(
        "N", (fail("No SetChargingProfile with a TxProfile was sent to the charger"),), {}
    )


def test_each_refusal_the_step_did_not_show_is_named() -> None:
    wire = Wire()
    wire.start_transaction(transaction_id=42)
    tx_set(wire, "Accepted")
    tx_set(wire, "Accepted", transactionId="42")

    assert tx_profile_refusals(wire.context()) == Judgement(
        "N",
        (
            fail(
                "No TxProfile was sent with no transaction in the step: that refusal was not "
                "checked"
            ),
            fail(
                "No TxProfile was sent with another transaction in the step: that refusal was "
                "not checked"
            ),
        ),
        {"answers": [answer(1, 42, None, "Accepted"), answer(1, 42, 42, "Accepted")]},
    )


def test_the_cases_come_from_the_params() -> None:
    wire = Wire()
    tx_set(wire, "Rejected")

    assert tx_profile_refusals(wire.context(cases=["no transaction"])) == Judgement(
        "Y", (), {"answers": [answer(1, None, None, "Rejected")]}
    )
    assert tx_profile_refusals(wire.context(cases=[])).verdict == "Y"


def test_a_transaction_on_another_connector_leaves_none_on_this_one() -> None:
    wire = Wire()
    wire.start_transaction(connector=2, transaction_id=42)
    refused = tx_set(wire, "Accepted", transactionId=42)

    assert findings(tx_profile_refusals(wire.context(cases=["no transaction"]))) == [
        (
            "fail",
            "SetChargingProfile(TxProfile) with no transaction on connector 1 answered Accepted "
            "where Rejected was expected",
            cited(refused, reply_of(wire, refused)),
        )
    ]


def test_a_transaction_stopped_before_or_started_after_the_profile_is_not_running() -> None:
    wire = Wire()
    wire.start_transaction(transaction_id=41)
    wire.stop_transaction(transaction_id=41)
    tx_set(wire, "Rejected", transactionId=41)
    start = wire.call_in(
        "StartTransaction",
        {"connectorId": 1, "idTag": "CARD-1", "meterStart": 0, "timestamp": stamp(wire.now)},
    )
    tx_set(wire, "Rejected")
    wire.result_out(start, {"transactionId": 42, "idTagInfo": {"status": "Accepted"}})
    tx_set(wire, "Rejected", transactionId=7)

    assert tx_profile_refusals(wire.context()) == Judgement(
        "Y",
        (),
        {
            "answers": [
                answer(1, None, 41, "Rejected"),
                answer(1, None, None, "Rejected"),
                answer(1, 42, 7, "Rejected"),
            ]
        },
    )


def test_a_transaction_runs_until_its_stop_and_one_only_stopped_never_ran() -> None:
    wire = Wire()
    wire.stop_transaction(transaction_id=40)
    tx_set(wire, "Rejected", transactionId=40)
    wire.start_transaction(transaction_id=42)
    tx_set(wire, "Rejected", transactionId=43)
    wire.stop_transaction(transaction_id=42)

    assert tx_profile_refusals(wire.context()).measurements == {
        "answers": [answer(1, None, 40, "Rejected"), answer(1, 42, 43, "Rejected")]
    }


def test_a_refusal_answered_with_an_error_or_not_at_all_fails() -> None:
    wire = Wire()
    silent = wire.call_out(
        "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile("TxProfile")}
    )
    wire.start_transaction(transaction_id=42)
    erred = wire.call_out(
        "SetChargingProfile",
        {"connectorId": 1, "csChargingProfiles": profile("TxProfile", transactionId=9)},
    )
    wire.error_in(erred, "NotSupported")

    assert tx_profile_refusals(wire.context()) == Judgement(
        "N",
        (
            fail(
                "SetChargingProfile(TxProfile) with no transaction on connector 1 got no reply "
                "from the charger; Rejected was expected",
                silent,
            ),
            fail(
                "SetChargingProfile(TxProfile) for transaction 9 while transaction 42 runs "
                "answered CALLERROR NotSupported where Rejected was expected",
                erred,
                reply_of(wire, erred),
            ),
        ),
        {
            "answers": [
                answer(1, None, None, "no reply"),
                answer(1, 42, 9, "CALLERROR NotSupported"),
            ]
        },
    )


# tx_profile's power of a three-phase meter (§7.45 SampledValue.phase) ---------------------


def powers_of(*sampled_values: list[dict[str, Any]]) -> list[Any]:
    wire = limited()
    for sampled in sampled_values:
        wire.request(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 42,
                "meterValue": [{"timestamp": stamp(wire.now), "sampledValue": sampled}],
            },
            {},
        )
    result: list[Any] = tx_profile(wire.context()).measurements["powers_w"]
    return result


def share(value: str, phase: str | None = None, unit: str = "W") -> dict[str, Any]:
    sampled = {"value": value, "measurand": "Power.Active.Import", "unit": unit}
    if phase is not None:
        sampled["phase"] = phase
    return sampled


def test_per_phase_values_add_up_each_conductor_once() -> None:
    assert powers_of(
        [share("1000", "L1"), share("1000", "L2"), share("1.2", "L3", "kW")],
        [share("1000", "L1"), share("900", "L1-N")],
        [share("800", "L1-N"), share("700", "L2-N")],
    ) == [3200.0, 1000.0, 1500.0]


def test_a_total_without_a_phase_counts_whatever_the_phases_say() -> None:
    assert powers_of(
        [share("1000", "L1"), share("1000", "L2"), share("2.9", unit="kW")],
        [share("2500"), share("1000", "L1"), share("1000", "L2"), share("1000", "L3")],
        [share("2600", ""), share("2700")],
    ) == [2900.0, 2500.0, 2600.0]


def test_an_unreadable_share_makes_the_frame_unread() -> None:
    assert powers_of(
        [share("1000", "L1"), share("n/a", "L2")],
        [share("2800"), share("x", "L1")],
        [share("3000", "L1")],
    ) == [3000.0]


def test_three_shares_over_the_limit_fail_as_their_sum() -> None:
    wire = limited()
    over = wire.request(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": 42,
            "meterValue": [
                {
                    "timestamp": stamp(wire.now),
                    "sampledValue": [share("1100", p) for p in ("L1", "L2", "L3")],
                }
            ],
        },
        {},
    )

    assert tx_profile(wire.context()) == Judgement(
        "N",
        (
            fail(
                "MeterValues reported 3300 W after the TxProfile limited connector 1 to 3000 W",
                over,
            ),
        ),
        {"limit_w": 3000.0, "powers_w": [3300.0]},
    )


def test_a_composite_wrong_for_part_of_a_stretch_is_caught_where_it_changes() -> None:
    """The composite's own periods and duration split the stretches: a composite that
    raises its limit, or ends, between two moments of the profiles is compared there too."""
    profiles = [(1, default(301, 0, 6000, duration=400))]
    raised = stack([(0, 6000), (250, 9000)], profiles)
    ended = stack([(0, 6000)], profiles, composite_duration=250)

    assert stacked_profiles(raised.context()) == Judgement(
        "N",
        (
            fail(
                "The composite schedule allows 9000 W 250 s after its start, where "
                "TxDefaultProfile 301 (stack level 0) sets 6000 W for connector 1",
                raised.frames[-2],
                raised.frames[-1],
            ),
        ),
        {
            "expected": [(0.0, 6000.0), (250.0, 6000.0)],
            "reported": [(0.0, 6000.0), (250.0, 9000.0)],
        },
    )
    assert [m for _, m, _ in findings(stacked_profiles(ended.context()))] == [
        "The composite schedule sets no limit 250 s after its start, where TxDefaultProfile 301 "
        "(stack level 0) limits connector 1 to 6000 W"
    ]


def test_a_profile_valid_from_a_moment_sets_its_limit_from_that_moment() -> None:
    since = START + timedelta(seconds=10)
    held = [(1, default(301, 0, 6000, validFrom=stamp(since)))]

    assert expected_limit(held, 1, since) == (6000.0, "TxDefaultProfile 301 (stack level 0)")
    assert expected_limit(held, 1, since - timedelta(seconds=0.1)) is None


def test_a_period_without_a_start_begins_with_its_schedule() -> None:
    unstarted = default(301, 0, 0)
    unstarted["chargingSchedule"]["chargingSchedulePeriod"] = [{"limit": 6000}]
    mixed = default(302, 0, 0)
    mixed["chargingSchedule"]["chargingSchedulePeriod"] = [
        {"startPeriod": 0.5, "limit": 5000},
        {"limit": 6000},
    ]

    assert rows(stack([(0, 6000)], [(1, unstarted)], duration=100)) == (
        [(0.0, 6000.0)],
        [(0.0, 6000.0)],
    )
    assert expected_limit([(1, mixed)], 1, START) == (
        6000.0,
        "TxDefaultProfile 302 (stack level 0)",
    )
    assert expected_limit([(1, mixed)], 1, START + timedelta(seconds=0.7)) == (
        5000.0,
        "TxDefaultProfile 302 (stack level 0)",
    )


def test_a_composite_asked_without_a_duration_compares_nothing_even_without_tolerance() -> None:
    wire = stack([(0, 9000)], [(1, default(301, 0, 6000))], composite_duration=None)
    del wire.frames[-2].payload["duration"]  # type: ignore[union-attr]

    assert stacked_profiles(wire.context(tolerance_s=0)) == Judgement(
        "Y", (), {"expected": [], "reported": []}
    )


def test_offsets_are_given_to_a_tenth_of_a_second() -> None:
    profiles = [(1, default(301, 0, 6000, (100.25, 8000)))]

    assert rows(stack([(0, 6000), (100.25, 8000)], profiles, duration=200)) == (
        [(0.0, 6000.0), (100.2, 8000.0)],
        [(0.0, 6000.0), (100.2, 8000.0)],
    )


def test_the_transaction_running_is_found_behind_another_connectors() -> None:
    wire = Wire()
    wire.start_transaction(connector=2, transaction_id=41)
    wire.start_transaction(connector=1, transaction_id=42)
    tx_set(wire, "Rejected", transactionId=999)
    tx_set(wire, "Rejected", connector=2, transactionId=998)
    tx_set(wire, "Rejected", connector=3, transactionId=41)

    assert tx_profile_refusals(wire.context(RunSettings(connectors=3))) == Judgement(
        "Y",
        (),
        {
            "answers": [
                answer(1, 42, 999, "Rejected"),
                answer(2, 41, 998, "Rejected"),
                answer(3, None, 41, "Rejected"),
            ]
        },
    )


def test_stretches_after_one_without_a_profile_are_still_compared() -> None:
    later = stamp(START + timedelta(seconds=100))
    wire = stack([(0, 9000)], [(1, default(301, 0, 6000, validFrom=later))], duration=200)

    assert stacked_profiles(wire.context()) == Judgement(
        "N",
        (
            fail(
                "The composite schedule allows 9000 W 100 s after its start, where "
                "TxDefaultProfile 301 (stack level 0) sets 6000 W for connector 1",
                wire.frames[-2],
                wire.frames[-1],
            ),
        ),
        {"expected": [(0.0, None), (100.0, 6000.0)], "reported": [(0.0, 9000.0), (100.0, 9000.0)]},
    )


def test_a_refused_profile_does_not_hide_the_accepted_ones_after_it() -> None:
    refused = ("set", 1, default(302, 1, 4000), "Rejected")

    assert held_after(refused, BASE) == [(0.0, 6000.0)]


def test_the_schedule_starts_when_the_charger_says_not_when_it_answered() -> None:
    wire = Wire()
    set_profile(wire, 1, default(301, 0, 6000, (100, 8000)))
    wire.wait(50)
    read_composite(
        wire, composite_periods([(0, 6000), (100, 8000)]), duration=200, scheduleStart=stamp(START)
    )

    assert stacked_profiles(wire.context()) == Judgement(
        "Y",
        (),
        {
            "expected": [(0.0, 6000.0), (100.0, 8000.0)],
            "reported": [(0.0, 6000.0), (100.0, 8000.0)],
        },
    )


@pytest.mark.parametrize(
    ("bound", "composite", "expected", "message"),
    [
        (
            "validTo",
            4000,
            [(0.0, 4000.0), (100.0, 6000.0)],
            "4000 W 100 s after its start, where TxDefaultProfile 301 (stack level 0) sets 6000 W",
        ),
        (
            "validFrom",
            6000,
            [(0.0, 6000.0), (100.0, 4000.0)],
            "6000 W 100 s after its start, where TxDefaultProfile 302 (stack level 1) sets 4000 W",
        ),
    ],
)
def test_a_validity_bound_splits_a_composite_that_ignores_it(
    bound: str, composite: float, expected: list[Any], message: str
) -> None:
    at_100 = stamp(START + timedelta(seconds=100))
    profiles = [(1, default(301, 0, 6000)), (1, default(302, 1, 4000, **{bound: at_100}))]
    wire = stack([(0, composite)], profiles, duration=200)

    assert stacked_profiles(wire.context()) == Judgement(
        "N",
        (
            fail(
                f"The composite schedule allows {message} for connector 1",
                wire.frames[-2],
                wire.frames[-1],
            ),
        ),
        {"expected": expected, "reported": [(0.0, composite), (100.0, composite)]},
    )


def test_a_profile_set_after_a_clear_is_held() -> None:
    assert held_after(BASE, ("clear", None, {"id": 301}, "Accepted"), HIGHER) == [(0.0, 4000.0)]
