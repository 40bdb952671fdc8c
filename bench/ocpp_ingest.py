"""OCPP ingest benchmark: the portal against the bare baseline CSMS, same client, same run.

The portal (``manage.py serve``: Daphne + Channels + the evidence writer, every frame stored)
and the thinnest possible central system (``bench/baseline_csms.py``: the ocpp library on the
bare ``websockets`` server, storing nothing) run as subprocesses on 127.0.0.1; one client
process drives both with the same load, one server after the other:

* load: N charge points connect (subprotocol ocpp1.6), then each sends M calls one after
  another (BootNotification first, then a mix of MeterValues, Heartbeat and
  StatusNotification), measuring each call from send to answer. Printed per server:
  calls/s, p50 and p99; then the portal/baseline ratios against the targets (throughput at
  least 0.7x the baseline, p99 at most 2x). After each portal round, while the chargers are
  still connected, the Frame rows in the database must be exactly 2 per call exchanged:
  the portal answers only once the evidence is committed, so a shortfall is lost evidence
  and the benchmark exits non-zero.
* idle: K websocket connections held open against each server; the server process's RSS
  before and after gives the memory per connection.

The portal gets a throw-away VAR_DIR (SQLite there) or, with ``--database-url``, a throw-away
PostgreSQL database created and dropped with psql. Charge point identities are created with
security profile 0 (``no_auth=True``): authentication is not what is measured here. The
portal runs as deployed (DEBUG off, in-memory channel layer: one Daphne process).

    .venv/bin/python bench/ocpp_ingest.py --quick
    .venv/bin/python bench/ocpp_ingest.py                      # 20 x 100 calls, 3 rounds, 1000 idle
    .venv/bin/python bench/ocpp_ingest.py --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import math
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
SUBPROTOCOL = Subprotocol("ocpp1.6")

TARGET_THROUGHPUT_RATIO = 0.7  # portal calls/s at least this times the baseline's
TARGET_P99_RATIO = 2.0  # portal p99 at most this times the baseline's

CALL_TIMEOUT = 30.0  # one call, send to answer
ROUND_TIMEOUT = 300.0  # one load round against one server
CONNECT_TIMEOUT = 60.0
SERVER_START_TIMEOUT = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
IDLE_CONCURRENCY = 50  # handshakes in flight while opening the idle connections

LOAD_PREFIX = "BENCH-CP-"
IDLE_PREFIX = "BENCH-IDLE-"
WARMUP_ID = "BENCH-WARMUP"

# Environment variables of the developer's shell that must not leak into the servers.
SCRUBBED_ENV = (
    "DATABASE_URL",
    "DATABASE_NAME",
    "REDIS_URL",
    "VAR_DIR",
    "MEDIA_ROOT",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
)


# --- OCPP-J frames, made by hand (the same client code for both servers) ------------------


def ocpp_now() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def boot_notification(index: int) -> tuple[str, dict[str, Any]]:
    return "BootNotification", {
        "chargePointVendor": "BenchVendor",
        "chargePointModel": "Ingest-1",
        "chargePointSerialNumber": f"SN-{index:06d}",
        "firmwareVersion": "1.0.0",
    }


def status_notification(n: int) -> tuple[str, dict[str, Any]]:
    return "StatusNotification", {
        "connectorId": 1,
        "errorCode": "NoError",
        "status": "Charging" if n % 2 else "Available",
        "timestamp": ocpp_now(),
    }


def meter_values(n: int) -> tuple[str, dict[str, Any]]:
    return "MeterValues", {
        "connectorId": 1,
        "transactionId": 1,
        "meterValue": [
            {
                "timestamp": ocpp_now(),
                "sampledValue": [
                    {
                        "value": f"{1000 + 7.5 * n:.1f}",
                        "context": "Sample.Periodic",
                        "measurand": "Energy.Active.Import.Register",
                        "location": "Outlet",
                        "unit": "Wh",
                    },
                    {
                        "value": "7360",
                        "context": "Sample.Periodic",
                        "measurand": "Power.Active.Import",
                        "unit": "W",
                    },
                    {
                        "value": "32.0",
                        "context": "Sample.Periodic",
                        "measurand": "Current.Import",
                        "phase": "L1",
                        "unit": "A",
                    },
                ],
            }
        ],
    }


def call_plan(index: int, calls: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """BootNotification, then per 5 calls: 3 MeterValues, 1 Heartbeat, 1 StatusNotification."""
    for n in range(calls):
        if n == 0:
            yield boot_notification(index)
        elif n % 5 == 4:
            yield status_notification(n)
        elif n % 5 == 3:
            yield "Heartbeat", {}
        else:
            yield meter_values(n)


WARMUP_CALLS = 4  # one of each action


async def send_calls(
    ws: ClientConnection,
    prefix: str,
    plan: Iterator[tuple[str, dict[str, Any]]],
    latencies: list[float],
    errors: list[str],
) -> None:
    for n, (action, payload) in enumerate(plan):
        unique_id = f"{prefix}-{n}"
        text = json.dumps([2, unique_id, action, payload], separators=(",", ":"))
        started = time.perf_counter()
        await ws.send(text)
        reply = await asyncio.wait_for(ws.recv(), CALL_TIMEOUT)
        latencies.append(time.perf_counter() - started)
        message = json.loads(reply)
        if not (isinstance(message, list) and message[:2] == [3, unique_id]):
            errors.append(f"{action} {unique_id}: {str(reply)[:200]}")


# --- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def url(self, charge_point_id: str) -> str:
        return f"ws://{HOST}:{self.port}/ocpp/{charge_point_id}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            # A session of its own: the whole process group is ended in stop().
            self.process = subprocess.Popen(
                [*self.command, str(self.port)],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited on start:\n{self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.5):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not listen within {SERVER_START_TIMEOUT:g} s")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for {self.name} (pid {self.pid})")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far, all its threads."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


CREATE_IDENTITIES = """
import os
from django.db import transaction
from chargers.services import create_charge_point
with transaction.atomic():
    for name in os.environ["BENCH_IDENTITIES"].split(","):
        create_charge_point(name, no_auth=True)
