"""Real chargers' deviations (issue 13): each is named on its frame and answered as OCPP-J
1.6 says, state stays consistent, and no charger input becomes an InternalError.

Each example replays a public bug report against the OCPP endpoint; the neighbours of each
example are the other instances of the same kind."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from chargers import services
from chargers.models import (
    ChargePoint,
    ChargerModel,
    Command,
    Connector,
    Frame,
    IdTag,
    Manufacturer,
    Transaction,
)
from chargers.ocpp.validation import parse_ocpp_time
from tests.chargers.ocpp_helpers import BOOT, adb, communicator

ANSWER_TIMEOUT = 20  # seconds; generous for a loaded CI machine, never reached when all is well


async def call(
    ws: WebsocketCommunicator, action: str, payload: dict[str, Any], unique_id: str = "1"
) -> list[Any]:
    """Send a CALL and return the decoded answer frame."""
    await ws.send_to(text_data=json.dumps([2, unique_id, action, payload]))
    return list(json.loads(await ws.receive_from(timeout=ANSWER_TIMEOUT)))


pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

KEY = "right-key-0123456789"
NOW = "2026-11-29T15:28:00Z"


@pytest.fixture
def charge_point(db: None) -> ChargePoint:
    """CP1, a charger of a model with two connectors."""
    manufacturer = Manufacturer.objects.create(name="Xcharge")
    model = ChargerModel.objects.create(
        manufacturer=manufacturer, name="C8EU", current_type="DC", connectors=2
    )
    charge_point, _ = services.create_charge_point(
        "CP1", authorization_key=KEY, charger_model=model
    )
    IdTag.objects.create(charge_point=charge_point, id_tag="DEADBEEF", status="Accepted")
    return charge_point


def start(connector: int = 1, timestamp: str = NOW, **fields: Any) -> dict[str, Any]:
    return {
        "connectorId": connector,
        "idTag": "DEADBEEF",
        "meterStart": 1000,
        "timestamp": timestamp,
        **fields,
    }


async def frames_of(charge_point: ChargePoint) -> list[Frame]:
    return await adb(
        lambda: list(Frame.objects.filter(charge_point=charge_point).order_by("seq"))
    )()


async def the_call(charge_point: ChargePoint, unique_id: str) -> Frame:
    return await adb(Frame.objects.get)(
        charge_point=charge_point, direction="in", message_type=2, unique_id=unique_id
    )


async def booted() -> Any:
    ws = communicator()
    connected, _ = await ws.connect(timeout=ANSWER_TIMEOUT)
    assert connected
    assert (await call(ws, "BootNotification", BOOT, "boot"))[2]["status"] == "Accepted"
    return ws


def assert_call_error(answer: list[Any], unique_id: str, code: str, *words: str) -> None:
    assert answer[:3] == [4, unique_id, code], answer
    description = answer[3]
    assert description.endswith("."), description  # a whole sentence, never cut
    for word in words:
        assert word in description, description


# --- 1. Date-time fields ------------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        "",
        "29/11/2026 15:28",
        "2026-11-29",
        "2026-11-29T15:28Z",
        "2026-02-30T10:00:00Z",
        "2026-11-29T25:00:00Z",
        "2026-11-29T15:28:00+0100",
        "yesterday",
        "0001-01-01T00:00:00+01:00",
    ],
)
async def test_an_unparseable_date_time_is_a_type_constraint_violation_naming_the_field(
    charge_point: ChargePoint, timestamp: str
) -> None:
    ws = await booted()
    answer = await call(ws, "StartTransaction", start(timestamp=timestamp), "s1")
    assert_call_error(answer, "s1", "TypeConstraintViolation", "StartTransaction.timestamp")
    stop = {"transactionId": 1, "meterStop": 5, "timestamp": timestamp}
    assert_call_error(
        await call(ws, "StopTransaction", stop, "s2"), "s2", "TypeConstraintViolation"
    )
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    assert_call_error(
        await call(ws, "StatusNotification", {**status, "timestamp": timestamp}, "s3"),
        "s3",
        "TypeConstraintViolation",
        "StatusNotification.timestamp",
    )
    sampled = [{"value": "1"}]
    values = {"connectorId": 1, "meterValue": [{"timestamp": timestamp, "sampledValue": sampled}]}
    assert_call_error(
        await call(ws, "MeterValues", values, "s4"),
        "s4",
        "TypeConstraintViolation",
        "MeterValues.meterValue[0].timestamp",
    )
    await ws.disconnect()
    for unique_id in ("s1", "s2", "s3", "s4"):
        assert (
            "TypeConstraintViolation" in (await the_call(charge_point, unique_id)).validation_error
        )
    # State left as it was.
    assert not await adb(Transaction.objects.exists)()
    assert not await adb(Connector.objects.exists)()


@pytest.mark.parametrize(
    ("timestamp", "utc"),
    [
        ("2026-11-29T15:28:00Z", "2026-11-29T15:28:00+00:00"),
        ("2026-11-29t15:28:00z", "2026-11-29T15:28:00+00:00"),
        ("2026-11-29 15:28:00Z", "2026-11-29T15:28:00+00:00"),
        ("2026-11-29T16:28:00+01:00", "2026-11-29T15:28:00+00:00"),
        ("2026-11-29T15:28:00-00:00", "2026-11-29T15:28:00+00:00"),
        ("2026-11-29T15:28:00.123456789Z", "2026-11-29T15:28:00.123456+00:00"),
        ("2026-12-31T23:59:60Z", "2027-01-01T00:00:00+00:00"),
    ],
)
async def test_every_rfc3339_form_is_accepted(
    charge_point: ChargePoint, timestamp: str, utc: str
) -> None:
    ws = await booted()
    answer = await call(ws, "StartTransaction", start(timestamp=timestamp), "s1")
    await ws.disconnect()
    assert answer[0] == 3 and answer[2]["idTagInfo"]["status"] == "Accepted"
    tx = await adb(Transaction.objects.get)()
    assert tx.started_at.isoformat() == utc
    assert (await the_call(charge_point, "s1")).validation_error == ""


async def test_a_date_time_without_offset_is_taken_as_utc_with_a_note(
    charge_point: ChargePoint,
) -> None:
    ws = await booted()
    answer = await call(ws, "StartTransaction", start(timestamp="2026-11-29T15:28:00"), "s1")
    await ws.disconnect()
    assert answer[0] == 3
    tx = await adb(Transaction.objects.get)()
    assert tx.started_at.isoformat() == "2026-11-29T15:28:00+00:00"
    note = (await the_call(charge_point, "s1")).validation_error
    assert "StartTransaction.timestamp" in note and "taken as UTC" in note


# --- 2. connectorId -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "payload", "words"),
    [
        ("StartTransaction", start(connector=0), ("StartTransaction.connectorId is 0",)),
        ("StartTransaction", start(connector=-1), ("StartTransaction.connectorId is -1",)),
        ("StartTransaction", start(connector=7), ("is 7", "2 connector(s)")),
        ("StartTransaction", start(connector=2**40), ("StartTransaction.connectorId",)),
        (
            "StatusNotification",
            {"connectorId": 7, "errorCode": "NoError", "status": "Available"},
            ("StatusNotification.connectorId is 7",),
        ),
        (
            "StatusNotification",
            {"connectorId": -3, "errorCode": "NoError", "status": "Available"},
            ("StatusNotification.connectorId is -3",),
        ),
        (
            "MeterValues",
            {
                "connectorId": 3,
                "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": "1"}]}],
            },
            ("MeterValues.connectorId is 3",),
        ),
        ("StartTransaction", start(meterStart=2**70), ("StartTransaction.meterStart",)),
        ("StartTransaction", start(reservationId=2**40), ("StartTransaction.reservationId",)),
        (
            "StopTransaction",
            {"transactionId": 2**63, "meterStop": 1, "timestamp": NOW},
            ("StopTransaction.transactionId",),
        ),
    ],
)
async def test_an_integer_out_of_its_range_is_a_property_constraint_violation(
    charge_point: ChargePoint, action: str, payload: dict[str, Any], words: tuple[str, ...]
) -> None:
    ws = await booted()
    answer = await call(ws, action, payload, "c1")
    await ws.disconnect()
    assert_call_error(answer, "c1", "PropertyConstraintViolation", *words)
    assert "PropertyConstraintViolation" in (await the_call(charge_point, "c1")).validation_error
    assert not await adb(Transaction.objects.exists)()
    assert not await adb(Connector.objects.exists)()


async def test_connector_zero_status_and_the_declared_connectors_are_taken(
    charge_point: ChargePoint,
) -> None:
    ws = await booted()
    for connector in (0, 1, 2):
        status = {"connectorId": connector, "errorCode": "NoError", "status": "Available"}
        assert (await call(ws, "StatusNotification", status, f"n{connector}"))[0] == 3
    await ws.disconnect()
    ids = await adb(lambda: sorted(Connector.objects.values_list("connector_id", flat=True)))()
    assert ids == [0, 1, 2]


@pytest.mark.parametrize("status", ["Charging", "Preparing", "Reserved", "SuspendedEV"])
async def test_a_connector_status_for_the_charge_point_itself_is_a_property_violation(
    charge_point: ChargePoint, status: str
) -> None:
    """sap-labs-france/ev-server #53: a StatusNotification of connectorId 0 broke a central
    system that took every status for a connector's. Connector 0 is the charge point's
    main controller, whose status the OCPP 1.6 ChargePointStatus type limits to Available,
    Unavailable or Faulted: another status is an invalid value, not a connector 0's state."""
    ws = await booted()
    faulted = {"connectorId": 0, "errorCode": "OtherError", "status": "Faulted"}
    assert (await call(ws, "StatusNotification", faulted, "n0"))[0] == 3
    odd = {"connectorId": 0, "errorCode": "NoError", "status": status}
    answer = await call(ws, "StatusNotification", odd, "n1")
    await ws.disconnect()

    assert_call_error(
        answer, "n1", "PropertyConstraintViolation", repr(status), "connectorId 0", "Faulted"
    )
    assert (await the_call(charge_point, "n1")).validation_error.startswith(
        "PropertyConstraintViolation: StatusNotification.status"
    )
    connector = await adb(Connector.objects.get)(connector_id=0)
    assert connector.status == "Faulted"


