"""The full plan's Reservation steps: a reserved connector used, expiring and cancelled,
and the reservations a charger must refuse."""

from __future__ import annotations

from typing import Any

from certification.judge.outcome import Findings, known_setting, step_rule, timing_tolerance
from certification.judge.sequence import (
    Exchange,
    as_int,
    between,
    exchanges,
    first,
    last_status_before,
    parse_timestamp,
    payload_of,
    same_setting,
    seconds_between,
    status_is,
    status_of,
)
from certification.judge.types import Frame, Judgement, StepContext


def _reservation(findings: Findings, frames: tuple[Frame, ...]) -> Exchange | None:
    """The step's accepted ReserveNow, with the fail findings when there is none."""
    reserved = exchanges(frames, "ReserveNow")
    if not reserved:
        findings.fail("No ReserveNow was sent to the charger")
        return None
    exchange = reserved[0]
    connector = exchange.request.get("connectorId")
    if not findings.expect_reply(exchange, ("Accepted",), f"ReserveNow(connector {connector})"):
        return None
    return exchange


def _reserved_status(
    findings: Findings, frames: tuple[Frame, ...], reserve: Exchange
) -> Frame | None:
    """OCPP 1.6 §5.13: "If the reservation is accepted ... the Charge Point SHALL ... send a
    StatusNotification.req with status Reserved" for a specific connector."""
    connector = as_int(reserve.request.get("connectorId"))
    if connector == 0:
        return None
    reserved = first(frames, status_is("Reserved", connector), after=reserve.call)
    if reserved is None:
        findings.fail(
            f"No StatusNotification Reserved for connector {connector} after ReserveNow was "
            "Accepted",
            *reserve.frames,
        )
    return reserved


@step_rule("ReserveNow sent to the charger")
def reserve_now_start(context: StepContext) -> Judgement:
    """Reservation: a reserved connector, then a session by the reserving card (TC_046_1), by
    a card of the reservation's parentIdTag (TC_053_1), or on any connector for a
    reservation of connector 0 (TC_049).

    ReserveNow(connectorId, idTag, reservationId[, parentIdTag]) -> Accepted -> SN Reserved
    (not for connector 0) -> [present the card, plug in] -> StartTransaction with that
    reservationId, by the reserving card or one whose parentIdTag (in the portal's
    Authorize.conf) is the reservation's -> SN Charging.

    OCPP 1.6 §5.13 (Reserve Now): "The reservation SHALL be terminated on the Charge Point
    when a transaction is started for the reserved idTag"; the Charge Point "SHALL refuse
    charging for all incoming idTags on the reserved connector, except when the incoming
    idTag or the parent idTag match the idTag or parent idTag of the reservation"; §4.8
    (Start Transaction):
    "If this transaction ends a reservation (see Reserve Now operation), then the
    StartTransaction.req MUST contain the reservationId."

    Measures: reservationId, the time from ReserveNow to StartTransaction.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    reserve = _reservation(findings, frames)
    if reserve is None:
        return findings.judgement(measurements)
    reservation_id = as_int(reserve.request.get("reservationId"))
    id_tag = reserve.request.get("idTag")
    measurements["reservation_id"] = reservation_id
    _reserved_status(findings, frames, reserve)
    start = first(
        frames,
        lambda f: f.direction == "in" and f.message_type == 2 and f.action == "StartTransaction",
        after=reserve.last,
    )
    if start is None:
        findings.fail("No StartTransaction after the reservation")
        return findings.judgement(measurements)
    measurements["reserve_to_start_s"] = seconds_between(reserve.call, start)
    payload = payload_of(start)
    if as_int(payload.get("reservationId")) != reservation_id:
        findings.fail(
            f"StartTransaction for {payload.get('idTag')} carried reservationId "
            f"{payload.get('reservationId')} where the reservation {reservation_id} was expected",
            start,
        )
    started_by = payload.get("idTag")
    parent = reserve.request.get("parentIdTag")
    if started_by != id_tag and parent is not None and _parent_of(frames, started_by) == parent:
        findings.info(
            f"The session was started by {started_by}, a card of the reservation's "
            f"parentIdTag {parent}"
        )
    elif started_by != id_tag:
        findings.minor(
            f"The session was started by {started_by}, not by the reserving card {id_tag}"
            + (f" nor a card of its parentIdTag {parent}" if parent is not None else ""),
            start,
        )
    return findings.judgement(measurements)


def _parent_of(frames: tuple[Frame, ...], id_tag: object) -> object:
    """The parentIdTag the portal gave a card in the step (Authorize.conf or
    StartTransaction.conf idTagInfo), None when it gave none."""
    answers = [*exchanges(frames, "Authorize", "in"), *exchanges(frames, "StartTransaction", "in")]
    for exchange in answers:
        info = exchange.response.get("idTagInfo")
        if (
            exchange.request.get("idTag") == id_tag
            and isinstance(info, dict)
            and info.get("parentIdTag")
        ):
            return info["parentIdTag"]
    return None


@step_rule("ReserveNow sent to the charger")
def reservation_expiry(context: StepContext) -> Judgement:
    """Reservation: a reservation that runs out (TC_047).

    ReserveNow(expiryDate a short time ahead) -> Accepted -> SN Reserved -> at expiryDate
    SN Available, and no StartTransaction uses the reservation.

    OCPP 1.6 §5.13: "When the expiryDate is reached, the Charge Point SHALL end the
    reservation" and the connector returns to Available.

    Params: `tolerance_s` (default: the run's timing tolerance, 4 s unless the lab set
    another, as every timing rule: outcome.timing_tolerance).
    Measures: the seconds between expiryDate and SN Available (negative: early).
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    reserve = _reservation(findings, frames)
    if reserve is None:
        return findings.judgement(measurements)
    connector = as_int(reserve.request.get("connectorId"))
    reserved = _reserved_status(findings, frames, reserve)
    expiry = parse_timestamp(reserve.request.get("expiryDate"))
    available = first(frames, status_is("Available", connector), after=reserved or reserve.last)
    if available is None:
        findings.fail(
            f"Connector {connector} never became Available again after its reservation's expiryDate"
        )
        return findings.judgement(measurements)
    tolerance = timing_tolerance(context)
    if expiry is not None:
        late = seconds_between(expiry, available.at)
        measurements["available_after_expiry_s"] = late
        if late < -tolerance:
            findings.fail(
                f"Connector {connector} was Available {-late:g} s before the reservation's "
                "expiryDate",
                available,
            )
        elif late > tolerance:
            findings.minor(
                f"Connector {connector} became Available {late:g} s after expiryDate "
                f"(tolerance {tolerance:g} s)",
                available,
            )
    used = first(
        frames,
        lambda f: (
            f.action == "StartTransaction"
            and f.direction == "in"
            and payload_of(f).get("reservationId") == reserve.request.get("reservationId")
        ),
    )
    if used is not None:
        findings.fail("A StartTransaction used the reservation that was to expire", used)
    return findings.judgement(measurements)


