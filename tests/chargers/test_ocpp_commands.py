"""Commands: CSMS-initiated calls sent through the channel layer to the charger's consumer."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.test import override_settings

from chargers import services
from chargers.models import ChargePoint, Command, Frame
from tests.chargers.ocpp_helpers import adb, communicator

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

KEY = "right-key-0123456789"


@pytest.fixture
def charge_point(db: None) -> ChargePoint:
    charge_point, _ = services.create_charge_point("CP1", authorization_key=KEY)
    return charge_point


async def test_a_command_reaches_the_charger_and_its_answer_is_stored(
    charge_point: ChargePoint,
) -> None:
    ws = communicator()
    await ws.connect()
    sending = asyncio.ensure_future(
        services.send_command_async(charge_point, "Reset", {"type": "Hard"})
    )
    frame = json.loads(await ws.receive_from(timeout=5))
    assert frame[0] == 2 and frame[2] == "Reset" and frame[3] == {"type": "Hard"}
    await ws.send_to(text_data=json.dumps([3, frame[1], {"status": "Accepted"}]))
    command = await asyncio.wait_for(sending, 5)
    await ws.disconnect()

    assert command.status == Command.Status.ANSWERED
    assert command.response == {"status": "Accepted"}
    assert command.unique_id == frame[1] and command.round_trip_ms is not None
    frames = await adb(lambda: list(Frame.objects.order_by("seq")))()
    assert [(f.direction, f.message_type, f.action) for f in frames] == [
        ("out", 2, "Reset"),
        ("in", 3, "Reset"),
    ]


async def test_a_callerror_answer_is_stored_as_such(charge_point: ChargePoint) -> None:
    ws = communicator()
    await ws.connect()
    sending = asyncio.ensure_future(
        services.send_command_async(charge_point, "UnlockConnector", {"connectorId": 1})
    )
    frame = json.loads(await ws.receive_from(timeout=5))
    await ws.send_to(text_data=json.dumps([4, frame[1], "NotSupported", "fixed cable", {}]))
    command = await asyncio.wait_for(sending, 5)
    await ws.disconnect()
    assert command.status == Command.Status.CALLERROR
    assert command.error == "NotSupported: fixed cable"


async def test_an_invalid_answer_is_flagged_in_the_evidence(charge_point: ChargePoint) -> None:
    ws = communicator()
    await ws.connect()
    sending = asyncio.ensure_future(services.send_command_async(charge_point, "ClearCache", {}))
    frame = json.loads(await ws.receive_from(timeout=5))
    await ws.send_to(text_data=json.dumps([3, frame[1], {"status": "Maybe"}]))
    await asyncio.wait_for(sending, 5)
    await ws.disconnect()
    answer = await adb(Frame.objects.get)(direction="in")
    assert answer.action == "ClearCache" and "Maybe" in answer.validation_error


async def test_not_connected_is_answered_at_once(charge_point: ChargePoint) -> None:
    command = await asyncio.wait_for(services.send_command_async(charge_point, "ClearCache", {}), 2)
    assert command.status == Command.Status.NOT_CONNECTED
    assert "not connected" in command.error


async def test_an_invalid_payload_is_refused_before_sending(charge_point: ChargePoint) -> None:
    with pytest.raises(services.CommandPayloadError, match="Reset payload is not valid"):
        await services.send_command_async(charge_point, "Reset", {"type": "Gentle"})
    with pytest.raises(services.CommandPayloadError, match="not a command"):
        await services.send_command_async(charge_point, "BootNotification", {})
    assert not await adb(Command.objects.exists)()


async def test_expert_mode_sends_an_invalid_payload_marked_as_such(
    charge_point: ChargePoint,
) -> None:
    ws = communicator()
    await ws.connect()
    sending = asyncio.ensure_future(
        services.send_command_async(
            charge_point, "Reset", {"type": "Gentle"}, deliberately_invalid=True
        )
    )
    frame = json.loads(await ws.receive_from(timeout=5))
    assert frame[3] == {"type": "Gentle"}
    await ws.send_to(text_data=json.dumps([4, frame[1], "FormationViolation", "", {}]))
    command = await asyncio.wait_for(sending, 5)
    await ws.disconnect()
    assert command.deliberately_invalid and command.status == Command.Status.CALLERROR
    sent = await adb(Frame.objects.get)(direction="out")
    assert sent.deliberately_invalid


@override_settings(OCPP_RESPONSE_TIMEOUT=0.3)
async def test_a_charger_that_does_not_answer_times_out(charge_point: ChargePoint) -> None:
    ws = communicator()
    await ws.connect()
    command = await asyncio.wait_for(
        services.send_command_async(charge_point, "ClearCache", {}), 10
    )
    assert command.status == Command.Status.TIMEOUT
    assert "no answer within" in command.error
    await ws.disconnect()
