"""The full plan's Local Auth List Management steps pinned whole (OCPP 1.6 §3.5, §5.10,
§5.15; TC_008_1, TC_037_1, TC_042_2, TC_043, TC_043_2): findings with their frames,
measurements, the version read before and after, stale differential versions at and just
above the current one, cards of another status or case, another connector."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from certification.judge.local_list import (
    local_list_authorizes,
    local_list_differential,
    local_list_full,
    local_list_offline,
)
from certification.judge.types import Finding, Frame, Judgement
from tests.judge.frames import Wire, cited, stamp

CARD = "CERT-TAG-1"
BLOCKED = "CERT-TAG-BLOCKED"


def send_list(
    wire: Wire,
    version: int | None,
    cards: dict[str, str | None] | None = None,
    update_type: str = "Full",
    answer: str | None = "Accepted",
) -> Frame:
    """SendLocalList with `cards` (idTag -> status; None: an entry without idTagInfo, which
    removes the card); `cards` None leaves localAuthorizationList out."""
    payload: dict[str, Any] = {"listVersion": version, "updateType": update_type}
    if cards is not None:
        payload["localAuthorizationList"] = [
            {"idTag": tag, **({} if status is None else {"idTagInfo": {"status": status}})}
            for tag, status in cards.items()
        ]
    call = wire.call_out("SendLocalList", payload)
    if answer is not None:
        wire.result_in(call, {"status": answer})
    return call


def read_version(wire: Wire, version: int | None) -> Frame:
    return wire.command(
        "GetLocalListVersion", {}, {} if version is None else {"listVersion": version}
    )


def start(
    wire: Wire,
    id_tag: str = CARD,
    connector: int = 1,
    at: Any = None,
    status: str = "Accepted",
    transaction_id: int = 42,
) -> Frame:
    return wire.request(
        "StartTransaction",
        {
            "connectorId": connector,
            "idTag": id_tag,
            "meterStart": 1000,
            "timestamp": stamp(at or wire.now),
        },
        {"transactionId": transaction_id, "idTagInfo": {"status": status}},
    )


def findings(judgement: Judgement) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(f.severity, f.message, f.frame_ids) for f in judgement.findings]


# local_list_full ---------------------------------------------------------------------------


def test_a_full_update_is_needed_a_differential_one_is_not_enough() -> None:
    wire = Wire()
    send_list(wire, 2, {CARD: "Accepted"}, update_type="Differential")
    read_version(wire, 2)

    assert local_list_full(wire.context()) == Judgement(
        "N",
        (Finding("fail", "No SendLocalList with updateType Full was sent to the charger"),),
        {},
    )


def test_the_last_full_update_is_judged_against_the_first_and_last_version_read() -> None:
    wire = Wire()
    read_version(wire, 0)
    send_list(wire, 5, {CARD: "Accepted"}, answer="Failed")
    read_version(wire, 4)
    send_list(wire, 6, {CARD: "Accepted", BLOCKED: "Blocked"})
    read_version(wire, 5)
    read_version(wire, 6)

    assert local_list_full(wire.context()) == Judgement(
        "Y",
        (),
        {"list_version_sent": 6, "entries_sent": 2, "version_before": 0, "version_after": 6},
    )


def test_a_version_read_back_that_differs_from_the_accepted_one_cites_the_read() -> None:
    wire = Wire()
    send_list(wire, 6, {CARD: "Accepted"})
    read_version(wire, 6)
    last = read_version(wire, 7)

    judgement = local_list_full(wire.context())

    assert findings(judgement) == [
        (
            "fail",
            "GetLocalListVersion answered 7 after SendLocalList(Full, 6) was Accepted",
            wire.exchange_ids(last),
        )
    ]
    assert judgement.measurements == {
        "list_version_sent": 6,
        "entries_sent": 1,
        "version_after": 7,
    }


def test_reads_without_a_reply_an_error_or_a_list_version_are_named() -> None:
    wire = Wire()
    unanswered = wire.call_out("GetLocalListVersion", {})
    send_list(wire, 3, {CARD: "Accepted"})
    failed = wire.call_out("GetLocalListVersion", {})
    wire.error_in(failed, "NotSupported")
    empty = Wire()
    send_list(empty, 3, {CARD: "Accepted"})
    blank = read_version(empty, None)

    judgement = local_list_full(wire.context())

    assert judgement == Judgement(
        "N",
        (
            Finding("fail", "GetLocalListVersion got no reply from the charger", cited(unanswered)),
            Finding(
                "fail",
                "GetLocalListVersion answered CALLERROR NotSupported",
                wire.exchange_ids(failed),
            ),
        ),
        {"list_version_sent": 3, "entries_sent": 1, "version_before": None, "version_after": None},
    )
    assert local_list_full(empty.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "GetLocalListVersion answered without a listVersion",
                empty.exchange_ids(blank),
            ),
        ),
        {"list_version_sent": 3, "entries_sent": 1, "version_after": None},
    )


def test_no_read_back_fails_with_the_measurements_so_far() -> None:
    wire = Wire()
    update = wire.call_out("SendLocalList", {"listVersion": 1, "updateType": "Full"})
    read_version(wire, 1)  # asked before the charger answered the update: not a read-back
    wire.result_in(update, {"status": "Accepted"})

    assert local_list_full(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "No GetLocalListVersion after the SendLocalList: the new version was not read back",
            ),
        ),
        {"list_version_sent": 1, "entries_sent": 0},
    )


def test_a_refused_or_unanswered_full_update_is_named_and_its_version_not_compared() -> None:
    failed = Wire()
    update = send_list(failed, 4, {CARD: "Accepted"}, answer="Failed")
    read_version(failed, 0)
    silent = Wire()
    unanswered = send_list(silent, 4, {CARD: "Accepted"}, answer=None)
    read_version(silent, 0)

    assert findings(local_list_full(failed.context())) == [
        (
            "fail",
            "SendLocalList(Full, 4) answered Failed where Accepted was expected",
            failed.exchange_ids(update),
        )
    ]
    assert findings(local_list_full(silent.context())) == [
        (
            "fail",
            "SendLocalList(Full, 4) got no reply from the charger; Accepted was expected",
            cited(unanswered),
        )
    ]


def test_an_empty_full_list_may_read_back_as_version_0_or_as_the_version_sent() -> None:
    """§5.15: "If no (empty) localAuthorizationList is given and the updateType is Full, all
    identifications are removed from the list"; §5.10: "A version number of 0 (zero) SHALL be
    used to indicate that the local authorization list is empty"."""
    judged = {}
    cases: list[tuple[dict[str, str | None] | None, int]] = [
        ({}, 0),
        (None, 0),
        ({}, 5),
        ({}, 3),
        ({CARD: "Accepted"}, 0),
    ]
    for cards, answered in cases:
        wire = Wire()
        send_list(wire, 5, cards)
        read_version(wire, answered)
        judged[(cards is None, len(cards or {}), answered)] = findings(
            local_list_full(wire.context())
        )

    assert judged[(False, 0, 0)] == []
    assert judged[(True, 0, 0)] == []
    assert judged[(False, 0, 5)] == []
    assert judged[(False, 0, 3)] == [
        (
            "fail",
            "GetLocalListVersion answered 3 after SendLocalList(Full, 5) was Accepted; an "
            "empty list reads back as 0 or 5",
            (3, 4),
        )
    ]
    assert judged[(False, 1, 0)] == [
        ("fail", "GetLocalListVersion answered 0 after SendLocalList(Full, 5) was Accepted", (3, 4))
    ]


