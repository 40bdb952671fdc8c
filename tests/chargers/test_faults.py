"""Faults the portal injects on purpose: the answers they change, the connection they close,
the reconnects they refuse, and the evidence they leave."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings
from django.utils import timezone

from chargers import services
from chargers.faults import FAULT_REFUSAL
from chargers.models import ChargePoint, ConnectionEvent, Frame, InjectedFault
from tests.chargers.ocpp_helpers import BOOT, adb, call, communicator

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

KEY = "right-key-0123456789"
STOP = {"transactionId": 7, "meterStop": 1200, "timestamp": "2026-01-01T10:00:00Z"}


@pytest.fixture
def charge_point(db: None) -> ChargePoint:
    charge_point, _ = services.create_charge_point("CP1", authorization_key=KEY)
    return charge_point


# As the API does it: from a thread of its own, not the consumers' database thread (the
# injection waits for the consumer, whose database calls need that thread meanwhile).
inject = database_sync_to_async(services.inject_fault, thread_sensitive=False)


async def test_a_callerror_fault_answers_the_action_n_times_then_normally(
    charge_point: ChargePoint,
) -> None:
    # Injected before the connection: the consumer loads it at connect, so no frame can
    # overtake the channel-layer message that tells a live consumer.
    fault = await inject(
        charge_point, "call_error", action="StopTransaction", error_code="InternalError", times=2
    )
    ws = communicator()
    assert (await ws.connect())[0]
    answers = [await call(ws, "StopTransaction", STOP, unique_id=f"s{n}") for n in range(3)]
    heartbeat = await call(ws, "Heartbeat", {}, unique_id="h")
    await ws.disconnect()

    assert [a[0] for a in answers] == [4, 4, 3]
    assert answers[0][2] == "InternalError" and "fault #" in answers[0][3]
    assert heartbeat[0] == 3  # other actions are answered as usual
    await adb(fault.refresh_from_db)()
    assert fault.applied == 2 and fault.ended_at is not None
    assert fault.end_reason == "applied 2 times"
    # The injected CALLERRORs are evidence, and not held against the charger.
    errors = await adb(lambda: list(Frame.objects.filter(message_type=4)))()
    assert [(f.direction, f.action) for f in errors] == [("out", "StopTransaction")] * 2
    # The only note is the charger's own: the stop the handler answered names a transaction
    # this test never started.
    notes = await adb(
        lambda: list(
            Frame.objects.exclude(validation_error="").values_list("unique_id", "validation_error")
        )
    )()
    assert notes == [("s2", f"{services.unknown_transaction_note(7)}; nothing stopped")]


async def test_a_withheld_answer_never_comes_and_the_call_is_still_evidence(
    charge_point: ChargePoint,
) -> None:
    await inject(charge_point, "withhold", action="Heartbeat", times=1)
    ws = communicator()
    assert (await ws.connect())[0]
    await ws.send_to(text_data=json.dumps([2, "h1", "Heartbeat", {}]))
    assert await ws.receive_nothing(timeout=0.6)
    second = await call(ws, "Heartbeat", {}, unique_id="h2")
    await ws.disconnect()
    assert second[0] == 3 and second[1] == "h2"
    frames = await adb(lambda: list(Frame.objects.values_list("direction", "unique_id")))()
    assert ("in", "h1") in frames and ("out", "h1") not in frames


async def test_a_delayed_answer_leaves_late_without_holding_up_other_calls(
    charge_point: ChargePoint,
) -> None:
    await inject(charge_point, "delay", action="Heartbeat", seconds=1.0)
    ws = communicator()
    assert (await ws.connect())[0]
    sent = time.monotonic()
    await ws.send_to(text_data=json.dumps([2, "late", "Heartbeat", {}]))
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    quick = await call(ws, "StatusNotification", status, unique_id="quick")
    quick_after = time.monotonic() - sent
    late = json.loads(await ws.receive_from(timeout=5))
    late_after = time.monotonic() - sent
    await ws.disconnect()
    assert quick[1] == "quick" and quick_after < 0.8
    assert late[0] == 3 and late[1] == "late" and late_after >= 1.0


async def test_boot_is_answered_pending_or_rejected_with_the_faults_interval(
    charge_point: ChargePoint,
) -> None:
    await inject(charge_point, "boot_status", boot_status="Rejected", interval=17, times=1)
    ws = communicator()
    assert (await ws.connect())[0]
    rejected = await call(ws, "BootNotification", BOOT, unique_id="b1")
    accepted = await call(ws, "BootNotification", BOOT, unique_id="b2")
    await ws.disconnect()
    assert rejected[2]["status"] == "Rejected" and rejected[2]["interval"] == 17
    assert accepted[2]["status"] == "Accepted"


@override_settings(OCPP_THROTTLE_FAILURES=2)
async def test_a_disconnect_closes_the_socket_and_refuses_reconnects_for_its_window(
    charge_point: ChargePoint,
) -> None:
    ws = communicator()
    assert (await ws.connect())[0]
    fault = await inject(charge_point, "disconnect", seconds=3)
    closed = await ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4002}
    await ws.disconnect()
    # Refused while the window is open, more often than the throttle would allow guesses.
    for _ in range(3):
        again = communicator()
        assert (await again.connect())[0] is False
    await asyncio.sleep(max(0.0, (fault.ends_at - timezone.now()).total_seconds()) + 0.1)
    back = communicator()
    assert (await back.connect())[0]
    await back.disconnect()

    events = await adb(lambda: list(ConnectionEvent.objects.order_by("at", "pk")))()
    kinds = [e.kind for e in events]
    # Each refusal of an injected disconnect is an event of its own, with its time: the
    # judge measures the reconnect attempts one by one (other refusals are aggregated).
    assert kinds == ["connected", "closed", "refused", "refused", "refused", "connected", "closed"]
    assert [e.count for e in events if e.kind == "refused"] == [1, 1, 1]
    assert f"injected fault #{fault.pk}" in events[1].detail
    assert all(e.detail.startswith(FAULT_REFUSAL) for e in events if e.kind == "refused")
    await adb(fault.refresh_from_db)()
    assert fault.end() == fault.ends_at


async def test_a_fault_that_cannot_be_injected_says_why(charge_point: ChargePoint) -> None:
    bad: list[dict[str, Any]] = [
        {"kind": "flood"},
        {"kind": "disconnect"},
        {"kind": "delay", "action": "Heartbeat", "seconds": -1},
        {"kind": "withhold", "action": "Reset"},
        {"kind": "call_error", "action": "StopTransaction", "error_code": "Oops"},
        {"kind": "boot_status", "boot_status": "Accepted", "interval": 10},
        {"kind": "call_error", "action": "Heartbeat", "error_code": "GenericError", "times": 0},
    ]
    for fields in bad:
        with pytest.raises(services.FaultError):
            await inject(charge_point, **fields)
    assert not await adb(InjectedFault.objects.exists)()


async def test_a_fault_holds_for_a_connection_opened_after_it(charge_point: ChargePoint) -> None:
    await inject(charge_point, "call_error", action="Heartbeat", error_code="GenericError")
    ws = communicator()
    assert (await ws.connect())[0]
    answer = await call(ws, "Heartbeat", {})
    await ws.disconnect()
    assert answer[0] == 4 and answer[2] == "GenericError"


async def test_a_fault_injected_while_connected_is_in_force_for_the_very_next_frame(
    charge_point: ChargePoint,
) -> None:
    ws = communicator()
    assert (await ws.connect())[0]
    assert (await call(ws, "BootNotification", BOOT, unique_id="b"))[0] == 3
    answers = []
    for n in range(5):
        # inject_fault returns once the consumer holding the socket applied the fault: the
        # frame sent right after it cannot overtake it.
        await inject(
            charge_point,
            "call_error",
            action="StopTransaction",
            error_code="InternalError",
            times=1,
        )
        refused = await call(ws, "StopTransaction", STOP, unique_id=f"s{n}")
        accepted = await call(ws, "StopTransaction", STOP, unique_id=f"t{n}")
        answers.append((refused[0], accepted[0]))
    await ws.disconnect()

    assert answers == [(4, 3)] * 5


async def test_a_disconnect_injected_while_connected_has_closed_the_socket_when_it_returns(
    charge_point: ChargePoint,
) -> None:
    ws = communicator()
    assert (await ws.connect())[0]
    await inject(charge_point, "disconnect", seconds=1)
    # Already closed: the close is the next thing out, with nothing answered in between.
    assert await ws.receive_output(timeout=1) == {"type": "websocket.close", "code": 4002}
    await ws.disconnect()


@override_settings(OCPP_FAULT_ACK_TIMEOUT=0.3)
async def test_a_fault_no_worker_confirms_is_ended_unapplied_and_says_so(
    charge_point: ChargePoint,
) -> None:
    # The charger's connection is recorded as open, but its worker is gone: nobody answers.
    await adb(services.open_connection)(
        charge_point, remote_address="10.0.0.9:4000", subprotocol="ocpp1.6", worker="gone:1"
    )
    started = time.monotonic()
    with pytest.raises(services.FaultNotAcknowledged, match="was not applied"):
        await inject(
            charge_point, "call_error", action="StopTransaction", error_code="InternalError"
        )
    assert 0.3 <= time.monotonic() - started < 5
    fault = await adb(InjectedFault.objects.get)()
    assert fault.ended_at is not None and fault.end_reason == services.NOT_ACKNOWLEDGED
    assert await adb(services.fault_rules)(charge_point.pk) == []
