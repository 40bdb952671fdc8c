"""The full plan's Smart Charging steps: a default profile read back through the composite
schedule and cleared, and a transaction's profile the charger's power follows."""

from __future__ import annotations

from typing import Any

from certification.judge.outcome import Findings, float_param, step_rule
from certification.judge.sequence import Exchange, as_int, exchanges, is_after, payload_of
from certification.judge.types import Frame, Judgement, StepContext

# A limit in A is power at this voltage per phase (the OCA's and most labs' convention).
VOLTS = 230.0


def _profile(exchange: Exchange) -> dict[str, Any]:
    profile = exchange.request.get("csChargingProfiles")
    return profile if isinstance(profile, dict) else {}


def _first_limit(profile: dict[str, Any]) -> tuple[float | None, str | None]:
    schedule = profile.get("chargingSchedule") or {}
    periods = schedule.get("chargingSchedulePeriod") or []
    if not periods or not isinstance(periods[0], dict):
        return None, schedule.get("chargingRateUnit")
    try:
        return float(periods[0]["limit"]), schedule.get("chargingRateUnit")
    except (KeyError, TypeError, ValueError):
        return None, schedule.get("chargingRateUnit")


def _set_profiles(frames: tuple[Frame, ...], purpose: str) -> list[Exchange]:
    return [
        e
        for e in exchanges(frames, "SetChargingProfile")
        if _profile(e).get("chargingProfilePurpose") == purpose
    ]


@step_rule("SetChargingProfile sent to the charger")
def tx_default_profile(context: StepContext) -> Judgement:
    """Smart Charging: TxDefaultProfile, GetCompositeSchedule, ClearChargingProfile
    (TC_056, TC_066, TC_067).

    SetChargingProfile(TxDefaultProfile, limit L) -> Accepted -> GetCompositeSchedule(connector,
    duration) -> Accepted with a schedule whose first period's limit is L (or lower, when a
    ChargePointMaxProfile caps it) -> ClearChargingProfile(id) -> Accepted.

    OCPP 1.6 §5.16 (Set Charging Profile): the Charge Point SHALL answer whether it accepted
    the profile; §5.7 (Get Composite Schedule): "the Charge Point SHALL calculate the
    scheduled time intervals up to the Duration"; §5.5 (Clear Charging Profile): "If the
    Charge Point was able to execute the request, it SHALL respond with a status Accepted".

    Measures: the limit set, the composite limit read back.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    sets = _set_profiles(frames, "TxDefaultProfile")
    if not sets:
        findings.fail("No SetChargingProfile with a TxDefaultProfile was sent to the charger")
        return findings.judgement(measurements)
    setting = sets[0]
    limit, unit = _first_limit(_profile(setting))
    measurements.update(limit_set=limit, unit=unit)
    if not findings.expect_reply(setting, ("Accepted",), "SetChargingProfile(TxDefaultProfile)"):
        return findings.judgement(measurements)
    composite = [
        e for e in exchanges(frames, "GetCompositeSchedule") if is_after(e.call, setting.last)
    ]
    if not composite:
        findings.fail("No GetCompositeSchedule after the profile was set")
    elif findings.expect_reply(composite[0], ("Accepted",), "GetCompositeSchedule"):
        schedule = composite[0].response.get("chargingSchedule") or {}
        periods = schedule.get("chargingSchedulePeriod") or []
        read = float(periods[0]["limit"]) if periods and "limit" in periods[0] else None
        measurements["composite_limit"] = read
        same_unit = schedule.get("chargingRateUnit") in (None, unit)
        if read is None:
            findings.fail(
                "GetCompositeSchedule answered without a schedule period", *composite[0].frames
            )
        elif same_unit and limit is not None and read > limit:
            findings.fail(
                f"The composite schedule allows {read:g} {unit} where the TxDefaultProfile "
                f"limits to {limit:g} {unit}",
                *composite[0].frames,
            )
    clears = [
        e for e in exchanges(frames, "ClearChargingProfile") if is_after(e.call, setting.last)
    ]
    if not clears:
        findings.fail("No ClearChargingProfile after the profile was set")
    else:
        findings.expect_reply(clears[0], ("Accepted",), "ClearChargingProfile of the profile set")
    return findings.judgement(measurements)


def _power_w(frame: Frame) -> float | None:
    """The Power.Active.Import value of a MeterValues.req in W (kW converted)."""
    for meter_value in payload_of(frame).get("meterValue") or []:
        for sampled in (meter_value or {}).get("sampledValue") or []:
            if not isinstance(sampled, dict) or sampled.get("measurand") != "Power.Active.Import":
                continue
            try:
                value = float(sampled.get("value", ""))
            except ValueError:
                return None
            return value * 1000 if sampled.get("unit") == "kW" else value
    return None


@step_rule("SetChargingProfile sent to the charger")
def tx_profile(context: StepContext) -> Judgement:
    """Smart Charging: a TxProfile during a transaction, and the power following it (TC_057).

    [a session running] -> SetChargingProfile(connectorId, TxProfile with its transactionId,
    limit L) -> Accepted -> the MeterValues that follow report Power.Active.Import at most L
    (A converted at 230 V per phase).

    OCPP 1.6 §5.16: a TxProfile "SHALL only be set at Charge Point ConnectorId > 0" and
    applies to the running transaction; §3.13 (Smart Charging): the Charge Point SHALL limit
    the power according to the charging profile in effect.

    Params: `phases` (default 3), `tolerance` (fraction over the limit allowed, default 0.05).
    Measures: the limit in W, the powers reported after it.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    sets = _set_profiles(frames, "TxProfile")
    if not sets:
        findings.fail("No SetChargingProfile with a TxProfile was sent to the charger")
        return findings.judgement(measurements)
    setting = sets[0]
    profile = _profile(setting)
    limit, unit = _first_limit(profile)
    connector = as_int(setting.request.get("connectorId"))
    if not findings.expect_reply(
        setting, ("Accepted",), f"SetChargingProfile(TxProfile, connector {connector})"
    ):
        return findings.judgement(measurements)
    if limit is None:
        findings.fail("The TxProfile sent has no limit to follow", setting.call)
        return findings.judgement(measurements)
    phases = float_param(context, "phases", 3.0) or 3.0
    limit_w = limit if unit == "W" else limit * VOLTS * phases
    measurements["limit_w"] = limit_w
    powers = [
        (frame, _power_w(frame))
        for frame in frames
        if frame.direction == "in"
        and frame.message_type == 2
        and frame.action == "MeterValues"
        and is_after(frame, setting.last)
        and (connector is None or as_int(payload_of(frame).get("connectorId")) == connector)
    ]
    reported = [(frame, power) for frame, power in powers if power is not None]
    measurements["powers_w"] = [power for _, power in reported]
    if not reported:
        findings.fail(
            "No MeterValues with Power.Active.Import after the TxProfile: the limit cannot be "
            "seen followed"
        )
        return findings.judgement(measurements)
    tolerance = float_param(context, "tolerance", 0.05) or 0.0
    over = [(frame, power) for frame, power in reported if power > limit_w * (1 + tolerance)]
    if over:
        frame, power = over[0]
        findings.fail(
            f"MeterValues reported {power:g} W after the TxProfile limited connector "
            f"{connector} to {limit_w:g} W",
            frame,
        )
    return findings.judgement(measurements)