# local_list_differential -------------------------------------------------------------------


def test_a_differential_update_is_needed_a_full_one_is_not_enough() -> None:
    wire = Wire()
    send_list(wire, 2, {CARD: "Accepted"})
    read_version(wire, 2)

    assert local_list_differential(wire.context()) == Judgement(
        "N",
        (Finding("fail", "No SendLocalList with updateType Differential was sent to the charger"),),
        {},
    )


def test_versions_above_the_current_one_apply_and_those_at_or_below_it_mismatch() -> None:
    wire = Wire()
    send_list(wire, 1, {CARD: "Accepted"})  # the full list: not a differential update
    read_version(wire, 1)
    send_list(wire, 2, {"CERT-TAG-2": "Accepted"}, "Differential")
    send_list(wire, 3, {"CERT-TAG-2": None}, "Differential")
    send_list(wire, 3, {"CERT-TAG-3": "Accepted"}, "Differential", answer="VersionMismatch")
    send_list(wire, 1, {"CERT-TAG-3": "Accepted"}, "Differential", answer="VersionMismatch")
    read_version(wire, 3)

    assert local_list_differential(wire.context()) == Judgement(
        "Y", (), {"stale_version_sent": 1, "accepted_version": 3, "version_after": 3}
    )


def test_a_version_just_above_the_current_one_must_not_be_refused() -> None:
    wire = Wire()
    send_list(wire, 2, {CARD: "Accepted"}, "Differential")
    refused = send_list(wire, 3, {BLOCKED: "Blocked"}, "Differential", answer="VersionMismatch")
    read_version(wire, 2)

    assert local_list_differential(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "SendLocalList(Differential, 3) answered VersionMismatch where Accepted was "
                "expected",
                wire.exchange_ids(refused),
            ),
            Finding(
                "info",
                "No differential update with a version at or below the current one was sent: "
                "VersionMismatch was not checked",
            ),
        ),
        {"accepted_version": 2, "version_after": 2},
    )


