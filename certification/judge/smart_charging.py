"""The full plan's Smart Charging steps: a default profile read back through the composite
schedule and cleared, a transaction's profile the charger's power follows, and stacked
profiles with validity periods and a ChargePointMaxProfile in the composite schedule."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from certification.judge.outcome import Findings, float_param, step_rule, timing_tolerance
from certification.judge.sequence import (
    Exchange,
    as_int,
    exchanges,
    is_after,
    parse_timestamp,
    payload_of,
    position,
    transactions,
)
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


def _first_phases(profile: dict[str, Any]) -> float | None:
    """The numberPhases of the first period of a profile `_first_limit` read a limit from,
    when it gives one (a number, at least 1)."""
    phases = profile["chargingSchedule"]["chargingSchedulePeriod"][0].get("numberPhases")
    return float(phases) if isinstance(phases, int | float) and phases >= 1 else None


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
    Only a composite schedule of a connector the profile applies to (its own, any when it
    was set on connector 0) and a clear that takes the profile away (its id, or criteria it
    matches: `_clears`) say something about it; a clear of another profile may well be
    answered Unknown ("No Charging Profile(s) were found matching the request").

    Measures: the limit set, the composite limit read back.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    sets = _set_profiles(frames, "TxDefaultProfile")
    if not sets:
        findings.fail("No SetChargingProfile with a TxDefaultProfile was sent to the charger")
        return findings.judgement(measurements)
    setting = sets[0]
    connector = as_int(setting.request.get("connectorId")) or 0
    limit, unit = _first_limit(_profile(setting))
    measurements.update(limit_set=limit, unit=unit)
    if not findings.expect_reply(setting, ("Accepted",), "SetChargingProfile(TxDefaultProfile)"):
        return findings.judgement(measurements)
    composite = [
        e
        for e in exchanges(frames, "GetCompositeSchedule")
        if is_after(e.call, setting.last) and connector in (0, as_int(e.request.get("connectorId")))
    ]
    if not composite:
        of = f" of connector {connector}" if connector else ""
        findings.fail(f"No GetCompositeSchedule{of} after the profile was set")
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
        e
        for e in exchanges(frames, "ClearChargingProfile")
        if is_after(e.call, setting.last) and _clears(e.request, connector, _profile(setting))
    ]
    if not clears:
        profile_id = _profile(setting).get("chargingProfileId")
        findings.fail(f"No ClearChargingProfile of TxDefaultProfile {profile_id} after it was set")
    else:
        findings.expect_reply(clears[0], ("Accepted",), "ClearChargingProfile of the profile set")
    return findings.judgement(measurements)


def _power_w(frame: Frame) -> float | None:
    """The Power.Active.Import of a MeterValues.req in W (kW converted): its value without
    a phase, else the sum of its per-phase values.

    OCPP 1.6 §7.45 SampledValue, phase: "Indicates how the measured value is to be
    interpreted. For instance between L1 and neutral (L1-N)"; a three-phase meter may report
    each phase's share, and the connector's power is their sum, never one of them.
    """
    total: float | None = None
    phases: dict[str, float] = {}
    for meter_value in payload_of(frame).get("meterValue") or []:
        for sampled in (meter_value or {}).get("sampledValue") or []:
            if not isinstance(sampled, dict) or sampled.get("measurand") != "Power.Active.Import":
                continue
            try:
                value = float(sampled.get("value", ""))
            except ValueError:
                return None
            watts = value * 1000 if sampled.get("unit") == "kW" else value
            phase = sampled.get("phase")
            if not phase:
                total = watts if total is None else total
            else:
                # L1 and L1-N are the same conductor's share: counted once.
                phases.setdefault(str(phase).split("-")[0], watts)
    if total is not None:
        return total
    return sum(phases.values()) if phases else None


@step_rule("SetChargingProfile sent to the charger")
def tx_profile(context: StepContext) -> Judgement:
    """Smart Charging: a TxProfile during a transaction, and the power following it (TC_057).

    [a session running] -> SetChargingProfile(connectorId, TxProfile with its transactionId,
    limit L) -> Accepted -> the MeterValues that follow report Power.Active.Import at most L
    (A converted at 230 V per phase).

    OCPP 1.6 §5.16: a TxProfile "SHALL only be set at Charge Point ConnectorId > 0" and
    applies to the running transaction; §3.13 (Smart Charging): the Charge Point SHALL limit
    the power according to the charging profile in effect. A limit in A is per phase, on
    the phases the period allows (ChargingSchedulePeriod.numberPhases: "The number of
    phases that can be used for charging. If a number of phases is needed, numberPhases=3
    will be assumed unless another number is given"), and on no more than the charger has.

    Params: `phases` (the phases the charger has, default 3), `tolerance` (fraction over the
    limit allowed, default 0.05).
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
    phases = min(_first_phases(profile) or 3.0, float_param(context, "phases", 3.0) or 3.0)
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


# Stacking and validity (TC_072) ------------------------------------------------------------


def _profile_limit_w(profile: dict[str, Any], at: datetime) -> float | None:
    """The limit an Absolute profile sets at `at`, in W (A at 230 V per phase, its
    numberPhases or 3); None when it sets none then: outside validFrom/validTo, before its
    startSchedule or past its duration (a Relative or Recurring profile: not judged here)."""
    valid_from = parse_timestamp(profile.get("validFrom"))
    valid_to = parse_timestamp(profile.get("validTo"))
    if (valid_from is not None and at < valid_from) or (valid_to is not None and at >= valid_to):
        return None
    schedule = profile.get("chargingSchedule") or {}
    start = parse_timestamp(schedule.get("startSchedule"))
    if profile.get("chargingProfileKind") != "Absolute" or start is None:
        return None
    offset = (at - start).total_seconds()
    duration = schedule.get("duration")
    if offset < 0 or (isinstance(duration, int | float) and offset >= duration):
        return None
    return _limit_at(schedule, offset)


def _limit_at(schedule: dict[str, Any], offset: float) -> float | None:
    """The limit of a schedule's period in force `offset` seconds after its start, in W."""
    found: float | None = None
    periods = [p for p in schedule.get("chargingSchedulePeriod") or [] if isinstance(p, dict)]
    for period in sorted(periods, key=lambda p: float(p.get("startPeriod", 0))):
        if float(period.get("startPeriod", 0)) > offset:
            break
        try:
            limit = float(period["limit"])
        except (KeyError, TypeError, ValueError):
            return None
        phases = float(period.get("numberPhases") or 3)
        found = limit if schedule.get("chargingRateUnit") == "W" else limit * VOLTS * phases
    return found


def _clears(request: dict[str, Any], connector: int, profile: dict[str, Any]) -> bool:
    """Whether a ClearChargingProfile.req clears `profile`, set on `connector` (§5.5): the
    profile of its `id`; without an id, every profile that matches each criterion it gives.
    connectorId "specifies the ID of the connector for which to clear charging profiles. A
    connectorId of zero (0) specifies the charging profile for the overall Charge Point.
    Absence of this parameter means the clearing applies to all charging profiles that match
    the other criteria in the request"; chargingProfilePurpose and stackLevel clear the
    profiles of that purpose and level "if they meet the other criteria in the request"."""
    if request.get("id") is not None:
        return profile.get("chargingProfileId") == request.get("id")
    criteria = (
        (as_int(request.get("connectorId")), connector),
        (request.get("chargingProfilePurpose"), profile.get("chargingProfilePurpose")),
        (as_int(request.get("stackLevel")), as_int(profile.get("stackLevel"))),
    )
    return all(wanted is None or wanted == held for wanted, held in criteria)


def _installed(frames: tuple[Frame, ...], before: Frame) -> list[tuple[int, dict[str, Any]]]:
    """The profiles the charger holds at `before`: each SetChargingProfile it Accepted, one
    with the same chargingProfileId, or the same connector, purpose and stackLevel,
    replacing the earlier (§5.16); minus those an Accepted ClearChargingProfile cleared."""
    held: list[tuple[int, dict[str, Any]]] = []
    changes = [*exchanges(frames, "SetChargingProfile"), *exchanges(frames, "ClearChargingProfile")]
    for change in sorted(changes, key=lambda e: position(e.call)):
        if not is_after(before, change.last) or change.status != "Accepted":
            continue
        if change.call.action == "ClearChargingProfile":
            held = [(c, p) for c, p in held if not _clears(change.request, c, p)]
            continue
        connector, profile = as_int(change.request.get("connectorId")) or 0, _profile(change)
        held = [
            (c, p)
            for c, p in held
            if p.get("chargingProfileId") != profile.get("chargingProfileId")
            and (c, p.get("chargingProfilePurpose"), p.get("stackLevel"))
            != (connector, profile.get("chargingProfilePurpose"), profile.get("stackLevel"))
        ]
        held.append((connector, profile))
    return held


def _prevailing(
    profiles: list[dict[str, Any]], at: datetime
) -> tuple[float, dict[str, Any]] | None:
    """§3.13: the limit of the profile with the highest stackLevel among those setting one
    at `at`, and that profile."""
    setting = [(p, limit) for p in profiles if (limit := _profile_limit_w(p, at)) is not None]
    if not setting:
        return None
    profile, limit = max(setting, key=lambda entry: as_int(entry[0].get("stackLevel")) or 0)
    return limit, profile


def expected_limit(
    held: list[tuple[int, dict[str, Any]]], connector: int, at: datetime
) -> tuple[float, str] | None:
    """The limit the profiles set for `connector` at `at`, in W, and what sets it: the
    prevailing TxDefaultProfile (the connector's own, else connector 0's) capped by the
    prevailing ChargePointMaxProfile. TxProfiles are tx_profile's business."""

    def of(purpose: str, on: int) -> list[dict[str, Any]]:
        return [p for c, p in held if c == on and p.get("chargingProfilePurpose") == purpose]

    default = _prevailing(of("TxDefaultProfile", connector), at) or _prevailing(
        of("TxDefaultProfile", 0), at
    )
    cap = _prevailing(of("ChargePointMaxProfile", 0), at)
    found = [
        (
            limit,
            f"{purpose} {profile.get('chargingProfileId')} (stack level "
            f"{profile.get('stackLevel')})",
        )
        for purpose, entry in (("TxDefaultProfile", default), ("ChargePointMaxProfile", cap))
        if entry is not None
        for limit, profile in [entry]
    ]
    return min(found) if found else None


def _schedule_moments(schedule: dict[str, Any], begin: datetime | None) -> list[datetime]:
    """Where a schedule that begins at `begin` may change its limit: its periods' starts
    and the end of its duration."""
    if begin is None:
        return []
    offsets = [
        float(p.get("startPeriod", 0))
        for p in schedule.get("chargingSchedulePeriod") or []
        if isinstance(p, dict)
    ]
    if isinstance(schedule.get("duration"), int | float):
        offsets.append(float(schedule["duration"]))
    return [begin + timedelta(seconds=o) for o in offsets]


def _boundaries(
    held: list[tuple[int, dict[str, Any]]],
    composite: dict[str, Any],
    start: datetime,
    end: datetime,
) -> list[datetime]:
    """Where a limit may change inside [start, end]: the periods and durations of the held
    profiles and of the composite schedule itself, the profiles' validity ends."""
    moments: set[datetime | None] = {start, end, *_schedule_moments(composite, start)}
    for _, profile in held:
        schedule = profile.get("chargingSchedule") or {}
        moments |= {
            parse_timestamp(profile.get("validFrom")),
            parse_timestamp(profile.get("validTo")),
            *_schedule_moments(schedule, parse_timestamp(schedule.get("startSchedule"))),
        }
    return sorted(m for m in moments if m is not None and start <= m <= end)


@step_rule("SetChargingProfile sent to the charger")
def stacked_profiles(context: StepContext) -> Judgement:
    """Smart Charging: stacked TxDefaultProfiles, validity periods and a ChargePointMaxProfile
    read back through the composite schedule (TC_072).

    SetChargingProfile(TxDefaultProfile, stack level 0, Absolute, periods) -> Accepted ->
    SetChargingProfile(TxDefaultProfile, stack level 1, shorter duration) -> Accepted ->
    SetChargingProfile(ChargePointMaxProfile) -> Accepted -> SetChargingProfile(a higher
    stack level, valid only later) -> Accepted -> GetCompositeSchedule(connector, duration,
    W) -> a schedule whose limit, at every moment of the duration, is the one the accepted
    profiles set then.

    OCPP 1.6 §3.13.2 (Stacking charging profiles): "Precedence of charging profiles is
    determined by the value of their StackLevel parameter. At any point in time the
    prevailing charging profile SHALL be the charging profile with the highest stackLevel
    among the profiles that are valid at that point in time, as determined by their
    validFrom and validTo parameters." A profile's schedule ends after its duration, where
    a lower stack level prevails again. The ChargePointMaxProfile limits the whole charge
    point (§3.13.1), so the composite never exceeds it. §5.7 (Get Composite Schedule): the
    Charge Point "SHALL calculate the scheduled time intervals up to the Duration".

    Each stretch of time between two moments where a limit may change (a period's start, a
    schedule's end, validFrom, validTo, of the profiles or of the composite schedule) is
    compared at its middle; stretches shorter than twice the run's tolerance are not.
    Limits in A count at 230 V per phase.
    Measures: expected (offset s, W), reported (offset s, W).
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    composites = exchanges(frames, "GetCompositeSchedule")
    if not any(e.status == "Accepted" for e in exchanges(frames, "SetChargingProfile")):
        findings.fail("No SetChargingProfile was Accepted in the step")
        return findings.judgement(measurements)
    if not composites:
        findings.fail("No GetCompositeSchedule after the profiles were set")
        return findings.judgement(measurements)
    composite = composites[-1]
    if not findings.expect_reply(composite, ("Accepted",), "GetCompositeSchedule"):
        return findings.judgement(measurements)
    connector = as_int(composite.request.get("connectorId")) or 0
    schedule = composite.response.get("chargingSchedule") or {}
    start = parse_timestamp(composite.response.get("scheduleStart")) or composite.last.at
    duration = as_int(composite.request.get("duration")) or 0
    end = start + timedelta(seconds=duration)
    held = _installed(frames, composite.call)
    tolerance = timing_tolerance(context)
    expected_rows: list[tuple[float, float | None]] = []
    reported_rows: list[tuple[float, float | None]] = []
    moments = _boundaries(held, schedule, start, end)
    for begin, finish in pairwise(moments):
        if (finish - begin).total_seconds() <= 2 * tolerance:
            continue
        middle = begin + (finish - begin) / 2
        offset = round((begin - start).total_seconds(), 1)
        expected = expected_limit(held, connector, middle)
        reported = _limit_at(schedule, (middle - start).total_seconds())
        limited = schedule.get("duration")
        if isinstance(limited, int | float) and (middle - start).total_seconds() >= limited:
            reported = None
        expected_rows.append((offset, expected[0] if expected else None))
        reported_rows.append((offset, reported))
        if expected is None:
            continue
        limit, source = expected
        if reported is None:
            findings.fail(
                f"The composite schedule sets no limit {offset:g} s after its start, where "
                f"{source} limits connector {connector} to {limit:g} W",
                *composite.frames,
            )
        elif abs(reported - limit) > max(1.0, limit * 0.01):
            findings.fail(
                f"The composite schedule allows {reported:g} W {offset:g} s after its start, "
                f"where {source} sets {limit:g} W for connector {connector}",
                *composite.frames,
            )
    measurements.update(expected=expected_rows, reported=reported_rows)
    return findings.judgement(measurements)


# TxProfile refusals (TC_058_1, TC_058_2) ----------------------------------------------------


def _running_on(frames: tuple[Frame, ...], connector: int | None, at: Frame) -> int | None:
    """The transactionId running on `connector` when `at` was sent, from the step's
    StartTransaction and StopTransaction (the step starts with no transaction running)."""
    for transaction in transactions(frames):
        start = transaction.start
        if start is None or transaction.connector_id != connector or not is_after(at, start.last):
            continue
        if transaction.stop is None or is_after(transaction.stop, at):
            return transaction.transaction_id
    return None


@step_rule("SetChargingProfile sent to the charger")
def tx_profile_refusals(context: StepContext) -> Judgement:
    """Smart Charging: a TxProfile the charger must refuse (TC_058_1, TC_058_2).

    [no session] SetChargingProfile(1, TxProfile) -> Rejected; [a session running on
    connector 1] SetChargingProfile(1, TxProfile with another transactionId) -> Rejected.
    A TxProfile for the running transaction may be Accepted.

    OCPP 1.6 §5.16 (Set Charging Profile): "If there is no transaction active on the
    connector specified in a charging profile of type TxProfile, then the Charge Point SHALL
    discard it and return an error status in SetChargingProfile.conf"; a TxProfile's
    transactionId names the transaction it is for, so one naming another transaction has
    no transaction active to apply to.

    Params: `cases` (the refusals the step must show, default "no transaction" and
    "another transaction").
    Measures: answers, one {connector, transaction_running, transaction_named, answer} each.
    """
    frames, findings = context.frames, Findings()
    sets = _set_profiles(frames, "TxProfile")
    if not sets:
        findings.fail("No SetChargingProfile with a TxProfile was sent to the charger")
        return findings.judgement({})
    answers: list[dict[str, Any]] = []
    shown: set[str] = set()
    for setting in sets:
        connector = as_int(setting.request.get("connectorId"))
        running = _running_on(frames, connector, setting.call)
        named = as_int(_profile(setting).get("transactionId"))
        answers.append(
            {
                "connector": connector,
                "transaction_running": running,
                "transaction_named": named,
                "answer": setting.answer,
            }
        )
        if running is None:
            case, what = "no transaction", f"with no transaction on connector {connector}"
        elif named is not None and named != running:
            case = "another transaction"
            what = f"for transaction {named} while transaction {running} runs"
        else:
            continue
        shown.add(case)
        findings.expect_reply(setting, ("Rejected",), f"SetChargingProfile(TxProfile) {what}")
    for case in context.params.get("cases", ["no transaction", "another transaction"]):
        if case not in shown:
            findings.fail(
                f"No TxProfile was sent with {case} in the step: that refusal was not checked"
            )
    return findings.judgement({"answers": answers})