# --- 3. idTags are case-insensitive -------------------------------------------------------


async def test_an_id_tag_is_compared_without_regard_to_case(charge_point: ChargePoint) -> None:
    ws = await booted()
    authorize = await call(ws, "Authorize", {"idTag": "deadbeef"}, "a1")
    started = await call(ws, "StartTransaction", start(idTag="DeadBeef"), "a2")
    stopped = await call(
        ws,
        "StopTransaction",
        {
            "transactionId": started[2]["transactionId"],
            "meterStop": 2000,
            "timestamp": NOW,
            "idTag": "deADbeEF",
        },
        "a3",
    )
    await ws.disconnect()
    assert authorize[2]["idTagInfo"]["status"] == "Accepted"
    assert started[2]["idTagInfo"]["status"] == "Accepted"
    assert stopped[2]["idTagInfo"]["status"] == "Accepted"


# --- 4. Requests before the boot is accepted ------------------------------------------------


@pytest.mark.parametrize("boot_answer", ["Pending", "Rejected"])
async def test_requests_before_the_boot_is_accepted_are_refused_and_noted(
    charge_point: ChargePoint, boot_answer: str
) -> None:
    charge_point.boot_answer = boot_answer
    charge_point.heartbeat_interval = 300
    await adb(charge_point.save)()
    ws = communicator()
    await ws.connect(timeout=ANSWER_TIMEOUT)
    assert (await call(ws, "BootNotification", BOOT, "boot"))[2]["status"] == boot_answer
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    answers = [
        await call(ws, "StatusNotification", status, "p1"),
        await call(ws, "Heartbeat", {}, "p2"),
        await call(ws, "StartTransaction", start(), "p3"),
    ]
    await ws.disconnect()
    for answer, unique_id in zip(answers, ("p1", "p2", "p3"), strict=True):
        assert_call_error(answer, unique_id, "SecurityError", "before the BootNotification")
        note = (await the_call(charge_point, unique_id)).validation_error
        assert boot_answer in note and "OCPP 1.6 §4.2" in note
    # No transactionId was given, no connector state taken from a charger not yet accepted.
    assert not await adb(Transaction.objects.exists)()
    assert not await adb(Connector.objects.exists)()