def test_a_stale_version_is_judged_against_the_last_accepted_one_only() -> None:
    wire = Wire()
    first = send_list(wire, 4, {CARD: "Accepted"}, "Differential", answer="Failed")
    send_list(wire, 3, {CARD: "Accepted"}, "Differential")
    stale = send_list(wire, 2, {CARD: "Accepted"}, "Differential", answer="Accepted")
    read_version(wire, 3)

    judgement = local_list_differential(wire.context())

    assert findings(judgement) == [
        (
            "fail",
            "SendLocalList(Differential, 4) answered Failed where Accepted was expected",
            wire.exchange_ids(first),
        ),
        (
            "fail",
            "SendLocalList(Differential, 2) after version 3 answered Accepted where "
            "VersionMismatch was expected",
            wire.exchange_ids(stale),
        ),
    ]
    assert judgement.measurements == {
        "stale_version_sent": 2,
        "accepted_version": 3,
        "version_after": 3,
    }


def test_the_last_read_after_the_last_update_is_compared_with_the_accepted_version() -> None:
    wire = Wire()
    send_list(wire, 7, {CARD: "Accepted"}, "Differential")
    read_version(wire, 7)  # before the last update: not the read-back
    send_list(wire, 7, {CARD: "Accepted"}, "Differential", answer="VersionMismatch")
    read_version(wire, 7)
    read_version(wire, 7)
    last = read_version(wire, 8)

    judgement = local_list_differential(wire.context())

    assert findings(judgement) == [
        (
            "fail",
            "GetLocalListVersion answered 8 where the last accepted differential update set "
            "version 7",
            wire.exchange_ids(last),
        )
    ]
    assert judgement.measurements == {
        "stale_version_sent": 7,
        "accepted_version": 7,
        "version_after": 8,
    }


def test_no_read_back_after_the_updates_fails() -> None:
    wire = Wire()
    send_list(wire, 2, {CARD: "Accepted"}, "Differential")
    read_version(wire, 2)
    send_list(wire, 2, {CARD: "Accepted"}, "Differential", answer="VersionMismatch")

    assert local_list_differential(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "No GetLocalListVersion after the updates: the version was not read back",
            ),
        ),
        {"stale_version_sent": 2, "accepted_version": 2},
    )


