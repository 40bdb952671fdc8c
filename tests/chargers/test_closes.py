"""How connections end: a charger that leaves the pings unanswered is recorded with that
reason, and a websocket path no route takes is refused cleanly (issue 13, item 10)."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator

from chargers import services
from chargers.models import ConnectionEvent
from config.asgi import application
from tests.chargers.ocpp_helpers import adb
from tests.live import daphne_server, eventually

KEY = "live-key-0123456789"


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_for_unanswered_pings_is_recorded_with_that_reason(
    tmp_path: Path,
) -> None:
    services.create_charge_point("PING-1", authorization_key=KEY)
    with daphne_server(
        tmp_path, extra_env={"OCPP_WS_PING_INTERVAL": "1", "OCPP_WS_PING_TIMEOUT": "1"}
    ) as server:
        # A charger whose websocket stack never answers a ping: the handshake by hand,
        # then silence (no frame read, no pong sent).
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        token = base64.b64encode(f"PING-1:{KEY}".encode()).decode()
        sock.sendall(
            (
                "GET /ocpp/PING-1 HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n"
                f"Authorization: Basic {token}\r\n\r\n"
            ).encode()
        )
        handshake = b""
        while b"\r\n\r\n" not in handshake:
            handshake += sock.recv(1024)
        assert handshake.startswith(b"HTTP/1.1 101"), handshake
        try:
            assert eventually(
                lambda: ConnectionEvent.objects.filter(
                    charge_point_identity="PING-1", kind="closed"
                ).exists(),
                timeout=20,
            ), server.log()
        finally:
            sock.close()
    closed = ConnectionEvent.objects.get(charge_point_identity="PING-1", kind="closed")
    assert "ping timeout" in closed.detail, closed.detail
    assert closed.close_code == 1006


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/nowhere", "/ocpp/", "/ocpp/CP1/extra", "/ws/nothing/"])
async def test_a_websocket_path_no_route_takes_is_refused_cleanly(path: str) -> None:
    ws = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://127.0.0.1")])
    connected, _ = await ws.connect(timeout=5)  # a routing error would raise here
    assert not connected
    await ws.wait()
    if path.startswith("/ocpp/"):
        [event] = await adb(lambda: list(ConnectionEvent.objects.all()))()
        assert event.kind == "refused" and "no route for the path" in event.detail