async def test_a_triggered_message_while_pending_is_answered(charge_point: ChargePoint) -> None:
    charge_point.boot_answer = "Pending"
    await adb(charge_point.save)()
    ws = communicator()
    await ws.connect(timeout=ANSWER_TIMEOUT)
    await call(ws, "BootNotification", BOOT, "boot")
    sending = asyncio.ensure_future(
        services.send_command_async(
            charge_point, "TriggerMessage", {"requestedMessage": "StatusNotification"}
        )
    )
    trigger = json.loads(await ws.receive_from(timeout=ANSWER_TIMEOUT))
    await ws.send_to(text_data=json.dumps([3, trigger[1], {"status": "Accepted"}]))
    await asyncio.wait_for(sending, ANSWER_TIMEOUT)
    status = {"connectorId": 0, "errorCode": "NoError", "status": "Available"}
    assert (await call(ws, "StatusNotification", status, "t1"))[0] == 3
    assert (await call(ws, "Heartbeat", {}, "t2"))[2] == "SecurityError"
    await ws.disconnect()
    assert (await the_call(charge_point, "t1")).validation_error == ""


async def test_a_reconnect_without_reboot_needs_no_boot(charge_point: ChargePoint) -> None:
    ws = communicator()
    await ws.connect(timeout=ANSWER_TIMEOUT)
    assert (await call(ws, "Heartbeat", {}, "h1"))[0] == 3
    assert (await call(ws, "StartTransaction", start(), "h2"))[0] == 3
    await ws.disconnect()
    assert (await the_call(charge_point, "h1")).validation_error == ""


