"""`manage.py simulate_charger`: arguments in, a clear one-line error when it cannot connect."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from bench.baseline_csms import serve as serve_baseline


@pytest.fixture
def refusing_server() -> Iterator[str]:
    """A websocket server on 127.0.0.1 that answers every upgrade with HTTP 401."""

    def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(HTTPStatus.UNAUTHORIZED, "Unauthorized\n")

    def never_called(connection: ServerConnection) -> None:
        raise AssertionError("the upgrade should have been refused")

    with serve(never_called, "127.0.0.1", 0, process_request=refuse) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/ocpp/DEMO1"
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def baseline_url() -> Iterator[str]:
    """The baseline CSMS in a thread of its own: the command runs its own event loop."""
    started = threading.Event()
    port = 0
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    async def main() -> None:
        nonlocal port, stop, loop
        server = await serve_baseline("127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stop, loop = asyncio.Event(), asyncio.get_running_loop()
        started.set()
        await stop.wait()
        server.close()
        await server.wait_closed()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(5)
    yield f"ws://127.0.0.1:{port}/ocpp/DEMO1"
    assert loop is not None and stop is not None
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=5)


def test_it_reports_a_refused_connection_in_one_line(refusing_server: str) -> None:
    with pytest.raises(CommandError) as refused:
        call_command(
            "simulate_charger", refusing_server, "--password", "wrong", stdout=io.StringIO()
        )

    message = str(refused.value)
    assert "HTTP 401" in message
    assert refusing_server in message
    assert "\n" not in message


def test_it_reports_an_unreachable_server(unused_tcp_port: int) -> None:
    with pytest.raises(CommandError, match="could not connect"):
        call_command(
            "simulate_charger",
            f"ws://127.0.0.1:{unused_tcp_port}/ocpp/DEMO1",
            "--no-auth",
            stdout=io.StringIO(),
        )


def test_it_plays_a_scenario_and_prints_the_frames(baseline_url: str) -> None:
    out = io.StringIO()

    call_command(
        "simulate_charger",
        baseline_url,
        "--no-auth",
        "--scenario",
        "plugin-first",
        "--session-seconds",
        "20",
        "--meter-interval",
        "10",
        "--time-scale",
        "0.01",
        "--log-frames",
        "--vendor",
        "Xcharge",
        stdout=out,
    )

    output = out.getvalue()
    assert '"BootNotification",{"chargePointModel":"SIM-22","chargePointVendor":"Xcharge"' in output
    assert '"StopTransaction"' in output
    assert output.rstrip().endswith("frames")
    assert "DEMO1: done; 1 boot(s)" in output


def test_it_insists_on_a_password_or_no_auth() -> None:
    with pytest.raises(CommandError, match="--password"):
        call_command("simulate_charger", "ws://127.0.0.1:1/ocpp/DEMO1", stdout=io.StringIO())


def test_it_refuses_an_unknown_misbehaviour() -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        call_command(
            "simulate_charger",
            "ws://127.0.0.1:1/ocpp/DEMO1",
            "--no-auth",
            "--misbehave",
            "skip-heartbeat",
            "teleport",
            stdout=io.StringIO(),
        )


@pytest.fixture
def unused_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_it_gives_the_charger_its_client_certificate_and_cpo_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from chargers import pki
    from chargers.simulator import SimulatedCharger

    issued = pki.issue_client(pki.create_root("Test CA"), "DEMO3")
    pem = tmp_path / "demo3.pem"
    pem.write_text(issued.certificate_pem + issued.private_key_pem)
    seen: list[SimulatedCharger] = []

    async def run(self: SimulatedCharger, scenario: str = "boot") -> None:
        seen.append(self)

    monkeypatch.setattr(SimulatedCharger, "run", run)
    call_command(
        "simulate_charger",
        "wss://localhost:1/ocpp/DEMO3",
        "--no-auth",
        "--client-cert",
        str(pem),
        "--cpo-name",
        "Lab CPO",
        stdout=io.StringIO(),
    )
    [charger] = seen
    assert charger.config.client_certificate == pem.read_text()
    assert charger.config.cpo_name == "Lab CPO"
    with pytest.raises(CommandError, match="cannot read --client-cert"):
        call_command(
            "simulate_charger",
            "wss://localhost:1/ocpp/DEMO3",
            "--no-auth",
            "--client-cert",
            str(tmp_path / "missing.pem"),
            stdout=io.StringIO(),
        )