@step_rule("ReserveNow sent to the charger")
def cancel_reservation(context: StepContext) -> Judgement:
    """Reservation: CancelReservation, accepted and refused (TC_051, TC_052).

    ReserveNow -> Accepted -> SN Reserved -> CancelReservation(reservationId) -> Accepted ->
    SN Available; CancelReservation(an unknown reservationId) -> Rejected.

    OCPP 1.6 §5.1 (Cancel Reservation): "If the Charge Point has a reservation matching the
    reservationId in the request PDU, it SHALL return status 'Accepted'. Otherwise it SHALL
    return 'Rejected'."

    Measures: the time from CancelReservation to SN Available.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    reserve = _reservation(findings, frames)
    if reserve is None:
        return findings.judgement(measurements)
    connector = as_int(reserve.request.get("connectorId"))
    reservation_id = reserve.request.get("reservationId")
    _reserved_status(findings, frames, reserve)
    cancels = exchanges(frames, "CancelReservation")
    own = [c for c in cancels if c.request.get("reservationId") == reservation_id]
    unknown = [c for c in cancels if c.request.get("reservationId") != reservation_id]
    if not own:
        findings.fail(f"No CancelReservation({reservation_id}) was sent to the charger")
    else:
        cancel = own[0]
        if findings.expect_reply(cancel, ("Accepted",), f"CancelReservation({reservation_id})"):
            available = first(frames, status_is("Available", connector), after=cancel.call)
            if available is None:
                findings.fail(
                    f"Connector {connector} did not become Available after its reservation "
                    "was cancelled",
                    *cancel.frames,
                )
            else:
                measurements["cancel_to_available_s"] = seconds_between(cancel.call, available)
    if not unknown:
        findings.info("No CancelReservation of an unknown reservationId: Rejected not checked")
    for cancel in unknown:
        findings.expect_reply(
            cancel,
            ("Rejected",),
            f"CancelReservation({cancel.request.get('reservationId')}) of no reservation",
        )
    return findings.judgement(measurements)


# The answer a connector's state calls for (OCPP 1.6 §5.13), by its last reported status.
REFUSAL_BY_STATUS = {
    "Faulted": "Faulted",
    "Unavailable": "Unavailable",
    "Preparing": "Occupied",
    "Charging": "Occupied",
    "SuspendedEV": "Occupied",
    "SuspendedEVSE": "Occupied",
    "Finishing": "Occupied",
    "Reserved": "Occupied",
    "Available": "Accepted",
}
# The OCTT case that exercises each refusal.
REFUSAL_CASES = {"Faulted": "TC_048_1", "Occupied": "TC_048_2", "Unavailable": "TC_048_3"}


def _expected_answer(context: StepContext, reserve: Exchange) -> tuple[tuple[str, ...], str] | None:
    """What a ReserveNow must be answered, and the connector's state in words; None when the
    state is not known from the evidence."""
    frames = context.frames
    connector = as_int(reserve.request.get("connectorId"))
    if connector is None:
        return None
    if connector == 0:
        supported = known_setting(context, "ReserveConnectorZeroSupported", before=reserve.call)
        if supported is not None and same_setting(supported, "true"):
            return tuple(sorted(set(REFUSAL_BY_STATUS.values()))), "reservable"
        return ("Rejected",), "connector 0 without ReserveConnectorZeroSupported"
    if connector > context.settings.connectors:
        return ("Rejected",), "a connector the charger does not have"
    last = last_status_before(frames, connector, reserve.call)
    status = status_of(last) if last is not None else None
    if status not in REFUSAL_BY_STATUS:
        return None
    return (REFUSAL_BY_STATUS[str(status)],), str(status)


@step_rule("ReserveNow sent to the charger")
def reserve_now_refusals(context: StepContext) -> Judgement:
    """Reservation: ReserveNow refused for a connector that cannot be reserved
    (TC_048_1 Faulted, TC_048_2 Occupied, TC_048_3 Unavailable).

    [cable in] -> ReserveNow(1) -> Occupied; ChangeAvailability(1, Inoperative) -> SN
    Unavailable -> ReserveNow(1) -> Unavailable; [fault] -> SN Faulted -> ReserveNow(1) ->
    Faulted. The answer each ReserveNow calls for is read from the connector's last
    StatusNotification before it; a connector the charger does not have, or connector 0
    while ReserveConnectorZeroSupported is not true, is Rejected. A refused reservation
    leaves no SN Reserved.

    OCPP 1.6 §5.13 (Reserve Now): "The Charge Point SHALL return 'Occupied' if the Charge
    Point or the specified connector are occupied ... 'Faulted' if the Charge Point or the
    connector are in the Faulted state ... 'Unavailable' if the Charge Point or connector
    are in the Unavailable state ... 'Rejected' if it is configured not to accept
    reservations."

    Params: `refusals` (the states the step must exercise, default Occupied, Unavailable,
    Faulted).
    Measures: answers, one {connector, state, answer} per ReserveNow.
    """
    frames, findings = context.frames, Findings()
    reserves = exchanges(frames, "ReserveNow")
    if not reserves:
        findings.fail("No ReserveNow was sent to the charger")
        return findings.judgement({})
    answers: list[dict[str, Any]] = []
    exercised: set[str] = set()
    for index, reserve in enumerate(reserves):
        connector = as_int(reserve.request.get("connectorId"))
        expected = _expected_answer(context, reserve)
        answers.append({"connector": connector, "answer": reserve.answer})
        if expected is None:
            findings.info(
                f"ReserveNow(connector {connector}): the connector's state is not in the "
                "evidence, its answer was not judged",
                reserve.call,
            )
            continue
        statuses, state = expected
        answers[-1]["state"] = state
        what = f"ReserveNow(connector {connector}) while it was {state}"
        if not findings.expect_reply(reserve, statuses, what) or reserve.status == "Accepted":
            continue
        exercised.add(str(reserve.status))
        following = reserves[index + 1].call if index + 1 < len(reserves) else None
        reserved = first(between(frames, reserve.last, following), status_is("Reserved", connector))
        if reserved is not None:
            findings.fail(
                f"Connector {connector} reported Reserved after ReserveNow was answered "
                f"{reserve.status}",
                reserved,
            )
    wanted = context.params.get("refusals", ["Occupied", "Unavailable", "Faulted"])
    for refusal in wanted:
        if refusal not in exercised:
            case = REFUSAL_CASES.get(str(refusal), "its OCTT case")
            findings.fail(
                f"No ReserveNow was refused {refusal} in the step: {case} was not exercised"
            )
    return findings.judgement({"answers": answers})
