"""The full plan's Reservation steps pinned whole (OCPP 1.6 §5.1, §5.13; TC_046_1, TC_047,
TC_048_1..3, TC_049, TC_051, TC_052, TC_053_1): findings with their frames, measurements,
connector 0, the parentIdTag from either answer, and the expiry tolerance at its bounds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from certification.judge.reservation import (
    cancel_reservation,
    reservation_expiry,
    reserve_now_refusals,
    reserve_now_start,
)
from certification.judge.types import Judgement, RunSettings
from tests.judge.frames import Wire, cited, stamp

CARD = "CERT-TAG-1"


def reserve(
    wire: Wire,
    connector: int = 1,
    reservation_id: int = 101,
    answer: str = "Accepted",
    expiry_s: float = 30,
    **extra: Any,
) -> Any:
    return wire.command(
        "ReserveNow",
        {
            "connectorId": connector,
            "expiryDate": stamp(wire.now + timedelta(seconds=expiry_s)),
            "idTag": CARD,
            "reservationId": reservation_id,
            **extra,
        },
        {"status": answer},
    )


def start(wire: Wire, id_tag: str = CARD, connector: int = 1, **extra: Any) -> Any:
    return wire.request(
        "StartTransaction",
        {
            "connectorId": connector,
            "idTag": id_tag,
            "meterStart": 0,
            "timestamp": stamp(wire.now),
            **extra,
        },
        {"transactionId": 7, "idTagInfo": {"status": "Accepted"}},
    )


def findings(judgement: Judgement) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(f.severity, f.message, f.frame_ids) for f in judgement.findings]


# reserve_now_start -------------------------------------------------------------------------


def test_no_reserve_now_and_a_refused_one_are_named() -> None:
    none = Wire()
    none.heartbeat()
    refused = Wire()
    call = reserve(refused, answer="Occupied")

    assert findings(reserve_now_start(none.context())) == [
        ("fail", "No ReserveNow was sent to the charger", ())
    ]
    assert findings(reserve_now_start(refused.context())) == [
        (
            "fail",
            "ReserveNow(connector 1) answered Occupied where Accepted was expected",
            cited(call, refused.frames[1]),
        )
    ]


def test_a_missing_reserved_status_and_a_missing_start_are_named() -> None:
    wire = Wire()
    call = reserve(wire, connector=2)

    judgement = reserve_now_start(wire.context(RunSettings(connectors=2)))

    assert findings(judgement) == [
        (
            "fail",
            "No StatusNotification Reserved for connector 2 after ReserveNow was Accepted",
            cited(call, wire.frames[1]),
        ),
        ("fail", "No StartTransaction after the reservation", ()),
    ]
    assert judgement.measurements == {"reservation_id": 101}


def test_connector_0_needs_no_reserved_status_and_any_connector_may_start() -> None:
    wire = Wire()
    reserve(wire, connector=0)
    wire.wait(5)
    start(wire, connector=2, reservationId=101)

    judgement = reserve_now_start(wire.context(RunSettings(connectors=2)))

    assert judgement == Judgement("Y", (), {"reservation_id": 101, "reserve_to_start_s": 5.0})


def test_a_start_with_another_reservation_id_names_both() -> None:
    wire = Wire()
    reserve(wire)
    wire.status(1, "Reserved")
    used = start(wire, reservationId=55)

    assert findings(reserve_now_start(wire.context())) == [
        (
            "fail",
            "StartTransaction for CERT-TAG-1 carried reservationId 55 where the reservation 101 "
            "was expected",
            cited(used),
        )
    ]


@pytest.mark.parametrize("answered_by", ["Authorize", "StartTransaction"])
def test_the_parent_id_tag_counts_from_either_answer(answered_by: str) -> None:
    wire = Wire()
    reserve(wire, parentIdTag="CERT-GROUP")
    wire.status(1, "Reserved")
    info = {"status": "Accepted", "parentIdTag": "CERT-GROUP"}
    if answered_by == "Authorize":
        wire.request("Authorize", {"idTag": "CHILD"}, {"idTagInfo": info})
        start(wire, id_tag="CHILD", reservationId=101)
    else:
        wire.request(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "CHILD",
                "meterStart": 0,
                "timestamp": stamp(wire.now),
                "reservationId": 101,
            },
            {"transactionId": 7, "idTagInfo": info},
        )

    assert findings(reserve_now_start(wire.context())) == [
        (
            "info",
            "The session was started by CHILD, a card of the reservation's parentIdTag CERT-GROUP",
            (),
        )
    ]


def test_another_card_without_a_parent_is_a_minor_issue_naming_only_the_card() -> None:
    wire = Wire()
    reserve(wire)
    wire.status(1, "Reserved")
    used = start(wire, id_tag="STRANGER", reservationId=101)

    assert findings(reserve_now_start(wire.context())) == [
        (
            "minor",
            "The session was started by STRANGER, not by the reserving card CERT-TAG-1",
            cited(used),
        )
    ]


# reservation_expiry ------------------------------------------------------------------------


def expiring(available_after_s: float, reserved: bool = True) -> Wire:
    wire = Wire()
    reserve(wire, expiry_s=30)
    if reserved:
        wire.status(1, "Reserved")
    wire.wait(available_after_s)
    wire.status(1, "Available")
    return wire


@pytest.mark.parametrize(
    ("after", "severity"),
    [(34, None), (34.5, "minor"), (26, None), (25.5, "fail")],
)
def test_the_expiry_is_judged_at_the_runs_tolerance_bounds(after: float, severity: str) -> None:
    judgement = reservation_expiry(expiring(after).context())

    assert [f.severity for f in judgement.findings] == ([severity] if severity else [])
    assert judgement.measurements == {"available_after_expiry_s": after - 30}


def last_status(wire: Wire) -> Any:
    return [f for f in wire.frames if f.action == "StatusNotification" and f.direction == "in"][-1]


def test_the_tolerance_is_the_runs_and_a_step_may_set_its_own() -> None:
    wire = expiring(31)

    strict = reservation_expiry(wire.context(RunSettings(timing_tolerance_s=0.5)))
    step = reservation_expiry(wire.context(tolerance_s=0))

    assert findings(strict) == [
        (
            "minor",
            "Connector 1 became Available 1 s after expiryDate (tolerance 0.5 s)",
            cited(last_status(wire)),
        )
    ]
    assert findings(step)[0][1] == (
        "Connector 1 became Available 1 s after expiryDate (tolerance 0 s)"
    )


def test_early_availability_names_the_seconds() -> None:
    wire = expiring(10)

    assert findings(reservation_expiry(wire.context())) == [
        (
            "fail",
            "Connector 1 was Available 20 s before the reservation's expiryDate",
            cited(last_status(wire)),
        )
    ]


def test_an_available_before_the_reserved_status_is_not_the_expiry() -> None:
    wire = Wire()
    reserve(wire, expiry_s=30)
    wire.status(1, "Available")
    wire.status(1, "Reserved")
    wire.wait(30)
    wire.status(1, "Available")

    assert reservation_expiry(wire.context()) == Judgement(
        "Y", (), {"available_after_expiry_s": 0.0}
    )


def test_a_connector_that_never_frees_and_a_start_using_the_reservation_fail() -> None:
    never = Wire()
    reserve(never, connector=2)
    never.status(2, "Reserved")
    used = Wire()
    reserve(used)
    used.status(1, "Reserved")
    session = start(used, reservationId=101)
    used.wait(30)
    used.status(1, "Available")
    other = Wire()
    reserve(other)
    other.status(1, "Reserved")
    start(other, reservationId=999)
    other.call_out("StartTransaction", {"reservationId": 101})
    other.wait(30)
    other.status(1, "Available")

    assert findings(reservation_expiry(never.context(RunSettings(connectors=2)))) == [
        ("fail", "Connector 2 never became Available again after its reservation's expiryDate", ())
    ]
    assert findings(reservation_expiry(used.context())) == [
        ("fail", "A StartTransaction used the reservation that was to expire", cited(session))
    ]
    # Another reservation's start, and a frame the portal sent, use nothing.
    assert reservation_expiry(other.context()).verdict == "Y"


# cancel_reservation ------------------------------------------------------------------------


def test_cancel_without_its_command_with_a_refusal_and_without_available() -> None:
    missing = Wire()
    reserve(missing, reservation_id=103)
    missing.status(1, "Reserved")
    refused = Wire()
    reserve(refused, reservation_id=103)
    refused.status(1, "Reserved")
    no = refused.command("CancelReservation", {"reservationId": 103}, {"status": "Rejected"})
    stuck = Wire()
    reserve(stuck, reservation_id=103)
    stuck.status(1, "Reserved")
    ok = stuck.command("CancelReservation", {"reservationId": 103}, {"status": "Accepted"})
    wrong = stuck.command("CancelReservation", {"reservationId": 999}, {"status": "Accepted"})

    assert findings(cancel_reservation(missing.context())) == [
        ("fail", "No CancelReservation(103) was sent to the charger", ()),
        ("info", "No CancelReservation of an unknown reservationId: Rejected not checked", ()),
    ]
    assert findings(cancel_reservation(refused.context()))[0] == (
        "fail",
        "CancelReservation(103) answered Rejected where Accepted was expected",
        cited(no, refused.frames[-1]),
    )
    assert findings(cancel_reservation(stuck.context())) == [
        (
            "fail",
            "Connector 1 did not become Available after its reservation was cancelled",
            cited(ok, stuck.frames[5]),
        ),
        (
            "fail",
            "CancelReservation(999) of no reservation answered Accepted where Rejected was "
            "expected",
            cited(wrong, stuck.frames[-1]),
        ),
    ]


# reserve_now_refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        ("Preparing", "Occupied"),
        ("Charging", "Occupied"),
        ("SuspendedEV", "Occupied"),
        ("SuspendedEVSE", "Occupied"),
        ("Finishing", "Occupied"),
        ("Reserved", "Occupied"),
        ("Faulted", "Faulted"),
        ("Unavailable", "Unavailable"),
        ("Available", "Accepted"),
    ],
)
def test_each_state_calls_for_its_answer(status: str, answer: str) -> None:
    right = Wire()
    right.status(1, status)
    reserve(right, answer=answer)
    wrong = Wire()
    wrong.status(1, status)
    call = reserve(wrong, answer="Rejected")

    judged = reserve_now_refusals(right.context(refusals=[]))
    refused = reserve_now_refusals(wrong.context(refusals=[]))

    assert judged == Judgement(
        "Y", (), {"answers": [{"connector": 1, "answer": answer, "state": status}]}
    )
    assert findings(refused) == [
        (
            "fail",
            f"ReserveNow(connector 1) while it was {status} answered Rejected where {answer} "
            "was expected",
            cited(call, wrong.frames[-1]),
        )
    ]


def test_every_refusal_not_exercised_names_its_case() -> None:
    wire = Wire()
    wire.status(1, "Charging")
    reserve(wire, answer="Occupied")

    assert [m for _, m, _ in findings(reserve_now_refusals(wire.context()))] == [
        "No ReserveNow was refused Unavailable in the step: TC_048_3 was not exercised",
        "No ReserveNow was refused Faulted in the step: TC_048_1 was not exercised",
    ]
    assert [m for _, m, _ in findings(reserve_now_refusals(wire.context(refusals=["Odd"])))] == [
        "No ReserveNow was refused Odd in the step: its OCTT case was not exercised"
    ]


def test_connector_0_and_a_connector_beyond_the_charger_are_rejected() -> None:
    wire = Wire()
    zero = reserve(wire, connector=0, answer="Accepted")
    reserve(wire, connector=3, answer="Rejected")
    allowed = Wire()
    allowed.command(
        "GetConfiguration",
        {"key": ["ReserveConnectorZeroSupported"]},
        {
            "configurationKey": [
                {"key": "ReserveConnectorZeroSupported", "readonly": True, "value": "true"}
            ]
        },
    )
    reserve(allowed, connector=0, answer="Accepted")

    judged = reserve_now_refusals(wire.context(RunSettings(connectors=2), refusals=[]))
    supported = reserve_now_refusals(allowed.context(refusals=[]))

    assert findings(judged) == [
        (
            "fail",
            "ReserveNow(connector 0) while it was connector 0 without "
            "ReserveConnectorZeroSupported answered Accepted where Rejected was expected",
            cited(zero, wire.frames[1]),
        )
    ]
    assert judged.measurements == {
        "answers": [
            {
                "connector": 0,
                "answer": "Accepted",
                "state": "connector 0 without ReserveConnectorZeroSupported",
            },
            {
                "connector": 3,
                "answer": "Rejected",
                "state": "a connector the charger does not have",
            },
        ]
    }
    assert supported.verdict == "Y"
    assert supported.measurements["answers"][0]["state"] == "reservable"


def test_an_unknown_state_is_noted_and_the_next_reserve_is_still_judged() -> None:
    wire = Wire()
    unknown = reserve(wire, answer="Accepted")
    wire.status(1, "Faulted")
    reserve(wire, answer="Faulted")

    judgement = reserve_now_refusals(wire.context(refusals=["Faulted"]))

    assert findings(judgement) == [
        (
            "info",
            "ReserveNow(connector 1): the connector's state is not in the evidence, its "
            "answer was not judged",
            cited(unknown),
        )
    ]
    assert judgement.measurements == {
        "answers": [
            {"connector": 1, "answer": "Accepted"},
            {"connector": 1, "answer": "Faulted", "state": "Faulted"},
        ]
    }


def test_a_reserved_status_after_a_refusal_fails_but_not_one_after_the_next_reserve() -> None:
    wire = Wire()
    wire.status(1, "Faulted")
    reserve(wire, answer="Faulted")
    late = wire.status(1, "Reserved")
    wire.status(1, "Available")
    reserve(wire, answer="Accepted")
    wire.status(1, "Reserved")

    assert findings(reserve_now_refusals(wire.context(refusals=["Faulted"]))) == [
        (
            "fail",
            "Connector 1 reported Reserved after ReserveNow was answered Faulted",
            cited(late),
        )
    ]


def test_a_reserved_status_after_the_next_accepted_reserve_belongs_to_that_one() -> None:
    wire = Wire()
    wire.status(1, "Faulted")
    reserve(wire, answer="Faulted")
    wire.status(1, "Available")
    reserve(wire, reservation_id=102, answer="Accepted")
    wire.status(1, "Reserved")

    assert reserve_now_refusals(wire.context(refusals=["Faulted"])).verdict == "Y"


def test_connector_0_with_the_key_false_is_rejected_and_an_empty_list_of_reserves_fails() -> None:
    wire = Wire()
    wire.command(
        "GetConfiguration",
        {"key": ["ReserveConnectorZeroSupported"]},
        {
            "configurationKey": [
                {"key": "ReserveConnectorZeroSupported", "readonly": True, "value": "false"}
            ]
        },
    )
    reserve(wire, connector=0, answer="Rejected")
    nothing = Wire()
    nothing.heartbeat()

    assert reserve_now_refusals(wire.context(refusals=[])).verdict == "Y"
    assert findings(reserve_now_refusals(nothing.context())) == [
        ("fail", "No ReserveNow was sent to the charger", ())
    ]


def test_another_cards_parent_does_not_make_the_starter_a_member() -> None:
    wire = Wire()
    reserve(wire, parentIdTag="CERT-GROUP")
    wire.status(1, "Reserved")
    wire.request(
        "Authorize",
        {"idTag": "MEMBER"},
        {"idTagInfo": {"status": "Accepted", "parentIdTag": "CERT-GROUP"}},
    )
    used = start(wire, id_tag="STRANGER", reservationId=101)

    assert findings(reserve_now_start(wire.context())) == [
        (
            "minor",
            "The session was started by STRANGER, not by the reserving card CERT-TAG-1 nor a "
            "card of its parentIdTag CERT-GROUP",
            cited(used),
        )
    ]