async def test_requests_before_a_boot_on_the_same_connection_are_noted(
    charge_point: ChargePoint,
) -> None:
    ws = communicator()
    await ws.connect(timeout=ANSWER_TIMEOUT)
    assert (await call(ws, "Heartbeat", {}, "h1"))[0] == 3
    assert (await call(ws, "BootNotification", BOOT, "boot"))[0] == 3
    assert (await call(ws, "Heartbeat", {}, "h2"))[0] == 3
    await ws.disconnect()
    note = (await the_call(charge_point, "h1")).validation_error
    assert "before the BootNotification" in note and "same connection" in note
    assert (await the_call(charge_point, "h2")).validation_error == ""


# --- 6. Malformed answers and 7. late answers -----------------------------------------------


async def command_answered_with(
    charge_point: ChargePoint, answer: Any, *, delay: float = 0
) -> tuple[Command, Frame]:
    ws = communicator()
    await ws.connect(timeout=ANSWER_TIMEOUT)
    sending = asyncio.ensure_future(services.send_command_async(charge_point, "ClearCache", {}))
    sent = json.loads(await ws.receive_from(timeout=ANSWER_TIMEOUT))
    if delay:
        await asyncio.sleep(delay)
    await ws.send_to(text_data=answer(sent[1]))
    command = await asyncio.wait_for(sending, ANSWER_TIMEOUT)
    # The Heartbeat's answer proves the charger's answer before it is committed.
    await call(ws, "Heartbeat", {}, "after")
    await ws.disconnect()
    command = await adb(Command.objects.get)(pk=command.pk)
    reply = await adb(Frame.objects.get)(charge_point=charge_point, direction="in", seq=2)
    return command, reply


