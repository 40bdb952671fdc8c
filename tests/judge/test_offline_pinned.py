"""The full plan's offline Core steps pinned whole (OCPP 1.6 §3.5, §4.10; TC_037_2,
TC_037_3, TC_039): findings with their frames and the measurements; the offline period at
the instant of the reconnect and the silence at its bound; a stop with another
transactionId, another reason or another idTag status; StopTransactionOnInvalidId read,
set or unknown."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from certification.judge.offline import (
    OfflinePeriod,
    offline_period,
    offline_transaction,
    stop_transaction_on_invalid_id,
)
from certification.judge.outcome import Findings
from certification.judge.types import Finding, Frame, Judgement
from tests.judge.frames import START, Wire, cited, stamp

CARD = "CERT-TAG-1"


def start(
    wire: Wire,
    at: datetime,
    id_tag: str = CARD,
    transaction_id: int = 42,
    status: str | None = "Accepted",
) -> Frame:
    reply: dict[str, Any] = {"transactionId": transaction_id}
    if status is not None:
        reply["idTagInfo"] = {"status": status}
    return wire.request(
        "StartTransaction",
        {"connectorId": 1, "idTag": id_tag, "meterStart": 1000, "timestamp": stamp(at)},
        reply,
    )


def stop(wire: Wire, at: datetime, transaction_id: Any = 42, reason: str | None = "Local") -> Frame:
    payload: dict[str, Any] = {
        "transactionId": transaction_id,
        "meterStop": 1500,
        "timestamp": stamp(at),
        "idTag": CARD,
    }
    if reason is not None:
        payload["reason"] = reason
    return wire.request("StopTransaction", payload, {})


def meter_values(wire: Wire, transaction_id: int, sampled: datetime) -> Frame:
    return wire.meter_values(transaction_id=transaction_id, sampled=sampled)


def lose_connection(wire: Wire, seconds: float = 60) -> datetime:
    """A closed connection, `seconds` offline, the reconnect; returns when it was lost."""
    wire.event("closed")
    lost = wire.now
    wire.wait(seconds)
    wire.event("connected")
    return lost


def findings(judgement: Judgement) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(f.severity, f.message, f.frame_ids) for f in judgement.findings]


# The offline period --------------------------------------------------------------------------


def test_a_frame_is_offline_when_stamped_before_the_reconnect_and_delivered_at_it_or_later() -> (
    None
):
    period = OfflinePeriod(START, START + timedelta(seconds=30))
    wire = Wire(START + timedelta(seconds=30))
    at_reconnect = start(wire, at=START + timedelta(seconds=29))
    stamped_at_reconnect = start(wire, at=START + timedelta(seconds=30))
    unstamped = wire.call_in("StartTransaction", {"connectorId": 1, "idTag": CARD})
    early = Wire(START + timedelta(seconds=29))
    delivered_before = start(early, at=START + timedelta(seconds=5))

    assert [
        period.contains(frame)
        for frame in (at_reconnect, stamped_at_reconnect, unstamped, delivered_before)
    ] == [True, False, False, False]


def test_the_offline_seconds_are_rounded_to_milliseconds() -> None:
    period = OfflinePeriod(START, START + timedelta(seconds=30, microseconds=400))

    assert period.seconds == 30.0
    assert OfflinePeriod(START, START + timedelta(seconds=30, microseconds=1600)).seconds == 30.002


def silent(seconds: float) -> Wire:
    wire = Wire()
    wire.heartbeat()
    wire.wait(seconds)
    wire.heartbeat()
    return wire


def test_a_silence_of_min_gap_s_is_a_connection_loss_and_a_shorter_one_is_not() -> None:
    found = Findings()
    at_default = offline_period(silent(10).context(), found)
    at_param = offline_period(silent(20).context(min_gap_s=20), found)
    zero_is_the_default = offline_period(silent(9.9).context(min_gap_s=0), found)
    below_param = offline_period(silent(19.9).context(min_gap_s=20), found)

    assert at_default == OfflinePeriod(START, START + timedelta(seconds=10))
    assert at_param == OfflinePeriod(START, START + timedelta(seconds=20))
    assert zero_is_the_default is None
    assert below_param is None
    assert [f.message for f in found.items] == [
        "No connection loss in the evidence: no closed connection and no silence of 10 s or "
        "more, so nothing happened offline",
        "No connection loss in the evidence: no closed connection and no silence of 20 s or "
        "more, so nothing happened offline",
    ]


def test_the_offline_period_is_looked_for_after_the_frame_given() -> None:
    wire = silent(30)
    wire.wait(5)
    after = wire.heartbeat()
    wire.wait(12)
    wire.heartbeat()

    assert offline_period(wire.context(), Findings()) == OfflinePeriod(
        START, START + timedelta(seconds=30)
    )
    assert offline_period(wire.context(), Findings(), after=after) == OfflinePeriod(
        START + timedelta(seconds=35), START + timedelta(seconds=47)
    )


# offline_transaction -------------------------------------------------------------------------


def replayed(
    *,
    stop_id: Any = 42,
    stop_at_s: float = 40,
    reason: str | None = "Local",
    second_start: bool = False,
) -> Wire:
    """Online, then 60 s offline: the card starts at +10 s and stops at `stop_at_s`; both
    replayed after the reconnect, a MeterValues of the transaction and one of another."""
    wire = Wire()
    wire.heartbeat()
    lost = lose_connection(wire)
    start(wire, lost + timedelta(seconds=10))
    if second_start:
        start(wire, lost + timedelta(seconds=12), id_tag="CERT-TAG-2", transaction_id=43)
    meter_values(wire, 42, lost + timedelta(seconds=20))
    meter_values(wire, 42, lost + timedelta(seconds=30))
    meter_values(wire, 7, lost + timedelta(seconds=30))
    stop(wire, lost + timedelta(seconds=stop_at_s), stop_id, reason)
    wire.status(1, "Available")
    return wire


def test_the_first_transaction_started_offline_is_judged_with_its_own_meter_values() -> None:
    assert offline_transaction(replayed(second_start=True).context()) == Judgement(
        "Y",
        (),
        {
            "offline_s": 60.0,
            "transaction_id": 42,
            "id_tag": CARD,
            "started_at": "2023-09-22T10:00:10Z",
            "stopped_at": "2023-09-22T10:00:40Z",
            "queued_meter_values": 2,
        },
    )


def test_a_transaction_id_sent_as_a_string_is_the_same_transaction() -> None:
    assert offline_transaction(replayed(stop_id="42").context()).verdict == "Y"


def test_a_stop_stamped_at_the_reconnect_and_a_stop_for_another_reason_are_named() -> None:
    online = replayed(stop_at_s=60, reason="EVDisconnected")
    call = online.ids("StopTransaction")[0]

    judgement = offline_transaction(online.context())

    assert findings(judgement) == [
        (
            "fail",
            "Transaction 42 was stopped at 2023-09-22T10:01:00Z, after the reconnect: the step "
            "needs the stop while offline",
            (call,),
        ),
        (
            "fail",
            "StopTransaction reason EVDisconnected for a card presented at the charger; Local "
            "(or omitted) was expected",
            (call,),
        ),
    ]
    assert judgement.measurements["stopped_at"] == "2023-09-22T10:01:00Z"


def test_no_connection_loss_ends_the_judgement() -> None:
    wire = Wire()
    wire.heartbeat()
    wire.wait(9)
    wire.heartbeat()

    assert offline_transaction(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "No connection loss in the evidence: no closed connection and no silence of "
                "10 s or more, so nothing happened offline",
            ),
        ),
        {},
    )


def test_no_start_from_the_offline_period_cites_the_first_start_there_was() -> None:
    wire = Wire()
    wire.heartbeat()
    lose_connection(wire)
    wire.wait(1)
    later = start(wire, wire.now)
    start(wire, wire.now, transaction_id=43)
    none = Wire()
    none.heartbeat()
    lose_connection(none)
    none.heartbeat()

    assert offline_transaction(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "No StartTransaction of a transaction started while the charger was offline "
                "(delivered after the reconnect at 10:01:00, with a timestamp before it)",
                cited(later),
            ),
        ),
        {"offline_s": 60.0},
    )
    assert findings(offline_transaction(none.context()))[0][2] == ()


def test_a_start_the_portal_did_not_accept_is_named() -> None:
    wire = Wire()
    wire.heartbeat()
    lost = lose_connection(wire)
    call = start(wire, lost + timedelta(seconds=10), status="Blocked")
    stop(wire, lost + timedelta(seconds=40))

    assert findings(offline_transaction(wire.context())) == [
        (
            "fail",
            f"StartTransaction for idTag {CARD} answered Blocked where Accepted was expected",
            wire.exchange_ids(call),
        )
    ]


def test_only_the_first_stop_from_the_offline_period_is_named_as_a_stray() -> None:
    wire = Wire()
    wire.heartbeat()
    lost = lose_connection(wire)
    call = start(wire, lost + timedelta(seconds=10))
    stop(wire, lost + timedelta(seconds=61), transaction_id=5)  # stamped after the reconnect
    stray = stop(wire, lost + timedelta(seconds=40), transaction_id=-1)
    stop(wire, lost + timedelta(seconds=41), transaction_id=-2)

    assert offline_transaction(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "fail",
                "StopTransaction of the transaction stopped offline carries transactionId -1, "
                "where StartTransaction.conf gave 42: the Central System cannot close the "
                "transaction",
                (*cited(stray), *wire.exchange_ids(call)),
            ),
        ),
        {
            "offline_s": 60.0,
            "transaction_id": 42,
            "id_tag": CARD,
            "started_at": "2023-09-22T10:00:10Z",
        },
    )


def test_no_stop_at_all_or_only_one_stamped_after_the_reconnect_is_a_missing_stop() -> None:
    for stamped_online in (False, True):
        wire = Wire()
        wire.heartbeat()
        lost = lose_connection(wire)
        call = start(wire, lost + timedelta(seconds=10))
        if stamped_online:
            stop(wire, lost + timedelta(seconds=60), transaction_id=5)

        assert findings(offline_transaction(wire.context())) == [
            (
                "fail",
                "No StopTransaction for transaction 42, started offline",
                wire.exchange_ids(call),
            )
        ]


def test_a_stop_sent_while_its_start_awaited_its_reply_is_out_of_order() -> None:
    wire = Wire()
    wire.heartbeat()
    lost = lose_connection(wire)
    call = wire.call_in(
        "StartTransaction",
        {
            "connectorId": 1,
            "idTag": CARD,
            "meterStart": 1000,
            "timestamp": stamp(lost + timedelta(seconds=10)),
        },
    )
    early = stop(wire, lost + timedelta(seconds=40), reason=None)
    reply = wire.result_out(call, {"transactionId": 42, "idTagInfo": {"status": "Accepted"}})

    assert findings(offline_transaction(wire.context())) == [
        (
            "fail",
            "StopTransaction of transaction 42 arrived before its StartTransaction was "
            "answered: queued messages go in chronological order",
            cited(early, call, reply),
        )
    ]


# stop_transaction_on_invalid_id --------------------------------------------------------------


def invalid(
    reason: str | None,
    key: str | None = "true",
    *,
    stop_after_s: float = 2.5,
    status: str = "Invalid",
) -> Wire:
    """StopTransactionOnInvalidId set to `key` (None: neither set nor read), a start answered
    Accepted and one answered without idTagInfo, then the one answered `status`; stopped
    `stop_after_s` later for `reason` (None: not stopped)."""
    wire = Wire()
    if key is not None:
        wire.command(
            "ChangeConfiguration",
            {"key": "StopTransactionOnInvalidId", "value": key},
            {"status": "Accepted"},
        )
    lost = lose_connection(wire, 30)
    start(wire, lost + timedelta(seconds=1), transaction_id=40)
    start(wire, lost + timedelta(seconds=2), transaction_id=41, status=None)
    start(wire, lost + timedelta(seconds=5), id_tag="CERT-TAG-UNKNOWN", status=status)
    start(
        wire,
        lost + timedelta(seconds=6),
        id_tag="CERT-TAG-OTHER",
        transaction_id=43,
        status="Blocked",
    )
    if reason is not None:
        wire.wait(stop_after_s)
        stop(wire, wire.now, reason=reason)
    return wire


def test_the_first_start_not_accepted_is_stopped_deauthorized() -> None:
    assert stop_transaction_on_invalid_id(invalid("DeAuthorized").context()) == Judgement(
        "Y",
        (),
        {
            "transaction_id": 42,
            "id_tag_status": "Invalid",
            "stop_transaction_on_invalid_id": True,
            "stopped_after_s": 2.5,
        },
    )


def test_a_transaction_stopped_offline_before_the_answer_is_not_blamed_on_the_charger() -> None:
    """OCPP 1.6 §3.5.3 applies "while the transaction is still ongoing": a session stopped
    Local while offline, before the StartTransaction.conf Invalid came back, did not exercise
    StopTransactionOnInvalidId. The step is still not shown (N), worded as what happened."""
    wire = invalid(None)
    stopped = stop(wire, wire.now - timedelta(seconds=40), reason="Local")

    judgement = stop_transaction_on_invalid_id(wire.context())

    assert judgement.verdict == "N"
    assert judgement.findings == (
        Finding(
            "fail",
            "Transaction 42 was stopped (reason Local) at "
            f"{(stopped.payload or {})['timestamp']}, before the StartTransaction.conf answering "
            "Invalid reached the charger: not the charger's fault, but the evidence does not "
            "show StopTransactionOnInvalidId at work; repeat the step with the session still "
            "running when the connection comes back",
            cited(stopped),
        ),
    )
    # Stamped after the answer, the same reason is the charger's fault, as before.
    late = invalid(None)
    stop(late, late.now, reason="Local")
    assert "where DeAuthorized was expected" in (
        stop_transaction_on_invalid_id(late.context()).findings[0].message
    )


def test_a_stop_stamped_at_the_answers_own_instant_counts_as_after_it() -> None:
    """Only a stop stamped strictly before the StartTransaction.conf left the portal is
    taken as ended before the charger knew the answer."""
    wire = invalid(None)
    answer = next(
        frame
        for frame in wire.frames
        if frame.direction == "out" and (frame.payload or {}).get("transactionId") == 42
    )
    stop(wire, answer.at, reason="Local")

    judgement = stop_transaction_on_invalid_id(wire.context())

    assert "where DeAuthorized was expected" in judgement.findings[0].message


def test_an_unknown_setting_is_taken_as_true_and_said() -> None:
    wire = invalid(None, None, status="Expired")
    call = wire.ids("StartTransaction")[2]

    assert stop_transaction_on_invalid_id(wire.context()) == Judgement(
        "N",
        (
            Finding(
                "info",
                "StopTransactionOnInvalidId was neither set nor read before the start: taken "
                "as true, as the step sets it",
            ),
            Finding(
                "fail",
                "No StopTransaction for transaction 42, whose idTag was answered Expired: with "
                "StopTransactionOnInvalidId true the charger stops it with reason DeAuthorized",
                (call, call + 1),
            ),
        ),
        {
            "transaction_id": 42,
            "id_tag_status": "Expired",
            "stop_transaction_on_invalid_id": True,
        },
    )


def test_the_setting_read_before_the_start_or_given_in_the_params_counts() -> None:
    read = Wire()
    read.command(
        "GetConfiguration",
        {"key": ["StopTransactionOnInvalidId"]},
        {
            "configurationKey": [
                {"key": "StopTransactionOnInvalidId", "readonly": False, "value": "False"}
            ]
        },
    )
    lost = lose_connection(read, 30)
    start(read, lost + timedelta(seconds=5), status="Invalid")
    read.command(
        "ChangeConfiguration",
        {"key": "StopTransactionOnInvalidId", "value": "true"},
        {"status": "Accepted"},
    )  # after the start: not what the charger worked with
    params = invalid(None, None)

    assert stop_transaction_on_invalid_id(read.context()) == Judgement(
        "Y",
        (),
        {"transaction_id": 42, "id_tag_status": "Invalid", "stop_transaction_on_invalid_id": False},
    )
    assert (
        stop_transaction_on_invalid_id(
            params.context(configuration={"StopTransactionOnInvalidId": "TRUE"})
        ).measurements["stop_transaction_on_invalid_id"]
        is True
    )
    assert (
        stop_transaction_on_invalid_id(
            params.context(configuration={"StopTransactionOnInvalidId": "false"})
        ).verdict
        == "Y"
    )


def test_an_omitted_reason_is_named_as_local_where_deauthorized_was_expected() -> None:
    wire = invalid(None)
    wire.wait(1)
    call = stop(wire, wire.now, reason=None)

    assert findings(stop_transaction_on_invalid_id(wire.context())) == [
        (
            "fail",
            "StopTransaction for transaction 42, whose idTag was answered Invalid gives reason "
            "omitted (Local) where DeAuthorized was expected",
            cited(call),
        )
    ]


def test_with_the_key_false_only_a_deauthorized_stop_fails() -> None:
    local = stop_transaction_on_invalid_id(invalid("Local", "false").context())
    deauthorized = invalid("DeAuthorized", "false")
    call = deauthorized.ids("StopTransaction")[0]

    assert local == Judgement(
        "Y",
        (),
        {
            "transaction_id": 42,
            "id_tag_status": "Invalid",
            "stop_transaction_on_invalid_id": False,
            "stopped_after_s": 2.5,
        },
    )
    assert findings(stop_transaction_on_invalid_id(deauthorized.context())) == [
        (
            "fail",
            "The charger stopped transaction 42, whose idTag was answered Invalid DeAuthorized "
            "although StopTransactionOnInvalidId is false: it only stops the energy delivery",
            (call,),
        )
    ]


def test_a_stop_of_the_same_transaction_id_before_the_answer_is_not_the_stop() -> None:
    wire = Wire()
    stop(wire, wire.now, reason="DeAuthorized")  # an earlier transaction 42
    lost = lose_connection(wire, 30)
    start(wire, lost + timedelta(seconds=5), status="Invalid")

    assert [m for _, m, _ in findings(stop_transaction_on_invalid_id(wire.context()))][-1] == (
        "No StopTransaction for transaction 42, whose idTag was answered Invalid: with "
        "StopTransactionOnInvalidId true the charger stops it with reason DeAuthorized"
    )
