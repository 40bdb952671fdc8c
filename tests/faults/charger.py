"""A bare OCPP-J charger for fault tests: a websockets client that remembers every CALL it
sent and every answer it got, so a test can check the evidence against what went over
the wire."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

OCPP16 = Subprotocol("ocpp1.6")


def ocpp_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def meter_values(transaction_id: int, wh: int) -> dict[str, Any]:
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [{"timestamp": ocpp_now(), "sampledValue": [{"value": str(wh)}]}],
    }


class Charger:
    """One websocket connection. ``answered`` holds (CALL text, answer text) pairs: exactly
    what the portal acknowledged, and so must have kept."""

    def __init__(self, ws: ClientConnection, prefix: str = "") -> None:
        self.ws = ws
        self.prefix = prefix
        self.sent: dict[str, str] = {}
        self.answered: list[tuple[str, str]] = []
        self._next = 0

    def _unique_id(self) -> str:
        self._next += 1
        return f"{self.prefix}{self._next}"

    async def send(self, action: str, payload: dict[str, Any]) -> str:
        """Send a CALL without waiting for its answer; return its unique id."""
        unique_id = self._unique_id()
        text = json.dumps([2, unique_id, action, payload])
        self.sent[unique_id] = text
        await self.ws.send(text)
        return unique_id

    async def receive(self) -> list[Any]:
        """The next answer, remembered with the CALL it answers."""
        text = await self.ws.recv()
        assert isinstance(text, str)
        answer = json.loads(text)
        self.answered.append((self.sent[answer[1]], text))
        return list(answer)

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        unique_id = await self.send(action, payload)
        answer = await self.receive()
        assert answer[1] == unique_id, answer
        return answer


def basic_auth(identity: str, key: str) -> dict[str, str]:
    token = base64.b64encode(f"{identity}:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@asynccontextmanager
async def connect(
    ws_url: str, identity: str, key: str, *, prefix: str = "", max_size: int | None = 2**20
) -> AsyncIterator[Charger]:
    async with websockets.connect(
        f"{ws_url}/ocpp/{identity}",
        subprotocols=[OCPP16],
        additional_headers=basic_auth(identity, key),
        max_size=max_size,
        open_timeout=10,
        close_timeout=2,
    ) as ws:
        assert ws.subprotocol == "ocpp1.6"
        yield Charger(ws, prefix)