def test_with_no_update_accepted_any_version_read_is_not_compared() -> None:
    wire = Wire()
    refused = send_list(wire, 2, {CARD: "Accepted"}, "Differential", answer="NotSupported")
    blank = read_version(wire, None)
    other = Wire()
    other.call_out("SendLocalList", {"updateType": "Differential"})
    read_version(other, 9)

    assert local_list_differential(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "SendLocalList(Differential, 2) answered NotSupported where Accepted was expected",
                wire.exchange_ids(refused),
            ),
            Finding(
                "info",
                "No differential update with a version at or below the current one was sent: "
                "VersionMismatch was not checked",
            ),
            Finding(
                "fail",
                "GetLocalListVersion answered without a listVersion",
                wire.exchange_ids(blank),
            ),
        ),
        {"accepted_version": None, "version_after": None},
    )
    assert [m for _, m, _ in findings(local_list_differential(other.context()))] == [
        "SendLocalList(Differential, None) got no reply from the charger; Accepted was expected",
        "No differential update with a version at or below the current one was sent: "
        "VersionMismatch was not checked",
    ]


def test_the_current_version_may_come_from_the_step_before_the_first_differential_update() -> None:
    """§5.15: a differential update "with a version number that is less than or equal to the
    version number of its current list" is refused VersionMismatch, whether that version
    came from a full update of the step or from an earlier attempt the charger reports."""
    full = Wire()
    send_list(full, 5, {CARD: "Accepted"})
    send_list(full, 9, {CARD: "Accepted"}, answer="Failed")
    send_list(full, 3, {"CERT-TAG-2": "Accepted"}, "Differential", answer="VersionMismatch")
    send_list(full, 6, {"CERT-TAG-2": "Accepted"}, "Differential")
    read_version(full, 6)
    reported = Wire()
    read_version(reported, 4)
    read_version(reported, None)
    send_list(reported, 4, {"CERT-TAG-2": "Accepted"}, "Differential", answer="VersionMismatch")
    send_list(reported, 5, {"CERT-TAG-2": "Accepted"}, "Differential")
    read_version(reported, 5)

    later = Wire()
    send_list(later, 5, {CARD: "Accepted"})
    read_version(later, 7)  # the charger's own word, answered after the full update
    send_list(later, 6, {"CERT-TAG-2": "Accepted"}, "Differential", answer="VersionMismatch")
    send_list(later, 8, {"CERT-TAG-2": "Accepted"}, "Differential")
    read_version(later, 8)

    assert local_list_differential(later.context()) == Judgement(
        "Y", (), {"stale_version_sent": 6, "accepted_version": 8, "version_after": 8}
    )
    assert local_list_differential(full.context()) == Judgement(
        "Y", (), {"stale_version_sent": 3, "accepted_version": 6, "version_after": 6}
    )
    assert local_list_differential(reported.context()) == Judgement(
        "Y", (), {"stale_version_sent": 4, "accepted_version": 5, "version_after": 5}
    )


def test_a_version_read_before_the_first_update_was_answered_is_not_current() -> None:
    wire = Wire()
    update = wire.call_out(
        "SendLocalList",
        {"listVersion": 1, "updateType": "Differential", "localAuthorizationList": []},
    )
    read_version(wire, 8)
    wire.result_in(update, {"status": "Accepted"})
    read_version(wire, 1)

    assert local_list_differential(wire.context()) == Judgement(
        "Y",
        (
            Finding(
                "info",
                "No differential update with a version at or below the current one was sent: "
                "VersionMismatch was not checked",
            ),
        ),
        {"accepted_version": 1, "version_after": 1},
    )


# local_list_authorizes ---------------------------------------------------------------------


def test_no_accepted_list_means_the_card_is_not_on_it() -> None:
    wire = Wire()
    send_list(wire, 10, {CARD: "Accepted"}, answer="Failed")
    start(wire)

    assert local_list_authorizes(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "No SendLocalList was Accepted in the step: the card is not on the list",
            ),
        ),
        {},
    )