@pytest.mark.parametrize(
    ("answer", "kind", "violation"),
    [
        (lambda i: json.dumps([4, i, "NotSupported", "", None]), "CALLERROR", "errorDetails"),
        (lambda i: json.dumps([4, i, "NotSupported"]), "CALLERROR", "3 elements, 5 expected"),
        (lambda i: json.dumps([4, i, "NoSuchCode", "x", {}]), "CALLERROR", "errorCode"),
        (lambda i: json.dumps([4, i, "NotSupported", 17, {}]), "CALLERROR", "errorDescription"),
        (
            lambda i: json.dumps([4, i, "NotSupported", "", {}, "extra"]),
            "CALLERROR",
            "6 elements",
        ),
        (lambda i: json.dumps([3, i]), "CALLRESULT", "2 elements, 3 expected"),
        (lambda i: json.dumps([3, i, {"status": "Accepted"}, 1]), "CALLRESULT", "4 elements"),
        (lambda i: json.dumps([3, i, "Accepted"]), "CALLRESULT", "not a JSON object"),
        # Two statuses in one answer: the evidence kept the last, another reader the first.
        (
            lambda i: f'[3, "{i}", {{"status": "Accepted", "status": "Rejected"}}]',
            "CALLRESULT",
            "'status' appear more than once",
        ),
    ],
)
async def test_a_malformed_answer_is_correlated_noted_and_worded_as_such(
    charge_point: ChargePoint, answer: Any, kind: str, violation: str
) -> None:
    command, reply = await command_answered_with(charge_point, answer)
    assert reply.action == "ClearCache" and reply.message_type == int(kind == "CALLERROR") + 3
    assert f"malformed {kind}" in reply.validation_error and violation in reply.validation_error
    assert command.status == Command.Status.MALFORMED
    assert command.error.startswith(f"answered with a malformed {kind}")
    assert "timeout" not in command.error and "no answer" not in command.error


@override_settings(OCPP_RESPONSE_TIMEOUT=0.5)
async def test_a_late_answer_is_correlated_and_marked_late_with_its_delay(
    charge_point: ChargePoint,
) -> None:
    command, reply = await command_answered_with(
        charge_point, lambda i: json.dumps([3, i, {"status": "Accepted"}]), delay=1.5
    )
    assert reply.action == "ClearCache"
    assert "late: answered" in reply.validation_error
    assert "past the response timeout of 0.5 s" in reply.validation_error
    assert "no outstanding" not in reply.validation_error
    assert command.status == Command.Status.LATE
    assert command.error.startswith("answered after 1.") and command.response == {
        "status": "Accepted"
    }


async def test_an_answer_to_no_call_and_a_second_answer_are_noted(
    charge_point: ChargePoint,
) -> None:
    ws = communicator()
    await ws.connect(timeout=ANSWER_TIMEOUT)
    sending = asyncio.ensure_future(services.send_command_async(charge_point, "ClearCache", {}))
    sent = json.loads(await ws.receive_from(timeout=ANSWER_TIMEOUT))
    await ws.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
    await asyncio.wait_for(sending, ANSWER_TIMEOUT)
    await ws.send_to(text_data=json.dumps([3, sent[1], {"status": "Rejected"}]))
    await ws.send_to(text_data=json.dumps([3, "never-sent", {"status": "Accepted"}]))
    await call(ws, "Heartbeat", {}, "after")
    await ws.disconnect()
    answers = await adb(
        lambda: list(Frame.objects.filter(direction="in", message_type=3).order_by("seq"))
    )()
    assert answers[0].validation_error == ""
    assert answers[1].action == "ClearCache" and "a second answer" in answers[1].validation_error
    assert "answer to no CALL" in answers[2].validation_error


async def test_a_unique_id_reused_by_the_charger_is_noted(charge_point: ChargePoint) -> None:
    ws = await booted()
    await call(ws, "Heartbeat", {}, "same")
    assert (await call(ws, "Heartbeat", {}, "same"))[0] == 3
    await ws.disconnect()
    heartbeats = await adb(
        lambda: list(Frame.objects.filter(direction="in", action="Heartbeat").order_by("seq"))
    )()
    assert heartbeats[0].validation_error == ""
    assert "unique id 'same' reused" in heartbeats[1].validation_error


# --- 8. Replays ---------------------------------------------------------------------------


async def test_a_start_replayed_after_its_stop_never_reopens_the_transaction(
    charge_point: ChargePoint,
) -> None:
    ws = await booted()
    status = {"connectorId": 2, "errorCode": "NoError", "status": "Available"}
    await call(ws, "StatusNotification", status, "n1")
    first = await call(ws, "StartTransaction", start(connector=2), "s1")
    transaction_id = first[2]["transactionId"]
    stop = {"transactionId": transaction_id, "meterStop": 3000, "timestamp": NOW}
    await call(ws, "StopTransaction", stop, "s2")
    replay = await call(ws, "StartTransaction", start(connector=2), "s3")
    await ws.disconnect()

    assert replay[2]["transactionId"] == transaction_id
    connector = await adb(Connector.objects.get)(connector_id=2)
    assert connector.current_transaction_id is None
    tx = await adb(Transaction.objects.get)()
    assert not tx.is_ongoing() and tx.state() == "stopped"
    note = (await the_call(charge_point, "s3")).validation_error
    assert note.startswith(f"replay: StartTransaction of transaction {transaction_id}")


