"""The OCPP 1.6-J endpoint: handshake, every handler, malformed input, evidence."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from daphne.ws_protocol import WebSocketProtocol

from certification.models import TestRun
from chargers import services
from chargers.management.commands.serve import adjust_daphne_websockets
from chargers.models import (
    ChargePoint,
    Connection,
    ConnectionEvent,
    Connector,
    Frame,
    IdTag,
    Transaction,
)
from tests.chargers.ocpp_helpers import BOOT, adb, call, captured_call, communicator

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

KEY = "right-key-0123456789"


@pytest.fixture
def charge_point(db: None) -> ChargePoint:
    charge_point, _ = services.create_charge_point("CP1", authorization_key=KEY)
    return charge_point


async def frames_of(charge_point: ChargePoint) -> list[Frame]:
    return await adb(
        lambda: list(Frame.objects.filter(charge_point=charge_point).order_by("seq"))
    )()


async def events_of(identity: str) -> list[ConnectionEvent]:
    return await adb(
        lambda: list(ConnectionEvent.objects.filter(charge_point_identity=identity).order_by("pk"))
    )()


async def test_it_accepts_ocpp16_and_answers_boot_with_the_configured_interval(
    charge_point: ChargePoint,
) -> None:
    charge_point.heartbeat_interval = 300
    await adb(charge_point.save)()
    ws = communicator()
    connected, subprotocol = await ws.connect()
    assert connected and subprotocol == "ocpp1.6"
    answer = await call(ws, "BootNotification", BOOT | {"iccid": "8931"})
    assert answer[:2] == [3, "1"]
    assert answer[2]["status"] == "Accepted" and answer[2]["interval"] == 300
    assert answer[2]["currentTime"].endswith("Z")
    await ws.disconnect()

    await adb(charge_point.refresh_from_db)()
    assert (charge_point.reported_vendor, charge_point.reported_iccid) == ("Xcharge", "8931")
    inbound, outbound = await frames_of(charge_point)
    assert (inbound.direction, inbound.message_type, inbound.action) == (
        "in",
        2,
        "BootNotification",
    )
    assert (outbound.direction, outbound.message_type, outbound.action) == (
        "out",
        3,
        "BootNotification",
    )
    assert (inbound.seq, outbound.seq) == (1, 2)
    assert json.loads(outbound.raw) == answer
    assert inbound.payload is not None and inbound.payload["iccid"] == "8931"
    assert inbound.validation_error == ""
    assert [e.kind for e in await events_of("CP1")] == ["connected", "closed"]


@pytest.mark.parametrize("boot_answer", ["Pending", "Rejected"])
async def test_boot_answer_is_what_the_engineer_set(
    charge_point: ChargePoint, boot_answer: str
) -> None:
    charge_point.boot_answer = boot_answer
    await adb(charge_point.save)()
    ws = communicator()
    await ws.connect()
    assert (await call(ws, "BootNotification", BOOT))[2]["status"] == boot_answer
    await ws.disconnect()


@pytest.mark.parametrize(
    ("identity", "key", "reason"),
    [
        ("NOPE", KEY, "unknown chargePointId"),
        ("CP1", "wrong-key-0123456789", "wrong AuthorizationKey"),
        ("CP1", None, "no HTTP Basic credentials"),
    ],
)
async def test_it_refuses_before_the_upgrade_and_logs_why(
    charge_point: ChargePoint, identity: str, key: str | None, reason: str
) -> None:
    ws = communicator(identity, key)
    connected, _ = await ws.connect()
    assert not connected
    [event] = await events_of(identity)
    assert event.kind == "refused" and reason in event.detail
    assert not await adb(Connection.objects.exists)()


async def test_it_refuses_a_disabled_identity(charge_point: ChargePoint) -> None:
    charge_point.enabled = False
    await adb(charge_point.save)()
    connected, _ = await communicator().connect()
    assert not connected
    [event] = await events_of("CP1")
    assert event.detail == "identity is disabled"


async def test_it_accepts_profile_0_without_credentials(db: None) -> None:
    await adb(services.create_charge_point)("OPEN1", no_auth=True)
    ws = communicator("OPEN1", key=None)
    connected, _ = await ws.connect()
    assert connected
    await ws.disconnect()


async def test_without_ocpp16_it_closes_right_after_the_handshake(
    charge_point: ChargePoint,
) -> None:
    ws = communicator(subprotocols=["ocpp2.0.1"])
    connected, _ = await ws.connect()
    assert connected
    closed = await ws.receive_output(timeout=2)
    assert closed == {"type": "websocket.close", "code": 1002}
    await ws.wait()
    events = await events_of("CP1")
    assert events[0].kind == "connected"
    assert "no acceptable subprotocol" in events[0].detail


async def test_a_second_connection_replaces_the_first(charge_point: ChargePoint) -> None:
    first = communicator()
    await first.connect()
    second = communicator()
    await second.connect()
    assert await first.receive_output(timeout=2) == {"type": "websocket.close", "code": 4000}
    await first.disconnect(code=4000)
    assert (await call(second, "Heartbeat", {}))[0] == 3
    await second.disconnect()
    kinds = [e.kind for e in await events_of("CP1")]
    assert kinds.count("connected") == 2 and "replaced" in kinds


@pytest.mark.parametrize(
    ("frame", "reply"),
    [
        ("this is not json", None),
        ('{"not": "a list"}', None),
        ('[7, "u1", "Heartbeat", {}]', None),
        ('[2, "u1", "Heartbeat"]', "FormationViolation"),
        ('[2, "u1", "FlyToTheMoon", {}]', "NotImplemented"),
        ('[2, "u1", "Reset", {"type": "Hard"}]', "NotSupported"),
        ('[2, "u1", "BootNotification", {"chargePointVendor": "X"}]', "ProtocolError"),
        (
            '[2, "u1", "StatusNotification", {"connectorId": "one", "errorCode": "NoError", '
            '"status": "Available"}]',
            "TypeConstraintViolation",
        ),
        ('[2, "u1", "Heartbeat", {"surprise": 1}]', "FormationViolation"),
    ],
)
async def test_malformed_frames_are_recorded_and_answered_per_ocpp_j(
    charge_point: ChargePoint, frame: str, reply: str | None
) -> None:
    ws = communicator()
    await ws.connect()
    await ws.send_to(text_data=frame)
    if reply is None:
        assert await ws.receive_nothing(timeout=0.3)
    else:
        answer = json.loads(await ws.receive_from(timeout=5))
        assert answer[0] == 4 and answer[1] == "u1" and answer[2] == reply
    # The connection survives bad input.
    assert (await call(ws, "Heartbeat", {}, "after"))[0] == 3
    await ws.disconnect()
    recorded = await frames_of(charge_point)
    assert recorded[0].raw == frame
    assert recorded[0].validation_error
    if reply:
        assert recorded[1].direction == "out" and json.loads(recorded[1].raw)[2] == reply


async def test_authorize_answers_the_configured_status_and_invalid_for_unknown_tags(
    charge_point: ChargePoint,
) -> None:
    await adb(IdTag.objects.create)(charge_point=charge_point, id_tag="GOOD", status="Accepted")
    await adb(IdTag.objects.create)(charge_point=charge_point, id_tag="BAD", status="Blocked")
    ws = communicator()
    await ws.connect()
    assert (await call(ws, "Authorize", {"idTag": "GOOD"}))[2]["idTagInfo"]["status"] == "Accepted"
    assert (await call(ws, "Authorize", {"idTag": "BAD"}))[2]["idTagInfo"]["status"] == "Blocked"
    assert (await call(ws, "Authorize", {"idTag": "WHO"}))[2]["idTagInfo"]["status"] == "Invalid"
    await ws.disconnect()


async def test_a_resent_start_gets_the_same_transaction_and_a_resent_stop_counts_once(
    charge_point: ChargePoint,
) -> None:
    await adb(IdTag.objects.create)(charge_point=charge_point, id_tag="GOOD")
    start = {
        "connectorId": 1,
        "idTag": "GOOD",
        "meterStart": 1000,
        "timestamp": "2026-11-23T10:00:00Z",
    }
    ws = communicator()
    await ws.connect()
    first = await call(ws, "StartTransaction", start, "s1")
    await ws.disconnect()
    ws = communicator()
    await ws.connect()
    again = await call(ws, "StartTransaction", start, "s2")
    assert first[2]["transactionId"] == again[2]["transactionId"]
    assert first[2]["idTagInfo"]["status"] == "Accepted"
    stop = {
        "transactionId": first[2]["transactionId"],
        "meterStop": 4500,
        "timestamp": "2026-11-23T11:00:00Z",
        "reason": "Local",
        "idTag": "GOOD",
    }
    assert (await call(ws, "StopTransaction", stop, "t1"))[0] == 3
    assert (await call(ws, "StopTransaction", stop, "t2"))[0] == 3
    await ws.disconnect()
    tx = await adb(Transaction.objects.get)()
    assert tx.energy_wh() == 3500 and tx.stop_repeats == 1 and tx.stop_reason == "Local"


async def test_status_notifications_update_the_connector(charge_point: ChargePoint) -> None:
    ws = communicator()
    await ws.connect()
    status = {"connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted"}
    assert (await call(ws, "StatusNotification", status))[2] == {}
    await ws.disconnect()
    connector = await adb(Connector.objects.get)(charge_point=charge_point, connector_id=1)
    assert (connector.status, connector.error_code) == ("Faulted", "GroundFailure")

    # The next one updates the same row, with the charger's own timestamp.
    ws = communicator()
    await ws.connect()
    status = {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Available",
        "info": "cleared",
        "timestamp": "2026-11-24T10:00:00.123Z",
    }
    assert (await call(ws, "StatusNotification", status))[2] == {}
    await ws.disconnect()
    connectors = await adb(lambda: list(Connector.objects.filter(charge_point=charge_point)))()
    assert [(c.connector_id, c.status, c.error_code, c.info) for c in connectors] == [
        (1, "Available", "NoError", "cleared")
    ]
    assert connectors[0].status_at.isoformat() == "2026-11-24T10:00:00.123000+00:00"


async def test_every_remaining_charger_action_is_answered(charge_point: ChargePoint) -> None:
    charge_point.data_transfer_answer = "UnknownVendorId"
    await adb(charge_point.save)()
    ws = communicator()
    await ws.connect()
    assert (await call(ws, "Heartbeat", {}))[2]["currentTime"]
    meter = {
        "connectorId": 1,
        "meterValue": [{"timestamp": "2026-11-23T10:00:00Z", "sampledValue": [{"value": "10"}]}],
    }
    assert (await call(ws, "MeterValues", meter))[2] == {}
    transfer = await call(ws, "DataTransfer", {"vendorId": "Xcharge", "messageId": "Battery"})
    assert transfer[2] == {"status": "UnknownVendorId"}
    assert (await call(ws, "DiagnosticsStatusNotification", {"status": "Uploaded"}))[2] == {}
    assert (await call(ws, "FirmwareStatusNotification", {"status": "Installed"}))[2] == {}
    await ws.disconnect()
    actions = [f.action for f in await frames_of(charge_point)]
    assert actions.count("DataTransfer") == 2 and actions.count("FirmwareStatusNotification") == 2


async def test_a_binary_frame_is_recorded_and_the_socket_closed(charge_point: ChargePoint) -> None:
    ws = communicator()
    await ws.connect()
    await ws.send_to(bytes_data=b"\x00\x01binary")
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 1003}
    await ws.disconnect(code=1003)
    [frame] = await frames_of(charge_point)
    assert "binary frame" in frame.validation_error


async def test_a_frame_with_nul_characters_is_stored_escaped_and_answered(
    charge_point: ChargePoint,
) -> None:
    ws = communicator()
    await ws.connect()
    answer = await call(ws, "DataTransfer", {"vendorId": "X", "data": "a\u0000b"})
    assert answer[0] == 3
    await ws.disconnect()
    inbound = (await frames_of(charge_point))[0]
    assert inbound.payload == {"vendorId": "X", "data": "a\\u0000b"}
    assert "NUL" in inbound.validation_error


def test_a_row_the_database_refuses_is_stored_escaped_and_the_batch_goes_on(
    charge_point: ChargePoint, transactional_db: None
) -> None:
    """NaN is no JSON for SQLite's check nor PostgreSQL's jsonb: before the fallback, such a
    row made the writer retry its batch forever, answering no charger of the process."""
    from chargers.ocpp.evidence import _write_batch
    from chargers.services import open_connection

    connection = open_connection(charge_point, remote_address="", subprotocol="ocpp1.6", worker="t")
    _write_batch(
        [
            captured_call(connection, 1, "DataTransfer", {"ok": 1}),
            captured_call(connection, 2, "DataTransfer", {"x": float("nan")}),
            captured_call(connection, 3, "DataTransfer", {"ok": 3}),
        ]
    )
    stored = {f.seq: f for f in Frame.objects.filter(connection=connection)}
    assert sorted(stored) == [1, 2, 3]
    assert stored[2].payload is None and "stored escaped" in stored[2].validation_error
    assert stored[3].payload == {"ok": 3}


def test_a_failing_state_change_is_logged_and_holds_back_neither_frames_nor_others(
    charge_point: ChargePoint, transactional_db: None, caplog: pytest.LogCaptureFixture
) -> None:
    """State changes ride in the batch's transaction without a savepoint each; when one
    fails the batch is written again with each change on its own, so the frames and the
    other changes are kept (on PostgreSQL the failed statement aborts the transaction)."""
    from django.db import connection as db

    from chargers.ocpp.evidence import _write_batch
    from chargers.services import open_connection, record_status

    connection = open_connection(charge_point, remote_address="", subprotocol="ocpp1.6", worker="t")
    frames = [captured_call(connection, seq, "StatusNotification") for seq in (1, 2)]

    def status(connector_id: int, value: str) -> Callable[[], None]:
        payload = {"connectorId": connector_id, "errorCode": "NoError", "status": value}
        return lambda: record_status(charge_point.pk, payload)

    def failing() -> None:
        with db.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    _write_batch(frames, [status(1, "Charging"), failing, status(2, "Faulted")])

    assert Frame.objects.filter(connection=connection).count() == 2
    connectors = Connector.objects.filter(charge_point=charge_point).order_by("connector_id")
    assert [(c.connector_id, c.status) for c in connectors] == [(1, "Charging"), (2, "Faulted")]
    assert "a state change recorded with the frames failed" in caplog.text

    # Without a failure the changes are written once, in the batch's own transaction.
    _write_batch([], [status(1, "Finishing")])
    assert Connector.objects.get(charge_point=charge_point, connector_id=1).status == "Finishing"


def test_the_writer_stores_every_column_and_gives_run_frames_their_key(
    run: TestRun, transactional_db: None
) -> None:
    """Rows go in as one statement of plain parameters: each column must come back as the
    ORM would have written it, and frames that stream to a run's console get their id."""
    import datetime

    from chargers.ocpp.evidence import CapturedFrame, _write_batch
    from chargers.services import open_connection

    charge_point = run.charge_point
    connection = open_connection(charge_point, remote_address="", subprotocol="ocpp1.6", worker="t")
    at = datetime.datetime(2026, 11, 24, 10, 0, 0, 123456, tzinfo=datetime.UTC)
    frames = [
        CapturedFrame(
            charge_point_id=charge_point.pk,
            connection_id=connection.pk,
            seq=seq,
            captured_at=at + datetime.timedelta(microseconds=seq),
            direction="out" if seq % 2 else "in",
            message_type=None if seq == 3 else 2,
            unique_id=f"u{seq}",
            action="Heartbeat",
            raw=f'[2,"u{seq}","Heartbeat",{{}}]',
            payload=None if seq == 3 else {"n": seq, "text": "é"},
            validation_error="bad" if seq == 3 else "",
            deliberately_invalid=seq == 2,
            run_id=run.pk if seq > 1 else None,
        )
        for seq in (1, 2, 3)
    ]
    _write_batch(frames)
    stored = {f.seq: f for f in Frame.objects.filter(connection=connection)}
    assert frames[0].pk is None  # not streamed, not read back
    assert [frames[1].pk, frames[2].pk] == [stored[2].pk, stored[3].pk]
    for frame in frames:
        row = stored[frame.seq]
        for field in (
            "charge_point_id", "connection_id", "captured_at", "direction", "message_type",
            "unique_id", "action", "raw", "payload", "validation_error",
            "deliberately_invalid", "run_id", "step_result_id",
        ):  # fmt: skip
            assert getattr(row, field) == getattr(frame, field), field


