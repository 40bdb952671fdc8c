"""End to end: a real Daphne server, a real websocket client, the real database."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.core.management import call_command
from websockets.typing import Subprotocol

from chargers import services
from chargers.models import ChargePoint, Command, ConnectionEvent, Frame
from tests.live import (
    TEST_CHANNEL_PREFIX,
    TEST_REDIS_URL,
    LiveServer,
    daphne_server,
    eventually,
    redis_available,
)

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "live-key-0123456789"
OCPP16 = Subprotocol("ocpp1.6")


def auth_header(identity: str, key: str) -> dict[str, str]:
    token = base64.b64encode(f"{identity}:{key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def charge_point(db: None) -> ChargePoint:
    charge_point, _ = services.create_charge_point("LIVE-1", authorization_key=KEY)
    return charge_point


@pytest.fixture
def server(tmp_path: Path, db: None) -> Iterator[LiveServer]:
    with daphne_server(tmp_path) as live:
        yield live


async def boot_and_idle(url: str, key: str) -> list[Any]:
    answers = []
    async with websockets.connect(
        url, subprotocols=[OCPP16], additional_headers=auth_header("LIVE-1", key)
    ) as ws:
        assert ws.subprotocol == "ocpp1.6"
        for unique_id, action, payload in [
            ("1", "BootNotification", {"chargePointVendor": "X", "chargePointModel": "C8EU"}),
            (
                "2",
                "StatusNotification",
                {"connectorId": 0, "errorCode": "NoError", "status": "Available"},
            ),
            ("3", "Heartbeat", {}),
        ]:
            await ws.send(json.dumps([2, unique_id, action, payload]))
            answers.append(json.loads(await ws.recv()))
    return answers


def test_a_charger_talks_to_a_live_daphne_and_every_frame_is_evidence(
    charge_point: ChargePoint, server: LiveServer
) -> None:
    answers = asyncio.run(boot_and_idle(f"{server.ws_url}/ocpp/LIVE-1", KEY))
    assert [a[0] for a in answers] == [3, 3, 3]
    # Served on the default event loop, libuv's, under Twisted's asyncio reactor.
    assert "Event loop: uvloop (PORTAL_EVENT_LOOP=uvloop)" in server.log()
    assert answers[0][2]["status"] == "Accepted"
    frames = list(Frame.objects.filter(charge_point=charge_point).order_by("seq"))
    assert [(f.direction, f.action) for f in frames] == [
        ("in", "BootNotification"),
        ("out", "BootNotification"),
        ("in", "StatusNotification"),
        ("out", "StatusNotification"),
        ("in", "Heartbeat"),
        ("out", "Heartbeat"),
    ]
    times = [f.captured_at for f in frames]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)

    def kinds() -> list[str]:
        return list(
            ConnectionEvent.objects.filter(charge_point=charge_point)
            .order_by("pk")
            .values_list("kind", flat=True)
        )

    # The close is recorded by the server after the client has gone.
    assert eventually(lambda: kinds() == ["connected", "closed"]), kinds()


def test_a_wrong_key_is_refused_with_http_403_before_the_upgrade(
    charge_point: ChargePoint, server: LiveServer
) -> None:
    async def attempt() -> int:
        try:
            async with websockets.connect(
                f"{server.ws_url}/ocpp/LIVE-1",
                subprotocols=[OCPP16],
                additional_headers=auth_header("LIVE-1", "not-the-key-000000"),
            ):
                return 101
        except websockets.InvalidStatus as refused:
            return refused.response.status_code

    assert asyncio.run(attempt()) == 403
    event = ConnectionEvent.objects.get(charge_point_identity="LIVE-1")
    assert event.kind == "refused" and event.detail == "wrong AuthorizationKey"


class AnsweringCharger(threading.Thread):
    """A charger in its own thread and event loop that answers every CALL Accepted."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.connected = threading.Event()
        self.received: list[list[Any]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        async with websockets.connect(
            self.url, subprotocols=[OCPP16], additional_headers=auth_header("LIVE-1", KEY)
        ) as ws:
            self.connected.set()
            while not self.stop.is_set():
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                except TimeoutError:
                    continue
                self.received.append(frame)
                if frame[0] == 2:
                    await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))


@pytest.mark.skipif(not redis_available(), reason=f"needs Redis at {TEST_REDIS_URL}")
def test_a_command_from_another_process_reaches_the_charger_over_redis(
    charge_point: ChargePoint, tmp_path: Path, settings: Any
) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chargers.channel_layer.PortalChannelLayer",
            "CONFIG": {
                "hosts": [{"address": TEST_REDIS_URL, "socket_timeout": None}],
                "prefix": TEST_CHANNEL_PREFIX,
            },
        }
    }
    with daphne_server(tmp_path, redis_url=TEST_REDIS_URL) as live:
        charger = AnsweringCharger(f"{live.ws_url}/ocpp/LIVE-1")
        charger.start()
        assert charger.connected.wait(10)
        try:
            # This process is not the Daphne worker that holds the websocket.
            command = services.send_command(
                charge_point, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}
            )
        finally:
            charger.stop.set()
            charger.join(10)
    assert command.status == Command.Status.ANSWERED, command.error
    assert command.response == {"status": "Accepted"}
    assert charger.received[0][2] == "ChangeAvailability"
    assert Frame.objects.filter(action="ChangeAvailability").count() == 2


def test_serve_keeps_idle_chargers_and_pings_at_the_configured_interval(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr("daphne.cli.CommandLineInterface.run", lambda self, argv: seen.append(argv))
    settings.OCPP_WS_PING_INTERVAL = 17
    call_command("serve", "--port", "8765")
    [argv] = seen
    assert argv[argv.index("--websocket_timeout") + 1] == "-1"
    assert argv[argv.index("--ping-interval") + 1] == "17"
    assert argv[-1] == "config.asgi:application"