async def test_a_start_before_the_connectors_first_status_is_its_current_transaction(
    charge_point: ChargePoint,
) -> None:
    """matth-x/MicroOcpp #237 shows a charger sending StartTransaction before any status of
    its connector. Replayed: the connector's row, created by the status that followed, had
    no current transaction while the charger was charging. An invalid start before a status
    stays no connector's transaction."""
    ws = await booted()
    first = (await call(ws, "StartTransaction", start(connector=1), "s1"))[2]["transactionId"]
    refused = start(connector=2, idTag="UNKNOWN")
    assert (await call(ws, "StartTransaction", refused, "s2"))[2]["idTagInfo"]["status"] == (
        "Invalid"
    )
    for connector in (1, 2):
        status = {"connectorId": connector, "errorCode": "NoError", "status": "Charging"}
        assert (await call(ws, "StatusNotification", status, f"n{connector}"))[0] == 3
    await ws.disconnect()

    current = await adb(
        lambda: dict(Connector.objects.values_list("connector_id", "current_transaction_id"))
    )()
    assert current == {1: first, 2: None}


async def test_a_transaction_answered_invalid_is_not_ongoing(charge_point: ChargePoint) -> None:
    ws = await booted()
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    await call(ws, "StatusNotification", status, "n1")
    answer = await call(ws, "StartTransaction", start(idTag="UNKNOWN"), "s1")
    await ws.disconnect()
    assert answer[2]["idTagInfo"]["status"] == "Invalid"
    tx = await adb(Transaction.objects.get)()
    assert not tx.is_ongoing() and tx.state() == "not authorized (Invalid)"
    connector = await adb(Connector.objects.get)(connector_id=1)
    assert connector.current_transaction_id is None


async def test_a_stop_of_a_transaction_never_given_is_acknowledged_noted_and_stops_nothing(
    charge_point: ChargePoint,
) -> None:
    """steve-community/steve #156: a StopTransaction with transactionId 0, which the central
    system never gave, must still get its StopTransaction.conf (SteVe failed on a database
    constraint); EVerest/libocpp #495 sent -1 after an offline start. Answered, noted on the
    frame (it is a charger's fault the judge reports), and no transaction is stopped: not
    this charge point's ongoing one, nor another charge point's of that id."""
    other, _ = await adb(services.create_charge_point)("CP2", no_auth=True)
    await adb(IdTag.objects.create)(charge_point=other, id_tag="DEADBEEF", status="Accepted")
    foreign = await adb(services.start_transaction)(
        other.pk, {**start(), "timestamp": parse_ocpp_time(NOW).value}
    )
    ws = await booted()
    own = (await call(ws, "StartTransaction", start(), "s1"))[2]["transactionId"]
    answers = [
        await call(
            ws, "StopTransaction", {"transactionId": tx, "meterStop": 1, "timestamp": NOW}, u
        )
        for tx, u in ((0, "x0"), (-1, "x1"), (foreign.transaction_id, "x2"))
    ]
    await ws.disconnect()

    assert [answer[:3] for answer in answers] == [[3, "x0", {}], [3, "x1", {}], [3, "x2", {}]]
    for unique_id, tx in (("x0", 0), ("x1", -1), ("x2", foreign.transaction_id)):
        note = (await the_call(charge_point, unique_id)).validation_error
        assert note.startswith(f"transactionId {tx} is no transaction the central system gave")
        assert note.endswith("nothing stopped")
    ongoing = await adb(lambda: [t.pk for t in Transaction.objects.all() if t.is_ongoing()])()
    assert sorted(ongoing) == sorted([own, foreign.transaction_id])