async def test_a_frame_does_not_hop_to_the_database_thread_before_it_is_parsed(
    charge_point: ChargePoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Channels' dispatch closes stale connections on the database thread before every
    message; for chargers' frames the consumer skips that hop (bench/RESULTS.md, third round):
    its own database calls close stale connections themselves."""
    import channels.consumer

    hops: list[str] = []
    original = channels.consumer.aclose_old_connections

    async def counted() -> None:
        hops.append("hop")
        await original()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    ws = communicator()
    await ws.connect()
    after_connect = len(hops)
    assert after_connect >= 1  # the connect handler keeps Channels' hop
    for unique_id in "12345":
        assert (await call(ws, "Heartbeat", {}, unique_id))[2]["currentTime"]
    assert len(hops) == after_connect
    await ws.disconnect()
    assert len(await frames_of(charge_point)) == 10


async def test_a_frame_is_captured_at_the_time_the_transport_read_it(
    charge_point: ChargePoint,
) -> None:
    """Daphne's receipt time (``received_at``, as ``manage.py serve`` adds it) is the capture
    time, however long the frame waited for the consumer behind the previous one's
    database work; without it, the time the consumer took it up."""
    ws = communicator()
    assert (await ws.connect())[0]
    read_at = time.time() - 2.5  # read 2.5 s ago, e.g. queued behind an Authorize
    await ws.send_input(
        {
            "type": "websocket.receive",
            "text": json.dumps([2, "b", "BootNotification", BOOT]),
            "received_at": read_at,
        }
    )
    assert json.loads(await ws.receive_from(timeout=5))[0] == 3
    before = datetime.datetime.now(datetime.UTC)
    assert (await call(ws, "Heartbeat", {}, unique_id="h"))[0] == 3
    await ws.disconnect()

    boot_in, boot_out, heartbeat_in, _ = await frames_of(charge_point)
    assert boot_in.captured_at == datetime.datetime.fromtimestamp(read_at, datetime.UTC)
    assert boot_out.captured_at - boot_in.captured_at >= datetime.timedelta(seconds=2.5)
    assert heartbeat_in.captured_at >= before


def test_serve_hands_each_frame_over_with_the_time_daphne_read_it() -> None:
    adjust_daphne_websockets()
    protocol = WebSocketProtocol.__new__(WebSocketProtocol)
    protocol.muted = False
    protocol.application_queue = asyncio.Queue()
    before = time.time()

    protocol.onMessage(b'[2,"h","Heartbeat",{}]', False)
    protocol.onMessage(b"\x00\x01", True)

    text, binary = protocol.application_queue.get_nowait(), protocol.application_queue.get_nowait()
    assert text["type"] == binary["type"] == "websocket.receive"
    assert text["text"] == '[2,"h","Heartbeat",{}]' and binary["bytes"] == b"\x00\x01"
    assert before <= text["received_at"] <= binary["received_at"] <= time.time()
    assert protocol.last_ping == binary["received_at"]


async def test_connection_events_carry_the_handshake_time_not_the_database_threads(
    charge_point: ChargePoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The judge measures reconnect intervals between these events: stamped after the
    database hops of the handshake, they carried the wait for the database thread (up to
    0.9 s with 20 runs at once, bench/RESULTS.md)."""
    authenticate = services.authenticate_charge_point

    def slow_database(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)  # the database thread busy with other work
        return authenticate(*args, **kwargs)

    monkeypatch.setattr(services, "authenticate_charge_point", slow_database)
    before = datetime.datetime.now(datetime.UTC)
    refused = communicator(key="wrong-key-0123456789")
    assert (await refused.connect())[0] is False
    accepted = communicator()
    started = datetime.datetime.now(datetime.UTC)
    assert (await accepted.connect())[0]
    await accepted.disconnect()

    refusal, connected, _closed = await events_of("CP1")
    assert (refusal.kind, connected.kind) == ("refused", "connected")
    assert before <= refusal.at < before + datetime.timedelta(seconds=0.4)
    assert started <= connected.at < started + datetime.timedelta(seconds=0.4)
