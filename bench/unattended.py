"""Unattended runs in parallel: do 20 runs at once disturb each other's timing?

Starts the portal (``manage.py serve``, a throw-away SQLite database), N scripted chargers
with their test bench hooks in this process, and plays a short plan on each charge point
through the API (one call per run): step 5 (Heartbeat, 3.5 intervals of 2 s) and step 7
(connection loss: the portal cuts the connection and refuses reconnects for 15 s). First one
run alone, then N at once. For every run it compares what the judge measured with the
simulator's own log of what it did:

- the heartbeat intervals (judge: between the portal's capture times; simulator: between
  its sends),
- the reconnect intervals while refused (judge: between the refused connection events;
  simulator: between its connection attempts),

and reads the portal's CPU time. Prints the mean and maximum timing error and the CPU per
run, each as a ratio to the run alone, and the capture latency of every heartbeat (the
portal's capture time minus the simulator's send time, same wall clock): its spread is what
the interval errors are made of, and it shows whose share is whose.

The chargers live in ``--processes`` child processes (each its own event loop), so that the
client's own scheduling delays can be told from the portal's: with one process all of them
share one loop, as the first measurement did.

    .venv/bin/python bench/unattended.py --runs 20 --processes 4 --port 9200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib
import itertools

from bench.ocpp_ingest import HOST, Server, manage, run_benchmark, server_env
from chargers.simulator import ChargerConfig, SimulatedCharger
from chargers.simulator.bench import BenchServer
from chargers.simulator.station import _Link

KEY = "bench-key-0123456789"
CARD = "04A2B3C4D5E6F7"
HEARTBEAT_S = 2

SETUP = """
import json, os
from certification import services
from certification.models import TestPlan
from chargers import services as charger_services
from chargers.api_tokens import create_api_token
from chargers.models import ChargerModel, FirmwareVersion, IdTag, Manufacturer, User
default = services.install_default_plan()
plan = services.copy_plan(default, None, name="Bench: heartbeat and connection loss")
plan.steps.exclude(number__in=[5, 7]).delete()
services.publish_plan(plan, None)
maker = Manufacturer.objects.create(name="Bench")
model = ChargerModel.objects.create(manufacturer=maker, name="SIM", current_type="AC",
                                    connectors=1, outlet="socket")
firmware = FirmwareVersion.objects.create(charger_model=model, version="1.0.0")
points = []
for name, bench in json.loads(os.environ["BENCH_CHARGERS"]).items():
    point, _ = charger_services.create_charge_point(
        name, authorization_key=os.environ["BENCH_KEY"], charger_model=model,
        firmware_version=firmware, heartbeat_interval=int(os.environ["BENCH_HEARTBEAT"]),
        bench_url=bench)
    IdTag.objects.create(charge_point=point, id_tag=os.environ["BENCH_CARD"])
    points.append(point.pk)
