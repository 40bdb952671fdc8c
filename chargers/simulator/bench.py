"""The scripted simulator's test bench hook (docs/bench-hook.md): the portal's unattended runs
plug it in, present cards, raise faults and power-cycle it over HTTP, as they would a lab's
EV simulator, relay board or card robot.

``BenchServer`` serves ``GET /`` (the actions it implements) and ``POST /actions`` in a
thread of its own and performs each action in the charger's event loop. It answers once the
action is done at the "hardware" and the charger said what follows it, or, for an action
that waits on the network (a card presented while offline), ``accepted`` after
``answer_within`` seconds while it goes on. No Django here: the simulator runs anywhere.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
from collections.abc import Coroutine
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chargers.simulator.charger import SimulatedCharger

logger = logging.getLogger(__name__)

ACTIONS = ("plug_in", "unplug", "present_card", "raise_fault", "clear_fault", "power_cycle")


class BenchServer:
    """The hook of one simulated charger, on ``host:port`` (0: any free port)."""

    def __init__(
        self,
        charger: SimulatedCharger,
        loop: asyncio.AbstractEventLoop,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        answer_within: float = 20.0,
    ) -> None:
        self.charger = charger
        self.loop = loop
        self.answer_within = answer_within
        self.performed: list[dict[str, Any]] = []  # every request, in order: the bench's log
        bench = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/") != "":
                    self._answer(404, {"status": "failed", "detail": "no such resource"})
                    return
                self._answer(200, {"actions": list(ACTIONS), "chargePointId": charger.id})

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/actions":
                    self._answer(404, {"status": "failed", "detail": "no such resource"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._answer(400, {"status": "failed", "detail": "the body is not JSON"})
                    return
                if not isinstance(body, dict):
                    self._answer(400, {"status": "failed", "detail": "the body is not an object"})
                    return
                code, answer = bench.perform(body)
                self._answer(code, answer)

            def _answer(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> BenchServer:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def perform(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one action; (HTTP status, answer) as the protocol has them."""
        self.performed.append(dict(body))
        action = body.get("action")
        connector = body.get("connectorId", 1)
        if action not in ACTIONS:
            return 501, {"status": "failed", "detail": f"{action!r} is not implemented"}
        if not isinstance(connector, int) or connector not in self.charger.connectors:
            return 422, {"status": "failed", "detail": f"no connector {connector!r}"}
        charger = self.charger
        work: Coroutine[Any, Any, Any]
        match action:
            case "plug_in":
                work = charger.plug_in(connector)
            case "unplug":
                work = charger.unplug(connector)
            case "present_card":
                work = charger.present_card(body.get("idTag") or None, connector)
            case "raise_fault":
                work = charger.fault(connector, str(body.get("errorCode") or "OtherError"))
            case "clear_fault":
                work = charger.clear_fault(connector)
            case _:
                work = charger.power_cycle()
        future = asyncio.run_coroutine_threadsafe(work, self.loop)
        try:
            result = future.result(self.answer_within)
        except (TimeoutError, concurrent.futures.TimeoutError):
            return 202, {"status": "accepted", "detail": f"{action} is still going on"}
        except Exception as error:  # the charger's own failure, reported to the portal
            logger.warning("bench: %s failed: %s", action, error)
            return 409, {"status": "failed", "detail": f"{action} failed: {error}"}
        detail = f"{action} done" + (f": {result}" if isinstance(result, str) else "")
        return 200, {"status": "done", "detail": detail}