def test_the_first_accepted_card_of_the_last_accepted_list_is_the_one_presented() -> None:
    wire = Wire()
    send_list(wire, 10, {"CERT-TAG-OLD": "Accepted"})
    send_list(wire, 11, {"CERT-TAG-NEW": "Accepted"}, answer="Failed")
    wire.command(
        "SendLocalList",
        {
            "listVersion": 12,
            "updateType": "Full",
            "localAuthorizationList": [
                "not an entry",
                {"idTag": 17, "idTagInfo": {"status": "Accepted"}},
                {"idTag": "CERT-TAG-GONE"},
                {"idTag": "CERT-TAG-INFO", "idTagInfo": "Accepted"},
                {"idTag": BLOCKED, "idTagInfo": {"status": "Blocked"}},
                {"idTag": CARD, "idTagInfo": {"status": "Accepted"}},
                {"idTag": "CERT-TAG-2", "idTagInfo": {"status": "Accepted"}},
            ],
        },
        {"status": "Accepted"},
    )
    wire.authorize("CERT-TAG-OLD")
    wire.authorize("CERT-TAG-2")
    start(wire, id_tag="CERT-TAG-OLD")
    start(wire, id_tag=CARD, connector=2)

    assert local_list_authorizes(wire.context()) == Judgement(
        "Y", (), {"id_tag": CARD, "authorized": False}
    )


def test_a_start_before_the_list_or_of_another_card_is_not_the_listed_cards() -> None:
    wire = Wire()
    start(wire)
    send_list(wire, 10, {CARD: "Accepted"})
    wire.authorize("CERT-TAG-2")
    start(wire, id_tag="CERT-TAG-2")
    wire.call_out("StartTransaction", {"connectorId": 1, "idTag": CARD})  # not a charger CALL
    none_accepted = Wire()
    send_list(none_accepted, 10, {BLOCKED: "Blocked"})

    assert local_list_authorizes(wire.context()) == Judgement(
        "N",
        (Finding("fail", f"No StartTransaction for {CARD} after the list was sent"),),
        {"id_tag": CARD},
    )
    assert local_list_authorizes(none_accepted.context()) == Judgement(
        "N",
        (Finding("fail", "No StartTransaction for the listed card after the list was sent"),),
        {"id_tag": None},
    )


def test_the_card_may_come_from_the_params_and_only_its_authorize_between_counts() -> None:
    wire = Wire()
    wire.authorize("CERT-TAG-2")  # before the list
    send_list(wire, 10, {CARD: "Accepted", "CERT-TAG-2": "Accepted"})
    wire.authorize(CARD)
    asked = wire.authorize("CERT-TAG-2")
    start(wire, id_tag="CERT-TAG-2")
    wire.authorize("CERT-TAG-2")  # after the start

    assert local_list_authorizes(wire.context(id_tag="CERT-TAG-2")) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "Authorize was sent for CERT-TAG-2, which is Accepted in the Local "
                "Authorization List: with LocalPreAuthorize the charger starts without asking",
                cited(asked),
            ),
        ),
        {"id_tag": "CERT-TAG-2", "authorized": True},
    )


def test_with_no_accepted_card_any_start_and_any_authorize_count() -> None:
    wire = Wire()
    send_list(wire, 10, {BLOCKED: "Blocked"})
    asked = wire.authorize("CERT-TAG-9")
    start(wire, id_tag="CERT-TAG-9")

    assert findings(local_list_authorizes(wire.context())) == [
        (
            "fail",
            "Authorize was sent for None, which is Accepted in the Local Authorization List: "
            "with LocalPreAuthorize the charger starts without asking",
            cited(asked),
        )
    ]


# local_list_offline ------------------------------------------------------------------------