user = User.objects.create_user("bench-engineer", role=User.Role.ENGINEER)
_, token = create_api_token(user)
print("BENCH-SETUP", json.dumps({"token": token, "plan": plan.pk, "points": points}))
"""


class LoggedCharger(SimulatedCharger):
    """The scripted charger, keeping its own log: when it sent each frame, when it tried to
    connect (wall clock, as the portal's capture times)."""

    def __init__(self, config: ChargerConfig) -> None:
        super().__init__(config)
        self.sent_at: list[tuple[float, str]] = []
        self.attempts: list[float] = []
        config.on_frame = self._log_frame

    def _log_frame(self, direction: str, frame: str) -> None:
        if direction == "send":
            self.sent_at.append((time.time(), frame))

    async def _open_link(self) -> _Link:
        self.attempts.append(time.time())
        return await super()._open_link()


@dataclass
class ChargerLog:
    """What a simulator logged, as it travels back from its process."""

    sent_at: list[tuple[float, str]] = field(default_factory=list)
    attempts: list[float] = field(default_factory=list)


def fleet_process(conn: Connection, names: list[str], portal_url: str) -> None:
    """A child process holding some of the chargers and their bench hooks, on its own event
    loop. Talks with the benchmark over ``conn``: sends the bench URLs, then answers
    "connect", "logs" and "stop"."""

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        chargers = {
            name: LoggedCharger(
                ChargerConfig(
                    charge_point_id=name,
                    url=f"{portal_url}/ocpp/{name}",
                    password=KEY,
                    id_tag=CARD,
                    response_timeout=15,
                )
            )
            for name in names
        }
        benches = {name: BenchServer(c, loop).start() for name, c in chargers.items()}
        conn.send({name: b.url for name, b in benches.items()})
        try:
            while True:
                command = await asyncio.to_thread(conn.recv)
                if command == "connect":
                    await asyncio.gather(*(c.connect() for c in chargers.values()))
                    conn.send("connected")
                elif command == "logs":
                    conn.send(
                        {
                            n: ChargerLog(list(c.sent_at), list(c.attempts))
                            for n, c in chargers.items()
                        }
                    )
                else:
                    break
        finally:
            await asyncio.gather(*(c.close() for c in chargers.values()), return_exceptions=True)
            for bench in benches.values():
                bench.close()
            conn.send("stopped")

    asyncio.run(serve())


class Fleet:
    """The chargers spread round-robin over ``processes`` child processes."""

    def __init__(self, names: list[str], portal_url: str, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.children: list[Any] = []
        for n in range(processes):
            ours, theirs = context.Pipe()
            child = context.Process(
                target=fleet_process, args=(theirs, names[n::processes], portal_url), daemon=True
            )
            child.start()
            self.pipes.append(ours)
            self.children.append(child)
        self.bench_urls: dict[str, str] = {}
        for pipe in self.pipes:
            self.bench_urls.update(pipe.recv())

    def _all(self, command: str) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    async def connect(self) -> None:
        await asyncio.to_thread(self._all, "connect")

    async def logs(self) -> dict[str, ChargerLog]:
        merged: dict[str, ChargerLog] = {}
        for part in await asyncio.to_thread(self._all, "logs"):
            merged.update(part)
        return merged

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send("stop")
        for pipe, child in zip(self.pipes, self.children, strict=True):
            with contextlib.suppress(OSError, EOFError):
                if pipe.poll(30):
                    pipe.recv()
            child.join(10)
            if child.is_alive():
                child.kill()


@dataclass
class Outcome:
    errors_ms: list[float] = field(default_factory=list)
    heartbeat_errors_ms: list[float] = field(default_factory=list)
    reconnect_errors_ms: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0


def api(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{base}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def errors_of(
    results: dict[str, Any], evidence: list[dict[str, Any]], charger: ChargerLog
) -> tuple[list[float], list[float], list[float]]:
    """|judge - simulator| for every interval both measured, in milliseconds.

    Heartbeat intervals: the judge measures them between the portal's capture times of the
    frames; the simulator logged when it sent each (same unique id). Reconnect intervals:
    the judge's are between the refused connection events; the simulator logged each of its
    connection attempts (the judge's first interval counts from the close, which the
    simulator does not see: the intervals between attempts are compared).

    Returns the heartbeat errors, the reconnect errors and each heartbeat's capture latency
    (portal capture - simulator send, ms)."""
    errors: list[float] = []
    captured = {
        f["unique_id"]: time_of(f["captured_at"])
        for f in evidence
        if f["direction"] == "in" and f["message_type"] == 2 and f["action"] == "Heartbeat"
    }
    sent = {json.loads(raw)[1]: at for at, raw in charger.sent_at if '"Heartbeat"' in raw}
    both = sorted((captured[u], sent[u]) for u in captured if u in sent)
    latencies = [(cap - snt) * 1000 for cap, snt in both]
    for (cap_a, sent_a), (cap_b, sent_b) in itertools.pairwise(both):
        errors.append(abs((cap_b - cap_a) - (sent_b - sent_a)) * 1000)
    step7 = next(s for s in results["steps"] if s["number"] == 7)
    judged = step7["measurements"].get("reconnect_intervals_s") or []
    attempts = charger.attempts[-len(judged) :] if judged else []
    simulated = [b - a for a, b in itertools.pairwise(attempts)]
    reconnects = [abs(j - s) * 1000 for j, s in zip(judged[1:], simulated, strict=False)]
    return errors, reconnects, latencies


def time_of(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


async def play(
    portal: Server, token: str, plan: int, points: list[int], names: list[str], fleet: Fleet
) -> Outcome:
    base = f"http://{HOST}:{portal.port}"
    cpu_before, started = portal.cpu_seconds(), time.monotonic()
    ids = [
        (
            await asyncio.to_thread(
                api, base, token, "POST", "/api/unattended-runs/", {"charge_point": p, "plan": plan}
            )
        )["id"]
        for p in points
    ]
    outcome = Outcome()
    pending = set(ids)
    while pending:
        await asyncio.sleep(1)
        for unattended_id in list(pending):
            state = await asyncio.to_thread(
                api, base, token, "GET", f"/api/unattended-runs/{unattended_id}/"
            )
            if state["status"] not in {"queued", "running"}:
                pending.discard(unattended_id)
    outcome.cpu_s = portal.cpu_seconds() - cpu_before
    outcome.wall_s = time.monotonic() - started
    logs = await fleet.logs()
    for unattended_id, name in zip(ids, names, strict=True):
        results = await asyncio.to_thread(
            api, base, token, "GET", f"/api/unattended-runs/{unattended_id}/results/"
        )
        outcome.steps += [f"{s['number']}:{s['outcome']}" for s in results["steps"]]
        evidence = await asyncio.to_thread(
            api, base, token, "GET", f"/api/runs/{results['run']}/evidence/?step=5"
        )
        heartbeats, reconnects, latencies = errors_of(results, evidence["results"], logs[name])
        outcome.errors_ms += heartbeats + reconnects
        outcome.heartbeat_errors_ms += heartbeats
        outcome.reconnect_errors_ms += reconnects
        outcome.latencies_ms += latencies
    return outcome


def _mean_max(values: list[float]) -> str:
    if not values:
        return "none"
    return f"{len(values)}: mean {statistics.fmean(values):.1f} max {max(values):.1f} ms"


def summary(name: str, outcome: Outcome, runs: int) -> str:
    errors = outcome.errors_ms or [0.0]
    latencies = sorted(outcome.latencies_ms or [0.0])
    return (
        f"{name:<14} runs {runs:>3}  intervals {len(outcome.errors_ms):>4}  "
        f"timing error mean {statistics.fmean(errors):7.1f} ms  max {max(errors):7.1f} ms  "
        f"(heartbeats {_mean_max(outcome.heartbeat_errors_ms)}, "
        f"reconnects {_mean_max(outcome.reconnect_errors_ms)})  "
        f"capture latency mean {statistics.fmean(latencies):6.1f} ms  "
        f"p95 {latencies[int(0.95 * (len(latencies) - 1))]:6.1f} ms  max {latencies[-1]:6.1f} ms  "
        f"portal CPU {outcome.cpu_s:6.2f} s ({outcome.cpu_s / runs:5.2f} s per run)  "
        f"wall {outcome.wall_s:5.1f} s"
    )


async def body(args: argparse.Namespace, var_dir: Path, database_url: str | None) -> int:
    env = server_env(var_dir, database_url, "config.settings")
    env.update(
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        FTP_PASSIVE_PORTS="",
    )
    portal = Server(
        "portal", [sys.executable, "manage.py", "serve", "--port"], env, var_dir / "portal.log"
    )
    if args.port:
        portal.port = args.port
        env["FTP_PORT"] = str(args.port + 1)
    names = [f"BENCH-{n:02d}" for n in range(args.runs + 1)]
    fleet = Fleet(names, f"ws://{HOST}:{portal.port}", args.processes)
    try:
        manage(env, "migrate", "--noinput")
        setup_env = env | {
            "BENCH_CHARGERS": json.dumps(fleet.bench_urls),
            "BENCH_KEY": KEY,
            "BENCH_CARD": CARD,
            "BENCH_HEARTBEAT": str(HEARTBEAT_S),
        }
        line = next(
            line
            for line in manage(setup_env, "shell", "-c", SETUP).splitlines()
            if line.startswith("BENCH-SETUP ")
        )
        setup = json.loads(line.split(" ", 1)[1])
        # The chargers in BENCH_CHARGERS order are the names' order.
        points = dict(zip(fleet.bench_urls, setup["points"], strict=True))
        portal.start()
        await fleet.connect()
        print(
            f"{len(names)} chargers in {args.processes} process(es); "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        alone = await play(
            portal, setup["token"], setup["plan"], [points[names[0]]], names[:1], fleet
        )
        print(summary("one run alone", alone, 1), flush=True)
        parallel = await play(
            portal, setup["token"], setup["plan"], [points[n] for n in names[1:]], names[1:], fleet
        )
        print(summary(f"{args.runs} in parallel", parallel, args.runs), flush=True)
        mean_alone = statistics.fmean(alone.errors_ms or [0.0]) or 1.0
        print(
            f"ratios to one run alone: timing error mean "
            f"{statistics.fmean(parallel.errors_ms or [0.0]) / mean_alone:.2f}x, max "
            f"{max(parallel.errors_ms or [0.0]) / max(max(alone.errors_ms or [0.0]), 1.0):.2f}x; "
            f"portal CPU per run {(parallel.cpu_s / args.runs) / max(alone.cpu_s, 0.01):.2f}x; "
            f"wall {parallel.wall_s / max(alone.wall_s, 0.01):.2f}x; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        failed = [s for s in alone.steps + parallel.steps if not s.endswith(":passed")]
        print(f"step outcomes not passed: {failed or 'none'}")
        return 0 if not failed else 1
    finally:
        fleet.stop()
        portal.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs in parallel (default 20)")
    parser.add_argument(
        "--processes", type=int, default=4, help="processes the chargers are spread over"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="the portal's port (its FTP server: the next one)"
    )
    args = parser.parse_args()
    return run_benchmark("bench-unattended-", None, lambda var_dir, url: body(args, var_dir, url))


if __name__ == "__main__":
    sys.exit(main())
