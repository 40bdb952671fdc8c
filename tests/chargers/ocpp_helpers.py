"""Helpers for talking OCPP-J to the consumer in tests."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chargers.models import Connection
from chargers.ocpp.evidence import CapturedFrame
from config.asgi import application

adb = database_sync_to_async


def basic_auth(identity: str, key: str) -> list[tuple[bytes, bytes]]:
    token = base64.b64encode(f"{identity}:{key}".encode()).decode()
    return [(b"authorization", f"Basic {token}".encode())]


def communicator(
    identity: str = "CP1",
    key: str | None = "right-key-0123456789",
    subprotocols: list[str] | None = None,
) -> WebsocketCommunicator:
    headers = basic_auth(identity, key) if key is not None else []
    return WebsocketCommunicator(
        application,
        f"/ocpp/{identity}",
        headers=headers,
        subprotocols=["ocpp1.6"] if subprotocols is None else subprotocols,
    )


async def call(
    ws: WebsocketCommunicator, action: str, payload: dict[str, Any], unique_id: str = "1"
) -> list[Any]:
    """Send a CALL and return the decoded answer frame."""
    await ws.send_to(text_data=json.dumps([2, unique_id, action, payload]))
    return json.loads(await ws.receive_from(timeout=5))


BOOT = {"chargePointVendor": "Xcharge", "chargePointModel": "C8EU", "firmwareVersion": "V1.0.0"}


def captured_call(
    connection: Connection, seq: int, action: str = "Heartbeat", payload: Any = None, **fields: Any
) -> CapturedFrame:
    """A charger's CALL as the central system hands it to the evidence writer."""
    payload = {} if payload is None else payload
    return CapturedFrame(
        charge_point_id=connection.charge_point_id,
        connection_id=connection.pk,
        seq=seq,
        captured_at=fields.pop("captured_at", datetime.datetime.now(datetime.UTC)),
        direction="in",
        message_type=2,
        unique_id=str(seq),
        action=action,
        raw=fields.pop("raw", json.dumps([2, str(seq), action, payload], default=str)),
        payload=payload,
        **fields,
    )