def offline(
    started: list[tuple[str, int]],
    cards: dict[str, str | None] | None = None,
    charging: tuple[int, str] | None = (1, "Charging"),
    stop_after_s: float | None = None,
) -> Wire:
    """The list sent, then 30 s offline; the cards of `started` ((idTag, connector)) start at
    +5 s, +6 s ..., replayed after the reconnect with transactionIds 42, 43 ...; a status
    after the reconnect; the first transaction stopped `stop_after_s` after the loss."""
    wire = Wire()
    send_list(wire, 11, {CARD: "Accepted", BLOCKED: "Blocked"} if cards is None else cards)
    wire.event("closed")
    lost = wire.now
    wire.wait(30)
    wire.event("connected")
    for offset, (id_tag, connector) in enumerate(started):
        start(
            wire,
            id_tag,
            connector,
            at=lost + timedelta(seconds=5 + offset),
            transaction_id=42 + offset,
        )
    if stop_after_s is not None:
        wire.stop_transaction(42, timestamp=lost + timedelta(seconds=stop_after_s))
    if charging is not None:
        wire.status(*charging)
    return wire


def test_no_accepted_list_fails_before_the_offline_period_is_looked_for() -> None:
    wire = Wire()
    send_list(wire, 11, {CARD: "Accepted"}, answer="Failed")

    assert local_list_offline(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "No SendLocalList was Accepted in the step: the card is not on the list",
            ),
        ),
        {},
    )


def test_a_connection_loss_before_the_list_is_not_the_offline_period() -> None:
    wire = Wire()
    wire.heartbeat()
    wire.wait(60)
    wire.heartbeat()
    send_list(wire, 11, {CARD: "Accepted", "CERT-TAG-X": "Expired", BLOCKED: "Blocked"})
    wire.wait(5)
    wire.heartbeat()

    assert local_list_offline(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "No connection loss in the evidence: no closed connection and no silence of "
                "10 s or more, so nothing happened offline",
            ),
        ),
        {"id_tag": CARD, "refused_cards": [BLOCKED, "CERT-TAG-X"]},
    )


def test_every_card_the_list_refuses_that_started_offline_is_named() -> None:
    wire = offline(
        [("cert-tag-blocked", 2), ("CERT-TAG-X", 1), (CARD, 1)],
        cards={
            "CERT-TAG-X": "Expired",
            CARD: "Accepted",
            BLOCKED: "Blocked",
            "CERT-TAG-GONE": None,
        },
    )
    blocked, expired = wire.ids("StartTransaction")[:2]

    judgement = local_list_offline(wire.context())

    assert findings(judgement) == [
        (
            "fail",
            "A transaction of cert-tag-blocked, Blocked in the Local Authorization List, was "
            "started while offline: such a card must be rejected",
            (blocked,),
        ),
        (
            "fail",
            "A transaction of CERT-TAG-X, Expired in the Local Authorization List, was "
            "started while offline: such a card must be rejected",
            (expired,),
        ),
    ]
    assert judgement.measurements == {
        "id_tag": CARD,
        "refused_cards": [BLOCKED, "CERT-TAG-X"],
        "offline_s": 30.0,
        "transaction_id": 44,
        "started_at": "2023-09-22T10:00:07Z",
    }


def test_a_list_without_a_refused_card_says_so_and_the_params_name_the_card() -> None:
    wire = offline(
        [("CERT-TAG-2", 2)],
        cards={CARD: "Accepted", "CERT-TAG-2": "Accepted"},
        charging=(2, "SuspendedEV"),
    )

    assert local_list_offline(wire.context(id_tag="cert-tag-2")) == Judgement(
        "Y",
        (
            Finding(
                "info",
                "The list sent no card with a status other than Accepted: a refusal offline "
                "was not checked",
            ),
        ),
        {
            "id_tag": "cert-tag-2",
            "refused_cards": [],
            "offline_s": 30.0,
            "transaction_id": 42,
            "started_at": "2023-09-22T10:00:05Z",
        },
    )


def test_a_start_after_the_reconnect_is_not_an_offline_start() -> None:
    wire = offline([])
    start(wire)
    wire.status(1, "Charging")

    assert local_list_offline(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                f"No transaction of {CARD}, Accepted in the Local Authorization List, was "
                "started while the charger was offline",
            ),
        ),
        {"id_tag": CARD, "refused_cards": [BLOCKED], "offline_s": 30.0},
    )