"""

COUNT_FRAMES = """
import json
from django.db.models import Count, Q
from chargers.models import Frame
print("BENCH-COUNTS", json.dumps(Frame.objects.aggregate(
    total=Count("id"),
    incoming=Count("id", filter=Q(direction="in")),
    outgoing=Count("id", filter=Q(direction="out")),
    call_errors=Count("id", filter=Q(message_type=4)),
    with_validation_error=Count("id", filter=~Q(validation_error="")),
)))
"""


def count_frames(env: dict[str, str]) -> dict[str, int]:
    for line in manage(env, "shell", "-c", COUNT_FRAMES, timeout=60).splitlines():
        if line.startswith("BENCH-COUNTS "):
            counts: dict[str, int] = json.loads(line.split(" ", 1)[1])
            return counts
    raise RuntimeError("the frame count printed nothing")


class ThrowawayPostgres:
    """A database created on the server of ``admin_url`` (127.0.0.1 only) and dropped again."""

    def __init__(self, admin_url: str) -> None:
        parts = urlsplit(admin_url)
        if parts.scheme not in ("postgres", "postgresql", "pgsql"):
            raise SystemExit(f"--database-url must be a postgres:// URL, not {parts.scheme!r}")
        if parts.hostname != HOST:
            raise SystemExit(f"--database-url must point at {HOST}, not {parts.hostname!r}")
        self.admin_url = urlunsplit(
            parts._replace(path="/" + (parts.path.strip("/") or "postgres"))
        )
        self.name = f"ocpp_ingest_{os.getpid()}_{secrets.token_hex(3)}"
        self.url = urlunsplit(parts._replace(path="/" + self.name))
        self.created = False

    def psql(self, sql: str) -> None:
        subprocess.run(
            ["psql", self.admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def create(self) -> None:
        self.psql(f'CREATE DATABASE "{self.name}"')
        self.created = True

    def drop(self) -> None:
        if self.created:
            self.psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.created = False


# --- measurements -------------------------------------------------------------------------


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class LoadRound:
    calls: int
    seconds: float
    latencies: list[float]
    errors: list[str]
    server_cpu: float  # seconds of CPU the server spent on the round

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


@dataclass
class LoadTotals:
    rounds: list[LoadRound] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.rounds)

    @property
    def rate(self) -> float:
        return self.calls / sum(r.seconds for r in self.rounds)

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * sum(r.server_cpu for r in self.rounds) / self.calls

    @property
    def cpu_utilisation(self) -> float:
        return sum(r.server_cpu for r in self.rounds) / sum(r.seconds for r in self.rounds)

    @property
    def sorted_latencies(self) -> list[float]:
        return sorted(x for r in self.rounds for x in r.latencies)

    def p(self, fraction: float) -> float:
        return percentile(self.sorted_latencies, fraction) * 1000

    @property
    def errors(self) -> list[str]:
        return [e for r in self.rounds for e in r.errors]


async def open_connection(url: str) -> ClientConnection:
    ws = await connect(
        url,
        subprotocols=[SUBPROTOCOL],
        open_timeout=CONNECT_TIMEOUT,
        ping_interval=None,  # the client stays silent; the servers' own pings are answered
        max_queue=None,
    )
    if ws.subprotocol != SUBPROTOCOL:
        await ws.close()
        raise RuntimeError(f"{url}: no ocpp1.6 subprotocol agreed")
    return ws


async def close_all(connections: list[ClientConnection]) -> None:
    async with asyncio.timeout(60):
        await asyncio.gather(*(ws.close() for ws in connections), return_exceptions=True)


async def warm_up(server: Server) -> None:
    """One of each action on a connection of its own: imports and schema caches of the
    server are loaded before anything is timed."""
    ws = await open_connection(server.url(WARMUP_ID))
    errors: list[str] = []
    plan = iter([boot_notification(0), ("Heartbeat", {}), status_notification(1), meter_values(1)])
    try:
        await send_calls(ws, "warmup", plan, [], errors)
    finally:
        await ws.close()
    if errors:
        raise RuntimeError(f"{server.name} warm-up: {errors[0]}")


async def load_round(
    server: Server, charge_points: int, calls: int, round_no: int
) -> tuple[LoadRound, list[ClientConnection]]:
    """Connect everyone first, then time the calls alone (handshakes are not calls). The
    connections are returned open: the caller counts the evidence before closing them."""
    connections = await asyncio.gather(
        *(open_connection(server.url(f"{LOAD_PREFIX}{i:04d}")) for i in range(charge_points))
    )
    latencies: list[float] = []
    errors: list[str] = []
    try:
        cpu = server.cpu_seconds()
        started = time.perf_counter()
        async with asyncio.timeout(ROUND_TIMEOUT):
            await asyncio.gather(
                *(
                    send_calls(ws, f"r{round_no}c{i}", call_plan(i, calls), latencies, errors)
                    for i, ws in enumerate(connections)
                )
            )
        seconds = time.perf_counter() - started
        cpu = server.cpu_seconds() - cpu
    except BaseException:
        await close_all(connections)
        raise
    return LoadRound(charge_points * calls, seconds, latencies, errors, cpu), connections


@dataclass
class IdleResult:
    opened: int
    failed: int
    rss_before_kib: int
    rss_after_kib: int
    seconds: float
    first_failure: str = ""

    @property
    def per_connection_kib(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(self.opened, 1)


async def idle_connections(server: Server, count: int) -> IdleResult:
    semaphore = asyncio.Semaphore(IDLE_CONCURRENCY)

    async def open_one(i: int) -> ClientConnection:
        async with semaphore:
            return await open_connection(server.url(f"{IDLE_PREFIX}{i:05d}"))

    await asyncio.sleep(0.5)
    before = server.rss_kib()
    started = time.perf_counter()
    async with asyncio.timeout(CONNECT_TIMEOUT * 3):
        outcomes = await asyncio.gather(
            *(open_one(i) for i in range(count)), return_exceptions=True
        )
    seconds = time.perf_counter() - started
    connections = [o for o in outcomes if isinstance(o, ClientConnection)]
    failures = [o for o in outcomes if not isinstance(o, ClientConnection)]
    await asyncio.sleep(1.0)  # let the server finish what follows its handshakes
    after = server.rss_kib()
    await close_all(connections)
    return IdleResult(
        opened=len(connections),
        failed=len(failures),
        rss_before_kib=before,
        rss_after_kib=after,
        seconds=seconds,
        first_failure=f"{type(failures[0]).__name__}: {failures[0]}" if failures else "",
    )


# --- the run ------------------------------------------------------------------------------


def raise_open_files_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        print(f"warning: open files limited to {target} (hard limit); need about {needed}")


def server_env(var_dir: Path, database_url: str | None, settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(
        DJANGO_SETTINGS_MODULE=settings,
        VAR_DIR=str(var_dir),
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=HOST,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def start_profiler(output: Path | None, server: Server) -> subprocess.Popen[bytes] | None:
    if output is None:
        return None
    py_spy = Path(PYTHON).with_name("py-spy")
    command = [str(py_spy) if py_spy.exists() else "py-spy", "record", "--pid", str(server.pid)]
    # One file per round: py-spy overwrites its output.
    output = output.with_name(f"{output.stem}-{server.pid}-{time.monotonic_ns()}{output.suffix}")
    profiler = subprocess.Popen(
        [*command, "--format", "raw", "--rate", "250", "--nonblocking", "-o", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached before the load starts
    return profiler


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)
    try:
        profiler.wait(30)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait(5)


def fmt_load(name: str, totals: LoadTotals) -> str:
    return (
        f"  {name:<9} {totals.rate:8.0f} calls/s   p50 {totals.p(0.50):7.2f} ms"
        f"   p99 {totals.p(0.99):7.2f} ms   server CPU {totals.cpu_ms_per_call:5.2f} ms/call"
        f" ({totals.cpu_utilisation:4.0%} of a core)   rounds: "
        + ", ".join(f"{r.rate:.0f}" for r in totals.rounds)
        + " calls/s"
    )


async def run(args: argparse.Namespace, var_dir: Path, database_url: str | None) -> int:
    env = server_env(var_dir, database_url, args.settings)
    backend = "PostgreSQL" if database_url else "SQLite (WAL)"
    print(f"setup: VAR_DIR={var_dir}, database {backend}, settings {args.settings}", flush=True)
    t = time.perf_counter()
    manage(env, "migrate", "--noinput")
    identities = [f"{LOAD_PREFIX}{i:04d}" for i in range(args.charge_points)]
    identities += [f"{IDLE_PREFIX}{i:05d}" for i in range(args.idle)]
    identities.append(WARMUP_ID)
    manage({**env, "BENCH_IDENTITIES": ",".join(identities)}, "shell", "-c", CREATE_IDENTITIES)
    print(
        f"setup: migrated, {len(identities)} identities (security profile 0) "
        f"in {time.perf_counter() - t:.1f} s",
        flush=True,
    )

    baseline, portal = the_servers(env, var_dir)
    servers = [baseline, portal]
    failed = False
    try:
        for server in servers:
            server.start()
            await warm_up(server)
            print(f"{server.name}: pid {server.pid}, ws://{HOST}:{server.port}/ocpp/<id>")

        # Alternate the servers round by round: drift of the machine hits both alike.
        totals = {server.name: LoadTotals() for server in servers}
        expected_frames = 2 * WARMUP_CALLS
        evidence_lines: list[str] = []
        for round_no in range(1, args.rounds + 1):
            for server in servers:
                profiler = start_profiler(args.profile, portal) if server is portal else None
                try:
                    result, connections = await load_round(
                        server, args.charge_points, args.calls, round_no
                    )
                finally:
                    stop_profiler(profiler)
                try:
                    totals[server.name].rounds.append(result)
                    line = (
                        f"round {round_no} {server.name:<9} {result.rate:8.0f} calls/s "
                        f"in {result.seconds:.2f} s"
                    )
                    if server is portal:
                        expected_frames += 2 * result.calls
                        counts = count_frames(env)
                        ok = counts["total"] == expected_frames
                        failed |= not ok
                        evidence_lines.append(
                            f"  round {round_no}: {counts['total']} Frame rows, expected "
                            f"{expected_frames} (in {counts['incoming']}, out "
                            f"{counts['outgoing']}, CALLERRORs {counts['call_errors']}, "
                            f"with validation errors {counts['with_validation_error']}): "
                            + ("OK" if ok else "EVIDENCE LOST")
                        )
                        line += f"; evidence {counts['total']}/{expected_frames} frames"
                    print(line, flush=True)
                finally:
                    await close_all(connections)

        print(
            f"\nload: {args.charge_points} charge points x {args.calls} calls"
            f" x {args.rounds} rounds"
        )
        for server in servers:
            print(fmt_load(server.name, totals[server.name]))
        for server in servers:
            errors = totals[server.name].errors
            if errors:
                failed = True
                print(
                    f"  {server.name}: {len(errors)} calls not answered by a CALLRESULT, "
                    f"first: {errors[0]}"
                )
        base, port = totals["baseline"], totals["portal"]
        throughput_ratio = port.rate / base.rate
        p99_ratio = port.p(0.99) / base.p(0.99)
        p50_ratio = port.p(0.50) / base.p(0.50)
        throughput_met = throughput_ratio >= TARGET_THROUGHPUT_RATIO
        p99_met = p99_ratio <= TARGET_P99_RATIO
        print("ratios portal/baseline:")
        print(
            f"  throughput {throughput_ratio:5.2f}x  (target >= {TARGET_THROUGHPUT_RATIO}x): "
            + ("met" if throughput_met else "MISSED")
        )
        print(
            f"  p99        {p99_ratio:5.2f}x  (target <= {TARGET_P99_RATIO}x): "
            + ("met" if p99_met else "MISSED")
        )
        print(f"  p50        {p50_ratio:5.2f}x")
        print("evidence (portal, counted while the chargers were still connected):")
        print("\n".join(evidence_lines))

        if args.idle:
            print(f"\nidle: {args.idle} connections held open")
            for server in servers:
                idle = await idle_connections(server, args.idle)
                print(
                    f"  {server.name:<9} {idle.per_connection_kib:6.1f} KiB/connection   RSS "
                    f"{idle.rss_before_kib / 1024:.1f} -> {idle.rss_after_kib / 1024:.1f} MiB, "
                    f"{idle.opened} opened in {idle.seconds:.1f} s"
                    + (f", {idle.failed} FAILED ({idle.first_failure})" if idle.failed else "")
                )
                failed |= idle.failed > 0
    except Exception:
        for server in servers:
            tail = server.log_tail()
            if tail:
                print(f"--- last lines of the {server.name} log ---\n{tail}", file=sys.stderr)
        raise
    finally:
        for server in servers:
            server.stop()
    if failed:
        print("\nFAILED: evidence lost, calls unanswered or connections refused")
        return 1
    if args.fail_on_target and not (throughput_met and p99_met):
        return 3
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--charge-points", type=int, default=20, help="concurrent chargers")
    parser.add_argument("--calls", type=int, default=100, help="calls per charger per round")
    parser.add_argument("--rounds", type=int, default=3, help="load rounds per server")
    parser.add_argument("--idle", type=int, default=1000, help="idle connections (0: skip)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server on 127.0.0.1 (postgres://user@127.0.0.1:5432/postgres): the "
        "portal runs on a throw-away database created there and dropped afterwards",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 5 x 20 calls, 1 round, 100 idle"
    )
    parser.add_argument(
        "--settings",
        default="config.settings",
        help="settings module of the portal (to try a tuning without editing the portal; "
        "PYTHONPATH reaches the servers)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record the portal with py-spy (pip install py-spy) during its load rounds, "
        "as collapsed stacks in this file (py-spy's raw format, for flamegraph tools)",
    )
    parser.add_argument(
        "--fail-on-target", action="store_true", help="exit 3 when a target is missed"
    )
    args = parser.parse_args()
    if args.quick:
        args.charge_points, args.calls, args.rounds, args.idle = 5, 20, 1, 100
    if args.charge_points < 1 or args.calls < 1 or args.rounds < 1 or args.idle < 0:
        parser.error("sizes must be positive")
    return args


def main() -> int:
    args = parse_args()
    # Client and servers each hold a socket per connection (the servers inherit the limit).
    raise_open_files_limit(args.idle + args.charge_points + 256)

    postgres = ThrowawayPostgres(args.database_url) if args.database_url else None
    return run_benchmark("ocpp-ingest-", postgres, lambda var_dir, url: run(args, var_dir, url))


def the_servers(env: dict[str, str], var_dir: Path) -> tuple[Server, Server]:
    """The baseline and the portal, as every benchmark here starts them (logs in var_dir)."""
    baseline = Server(
        "baseline",
        [PYTHON, str(REPO / "bench" / "baseline_csms.py")],
        env,
        var_dir / "baseline.log",
    )
    portal = Server(
        "portal",
        [PYTHON, "manage.py", "serve", "--port"],  # the port is appended
        env,
        var_dir / "portal.log",
    )
    return baseline, portal


def run_benchmark(
    prefix: str,
    postgres: ThrowawayPostgres | None,
    body: Callable[[Path, str | None], Coroutine[Any, Any, int]],
) -> int:
    """Run ``body(var_dir, database_url)`` with a throw-away VAR_DIR (and PostgreSQL database,
    created and dropped here); Ctrl+C or SIGTERM stops the servers and exits 130."""

    def terminate(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # Raised wherever the client is, rather than asyncio's cancel-the-main-task on Ctrl+C,
    # which a library awaiting inside a timeout can swallow: the servers are stopped either way.
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    with tempfile.TemporaryDirectory(prefix=prefix) as var_dir:
        try:
            if postgres is not None:
                postgres.create()
            return asyncio.run(body(Path(var_dir), postgres.url if postgres else None))
        except KeyboardInterrupt as interruption:
            print(f"interrupted ({interruption or 'Ctrl+C'}): servers stopped", file=sys.stderr)
            return 130
        finally:
            if postgres is not None:
                postgres.drop()


if __name__ == "__main__":
    sys.exit(main())
