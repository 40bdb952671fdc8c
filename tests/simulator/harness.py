"""A recording central system on 127.0.0.1 and helpers to run the simulator against it.

The CSMS is the baseline (bench/baseline_csms.py) with every frame recorded, answers that a
test can tune (boot Pending, cards refused) and a way to send CSMS-initiated calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ocpp.exceptions import InternalError
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import Server, ServerConnection

from bench.baseline_csms import BaselineCentralSystem, ocpp_now, serve
from chargers.simulator import ChargerConfig, SimulatedCharger

T = TypeVar("T")

# Charger seconds play 100 times faster: a 10 s heartbeat interval is 0.1 s.
TIME_SCALE = 0.01


def run(coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
    """Run one async test body; a hung scenario fails the test instead of the whole suite."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


@dataclass
class Frame:
    direction: str  # "recv": from the charger; "send": to it
    charge_point_id: str
    kind: int  # 2 CALL, 3 CALLRESULT, 4 CALLERROR
    unique_id: str
    action: str | None  # for results and errors: the action of the call they answer
    payload: Any
    at: float  # loop time


@dataclass
class RecordingCsms:
    interval: int = 10
    boot_answers: list[str] = field(default_factory=list)  # consumed one per boot; then Accepted
    invalid_tags: set[str] = field(default_factory=set)
    parents: dict[str, str] = field(default_factory=dict)  # idTag -> parentIdTag answered
    # Transaction messages answered with CALLERROR InternalError, as many times each.
    call_errors: dict[str, int] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)  # header per connection
    central_systems: dict[str, RecordingCentralSystem] = field(default_factory=dict)
    server: Server | None = None
    _actions: dict[str, str] = field(default_factory=dict)

    async def start(self) -> None:
        self.server = await serve("127.0.0.1", 0, factory=self._central_system)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    def url(self, charge_point_id: str = "CP1") -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp/{charge_point_id}"

    def _central_system(
        self, charge_point_id: str, connection: ServerConnection
    ) -> BaselineCentralSystem:
        assert connection.request is not None
        self.authorizations.append(connection.request.headers.get("Authorization"))
        central_system = RecordingCentralSystem(charge_point_id, connection, self)
        self.central_systems[charge_point_id] = central_system
        return central_system

    def record(self, direction: str, charge_point_id: str, raw: str) -> None:
        message = json.loads(raw)
        kind, unique_id = message[0], message[1]
        if kind == 2:
            action, payload = message[2], message[3]
            self._actions[unique_id] = action
        else:
            action = self._actions.get(unique_id)
            payload = message[2] if kind == 3 else message[2:]
        at = asyncio.get_running_loop().time()
        self.frames.append(Frame(direction, charge_point_id, kind, unique_id, action, payload, at))

    # What the charger sent.

    def calls(self, action: str | None = None) -> list[Frame]:
        return [
            f
            for f in self.frames
            if f.direction == "recv" and f.kind == 2 and (action is None or f.action == action)
        ]

    def payloads(self, action: str) -> list[dict[str, Any]]:
        return [f.payload for f in self.calls(action)]

    def actions(self) -> list[str]:
        return [str(f.action) for f in self.calls()]

    def statuses(self, connector_id: int | None = None) -> list[str]:
        return [
            p["status"]
            for p in self.payloads("StatusNotification")
            if connector_id is None or p["connectorId"] == connector_id
        ]

    async def wait_for(self, condition: Callable[[], bool], within: float = 5) -> None:
        """Poll until ``condition()`` holds; fail the test with the frames seen otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"condition not met; charger sent {self.actions()}")
            await asyncio.sleep(0.005)

    async def call(self, payload: Any, charge_point_id: str = "CP1") -> Any:
        """A CSMS-initiated call on the charger's current connection; its answer."""
        await self.wait_for(lambda: charge_point_id in self.central_systems)
        return await self.central_systems[charge_point_id].call(payload, suppress=False)


class RecordingCentralSystem(BaselineCentralSystem):
    def __init__(self, charge_point_id: str, connection: ServerConnection, csms: RecordingCsms):
        super().__init__(charge_point_id, connection, transaction_ids=_transaction_ids)
        self.csms = csms
        self._response_timeout = 5

    async def route_message(self, raw_msg: str) -> None:
        self.csms.record("recv", self.id, raw_msg)
        await super().route_message(raw_msg)

    async def _send(self, message: str) -> None:
        self.csms.record("send", self.id, message)
        await super()._send(message)

    @on(Action.boot_notification)
    def on_boot_notification(self, **_: Any) -> call_result.BootNotification:
        status = self.csms.boot_answers.pop(0) if self.csms.boot_answers else "Accepted"
        return call_result.BootNotification(
            current_time=ocpp_now(), interval=self.csms.interval, status=status
        )

    @on(Action.start_transaction)
    def on_start_transaction(self, id_tag: str, **_: Any) -> call_result.StartTransaction:
        self._fail_if_told("StartTransaction")
        status = "Invalid" if id_tag in self.csms.invalid_tags else "Accepted"
        return call_result.StartTransaction(
            transaction_id=next(self.transaction_ids), id_tag_info={"status": status}
        )

    @on(Action.stop_transaction)
    def on_stop_transaction(
        self, id_tag: str | None = None, **kwargs: Any
    ) -> call_result.StopTransaction:
        self._fail_if_told("StopTransaction")
        return super().on_stop_transaction(id_tag=id_tag, **kwargs)

    def _fail_if_told(self, action: str) -> None:
        if self.csms.call_errors.get(action, 0) > 0:
            self.csms.call_errors[action] -= 1
            raise InternalError(description=f"{action} refused by the test")

    @on(Action.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        status = "Invalid" if id_tag in self.csms.invalid_tags else "Accepted"
        info = {"status": status}
        if id_tag in self.csms.parents:
            info["parentIdTag"] = self.csms.parents[id_tag]
        return call_result.Authorize(id_tag_info=info)


def _counter() -> Iterator[int]:
    n = 100
    while True:
        n += 1
        yield n


_transaction_ids = _counter()


def charger_config(csms: RecordingCsms, **options: Any) -> ChargerConfig:
    defaults: dict[str, Any] = {
        "password": "secret-key",
        "time_scale": TIME_SCALE,
        "meter_sample_interval": 10,
        "session_seconds": 30,
        "response_timeout": 5,
        "transfer_timeout": 2,
    }
    return ChargerConfig("CP1", csms.url("CP1"), **(defaults | options))


@contextlib.asynccontextmanager
async def connected(
    scenario: str = "idle", csms: RecordingCsms | None = None, **options: Any
) -> AsyncIterator[tuple[RecordingCsms, SimulatedCharger, asyncio.Task[None]]]:
    """A recording CSMS and a charger playing ``scenario``; yields once the charger is
    online; stops both afterwards."""
    csms = csms or RecordingCsms()
    await csms.start()
    charger = SimulatedCharger(charger_config(csms, **options))
    task = asyncio.create_task(charger.run(scenario))
    try:
        await csms.wait_for(lambda: charger.online or task.done())
        yield csms, charger, task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await csms.stop()


class FileServer:
    """A tiny HTTP server on 127.0.0.1: GET serves ``files``, PUT stores into ``uploads``."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.uploads: dict[str, bytes] = {}
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                content = owner.files.get(self.path)
                if content is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                owner.uploads[self.path] = self.rfile.read(length)
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"