def test_the_accepted_cards_start_answered_otherwise_by_the_portal_is_named() -> None:
    wire = Wire()
    send_list(wire, 11, {CARD: "Accepted"})
    wire.event("closed")
    lost = wire.now
    wire.wait(30)
    wire.event("connected")
    call = start(wire, at=lost + timedelta(seconds=5), status="Invalid")
    wire.status(1, "Charging")

    assert findings(local_list_offline(wire.context())) == [
        (
            "info",
            "The list sent no card with a status other than Accepted: a refusal offline "
            "was not checked",
            (),
        ),
        (
            "fail",
            f"StartTransaction for idTag {CARD} answered Invalid where Accepted was expected",
            wire.exchange_ids(call),
        ),
    ]


def test_a_transaction_stopped_offline_needs_no_session_status_after_the_reconnect() -> None:
    wire = offline([(CARD, 1)], charging=None, stop_after_s=20)

    assert local_list_offline(wire.context()) == Judgement(
        "Y",
        (),
        {
            "id_tag": CARD,
            "refused_cards": [BLOCKED],
            "offline_s": 30.0,
            "transaction_id": 42,
            "started_at": "2023-09-22T10:00:05Z",
        },
    )


def test_a_transaction_still_running_needs_a_session_status_of_its_own_connector() -> None:
    stopped_online = offline([(CARD, 2)], charging=(1, "Charging"), stop_after_s=40)
    call = stopped_online.ids("StartTransaction")[0]
    running = offline([(CARD, 2)], charging=(2, "SuspendedEVSE"))

    assert findings(local_list_offline(stopped_online.context())) == [
        (
            "fail",
            "No StatusNotification Charging for connector 2 after the reconnect, while the "
            "transaction started offline was running",
            (call, call + 1),
        )
    ]
    assert local_list_offline(running.context()).verdict == "Y"


def test_a_session_status_counts_from_the_instant_of_the_reconnect_not_before() -> None:
    judged = []
    for status_at_reconnect in (False, True):
        wire = Wire()
        send_list(wire, 11, {CARD: "Accepted"})
        wire.status(1, "Charging")
        wire.event("closed")
        lost = wire.now
        wire.wait(30)
        wire.event("connected")
        if status_at_reconnect:
            wire.status(1, "Charging")
        start(wire, at=lost + timedelta(seconds=5))
        judged.append(local_list_offline(wire.context()).verdict)

    assert judged == ["N", "Y"]


def test_with_local_pre_authorize_false_before_the_start_the_charger_may_ask() -> None:
    """§9.1 LocalPreAuthorize: "whether the Charge Point, when online, will start a
    transaction for locally-authorized identifiers without waiting for or requesting an
    Authorize.conf": false, it asks, as OCPP lets it."""

    def judged(value: str, when: str) -> list[tuple[str, str, tuple[int, ...]]]:
        wire = Wire()
        change = {"key": "LocalPreAuthorize", "value": value}
        if when == "before":
            wire.command("ChangeConfiguration", change, {"status": "Accepted"})
        send_list(wire, 10, {CARD: "Accepted"})
        wire.authorize(CARD)
        start(wire)
        if when == "after":
            wire.command("ChangeConfiguration", change, {"status": "Accepted"})
        known = {"LocalPreAuthorize": value} if when == "params" else {}
        return findings(local_list_authorizes(wire.context(configuration=known)))

    def allowed(value: str, asked: int) -> tuple[str, str, tuple[int, ...]]:
        return (
            "info",
            f"Authorize was sent for {CARD} with LocalPreAuthorize {value}: the charger asks "
            "before it starts; the step needs the key true to show the list deciding",
            (asked,),
        )

    failed = (
        "fail",
        f"Authorize was sent for {CARD}, which is Accepted in the Local Authorization List: "
        "with LocalPreAuthorize the charger starts without asking",
    )
    assert judged("false", "before") == [allowed("false", 5)]
    assert judged("FALSE", "params") == [allowed("FALSE", 3)]
    assert judged("true", "before") == [(*failed, (5,))]
    assert judged("false", "after") == [(*failed, (3,))]