async def test_meter_values_of_an_unknown_or_another_connectors_transaction_are_noted(
    charge_point: ChargePoint,
) -> None:
    """lbbrhzn/ocpp #1491 and dallmann-consulting/OCPP.Core #34: chargers name transactions
    the central system does not know, and a central system that does not check applies
    them to whatever is running. MeterValues of the connector's own transaction, and of the
    main meter (connector 0), carry no note; an unknown transactionId and another
    connector's transaction are named on the frame."""
    ws = await booted()
    first = (await call(ws, "StartTransaction", start(connector=1), "s1"))[2]["transactionId"]
    second = (await call(ws, "StartTransaction", start(connector=2), "s2"))[2]["transactionId"]
    value = [{"timestamp": NOW, "sampledValue": [{"value": "1500"}]}]
    cases = {
        "own": (1, first),
        "main-meter": (0, second),
        "unknown": (1, 987654),
        "crossed": (2, first),
        "own-again": (2, second),
    }
    for unique_id, (connector, tx) in cases.items():
        answer = await call(
            ws,
            "MeterValues",
            {"connectorId": connector, "transactionId": tx, "meterValue": value},
            unique_id,
        )
        assert answer == [3, unique_id, {}]
    await ws.disconnect()

    notes = {u: (await the_call(charge_point, u)).validation_error for u in cases}
    assert notes["own"] == notes["main-meter"] == notes["own-again"] == ""
    assert notes["unknown"].startswith("transactionId 987654 is no transaction the central")
    assert notes["crossed"] == (
        f"transactionId {first} is the transaction of connector 1, not of connector 2 "
        "the MeterValues names"
    )


# --- 9. Schema violations get the 1.6 error code the definitions give ---------------------


@pytest.mark.parametrize(
    ("action", "payload", "code", "words"),
    [
        (
            "MeterValues",
            {"connectorId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": []}]},
            "OccurenceConstraintViolation",
            ("MeterValues.meterValue[0].sampledValue", "at least 1"),
        ),
        (
            "MeterValues",
            {"connectorId": 1, "meterValue": []},
            "OccurenceConstraintViolation",
            ("MeterValues.meterValue",),
        ),
        # The same empty sample in a StopTransaction's transactionData was answered {}: the
        # StopTransaction schema leaves out the MeterValue type's 1..* (lbbrhzn/ocpp #466
        # replayed the empty sampledValue of a Vestel charger's MeterValues).
        (
            "StopTransaction",
            {
                "transactionId": 1,
                "meterStop": 1,
                "timestamp": NOW,
                "transactionData": [{"timestamp": NOW, "sampledValue": []}],
            },
            "OccurenceConstraintViolation",
            ("StopTransaction.transactionData[0].sampledValue", "at least 1"),
        ),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Plugged"},
            "PropertyConstraintViolation",
            ("StatusNotification.status", "'Plugged'", "Available"),
        ),
        (
            "StopTransaction",
            {"transactionId": 1, "meterStop": 1, "timestamp": NOW, "reason": "Bored"},
            "PropertyConstraintViolation",
            ("StopTransaction.reason",),
        ),
        (
            "Authorize",
            {"idTag": "X" * 21},
            "TypeConstraintViolation",
            ("Authorize.idTag", "21 characters", "at most 20"),
        ),
        (
            "StartTransaction",
            {**start(), "connectorId": "1"},
            "TypeConstraintViolation",
            ("StartTransaction.connectorId must be an integer",),
        ),
        (
            "BootNotification",
            {"chargePointVendor": "X"},
            "ProtocolError",
            ("chargePointModel",),
        ),
        (
            "Heartbeat",
            {"currentTime": NOW},
            "FormationViolation",
            ("'currentTime'",),
        ),
    ],
)
async def test_a_schema_violation_gets_its_1_6_code_and_a_readable_description(
    charge_point: ChargePoint,
    action: str,
    payload: dict[str, Any],
    code: str,
    words: tuple[str, ...],
) -> None:
    ws = await booted()
    answer = await call(ws, action, payload, "v1")
    await ws.disconnect()
    assert_call_error(answer, "v1", code, *words)
    assert isinstance(answer[4], dict) and "keyword" in answer[4]
    note = (await the_call(charge_point, "v1")).validation_error
    assert note == f"{code}: {answer[3]}"
