"""Soak: hundreds of chargers living their ordinary life against the portal for minutes.

Run by hand, not by CI. Every charge point connects (security profile 1: HTTP Basic with
its own AuthorizationKey, checked by the portal at the handshake), then behaves like a
charger in a car park until ``--duration`` is over:

* BootNotification, StatusNotification for connector 0 and for each connector (Available),
  boots spread over the first ``--ramp`` seconds;
* a Heartbeat every ``--heartbeat`` seconds (uniform jitter 0.5x-1.5x);
* per connector, sessions one after another: idle 5-40 s, then StatusNotification
  Preparing, Authorize, StartTransaction, StatusNotification Charging, MeterValues every
  ``--meter-interval`` seconds (jitter 0.8x-1.2x; energy register, power, current per
  phase, voltage, SoC), after 45-150 s StopTransaction (with its transactionData),
  StatusNotification Finishing, then Available. Sessions still charging at the end are
  left open (no stop burst at the deadline).

One call in flight per charger (OCPP-J), each timed from send to answer. Every payload is
checked against the OCPP 1.6 schemas before the run; every answer must be a CALLRESULT with
the expected content (Accepted boots and idTags, an integer transactionId).

The same load, from the same client, runs first against the baseline CSMS
(``bench/baseline_csms.py``, storing nothing), then against the portal (``manage.py serve``
on a throw-away SQLite VAR_DIR, or a throw-away PostgreSQL database with
``--database-url``). Each charger's timings come from a seeded random generator of its own,
so both servers are offered the same schedule. Printed per server: calls/s, p50/p99 and
per action, server RSS after all chargers connected and at the end (with samples in
between), server CPU, the client's own CPU; then the portal/baseline ratios.

Evidence: at the end, with the chargers still connected, the portal's Frame rows of the
soak's charge points must equal what the client sent (direction "in") and received
("out"), there must be no CALLERROR and no frame with a validation error anywhere, and the
Transaction rows must match the StartTransactions and StopTransactions answered. Anything
else, or any failed call or connection, exits 1.

    .venv/bin/python bench/soak.py --charge-points 20 --duration 20      # debug size
    .venv/bin/python bench/soak.py                                       # 500 chargers, 300 s
    .venv/bin/python bench/soak.py --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import secrets
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):  # run as a script: make the bench package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocpp.exceptions import OCPPError
from ocpp.messages import Call, _validate_payload
from websockets.asyncio.client import ClientConnection, connect

from bench.ocpp_ingest import (
    CALL_TIMEOUT,
    CONNECT_TIMEOUT,
    HOST,
    SUBPROTOCOL,
    WARMUP_CALLS,
    WARMUP_ID,
    Server,
    ThrowawayPostgres,
    close_all,
    manage,
    ocpp_now,
    percentile,
    raise_open_files_limit,
    run_benchmark,
    server_env,
    the_servers,
    warm_up,
)

SOAK_PREFIX = "SOAK-CP-"
IDLE_BETWEEN_SESSIONS = (5.0, 40.0)  # seconds a connector stays Available
SESSION_LENGTH = (45.0, 150.0)  # seconds from StartTransaction to StopTransaction
ID_TAGS_PER_CHARGER = 3
SAMPLE_EVERY = 10.0  # seconds between RSS samples
PROGRESS_EVERY = 30.0
WIND_DOWN_TIMEOUT = 2 * CALL_TIMEOUT + 30  # after the deadline, for calls in flight
MAX_ERRORS_KEPT = 20


# --- payloads (realistic, and valid against the OCPP 1.6 schemas) -------------------------


def boot_payload(index: int) -> dict[str, Any]:
    return {
        "chargePointVendor": "SoakVendor",
        "chargePointModel": "Wallbox-22",
        "chargePointSerialNumber": f"SOAK-{index:06d}",
        "chargeBoxSerialNumber": f"BOX-{index:06d}",
        "firmwareVersion": "2.4.1-build.318",
        "iccid": f"8949{index:016d}",
        "imsi": f"26201{index:010d}",
        "meterType": "EM340-DIN",
        "meterSerialNumber": f"MTR-{index:08d}",
    }


def status_payload(connector_id: int, status: str) -> dict[str, Any]:
    return {
        "connectorId": connector_id,
        "errorCode": "NoError",
        "status": status,
        "timestamp": ocpp_now(),
    }


def start_payload(connector_id: int, id_tag: str, meter_wh: int) -> dict[str, Any]:
    return {
        "connectorId": connector_id,
        "idTag": id_tag,
        "meterStart": meter_wh,
        "timestamp": ocpp_now(),
    }


def sampled_values(energy_wh: float, power_w: float, soc: float, context: str) -> list[Any]:
    amps = power_w / (3 * 230.0)
    values: list[dict[str, str]] = [
        {
            "value": f"{energy_wh:.0f}",
            "context": context,
            "format": "Raw",
            "measurand": "Energy.Active.Import.Register",
            "location": "Outlet",
            "unit": "Wh",
        },
        {
            "value": f"{power_w:.0f}",
            "context": context,
            "measurand": "Power.Active.Import",
            "location": "Outlet",
            "unit": "W",
        },
    ]
    values += [
        {
            "value": f"{amps:.1f}",
            "context": context,
            "measurand": "Current.Import",
            "phase": phase,
            "location": "Outlet",
            "unit": "A",
        }
        for phase in ("L1", "L2", "L3")
    ]
    values += [
        {
            "value": "229.6",
            "context": context,
            "measurand": "Voltage",
            "phase": "L1-N",
            "location": "Outlet",
            "unit": "V",
        },
        {
            "value": f"{soc:.0f}",
            "context": context,
            "measurand": "SoC",
            "location": "EV",
            "unit": "Percent",
        },
    ]
    return values


def meter_values_payload(
    connector_id: int, transaction_id: int, energy_wh: float, power_w: float, soc: float
) -> dict[str, Any]:
    return {
        "connectorId": connector_id,
        "transactionId": transaction_id,
        "meterValue": [
            {
                "timestamp": ocpp_now(),
                "sampledValue": sampled_values(energy_wh, power_w, soc, "Sample.Periodic"),
            }
        ],
    }


def stop_payload(transaction_id: int, id_tag: str, meter_wh: int, reason: str) -> dict[str, Any]:
    return {
        "transactionId": transaction_id,
        "idTag": id_tag,
        "meterStop": meter_wh,
        "timestamp": ocpp_now(),
        "reason": reason,
        "transactionData": [
            {
                "timestamp": ocpp_now(),
                "sampledValue": [
                    {
                        "value": str(meter_wh),
                        "context": "Transaction.End",
                        "format": "Raw",
                        "measurand": "Energy.Active.Import.Register",
                        "location": "Outlet",
                        "unit": "Wh",
                    }
                ],
            }
        ],
    }


def check_payloads() -> None:
    """Every kind of call the soak sends, against the ocpp library's 1.6 schemas: a
    payload mistake shows here, not as a thousand CALLERRORs."""
    samples = [
        ("BootNotification", boot_payload(499)),
        ("StatusNotification", status_payload(0, "Available")),
        ("Heartbeat", {}),
        ("Authorize", {"idTag": id_tags_of(499)[0]}),
        ("StartTransaction", start_payload(2, id_tags_of(499)[1], 12_345_678)),
        ("MeterValues", meter_values_payload(2, 17, 12_349_999.4, 21_987.2, 80.4)),
        ("StopTransaction", stop_payload(17, id_tags_of(499)[1], 12_350_000, "EVDisconnected")),
    ]
    for action, payload in samples:
        try:
            _validate_payload(Call(unique_id="1", action=action, payload=payload), "1.6")
        except OCPPError as error:
            raise SystemExit(f"the soak's own {action} is not valid OCPP 1.6: {error}") from None


# --- the simulated chargers ---------------------------------------------------------------


def charge_point_id(index: int) -> str:
    return f"{SOAK_PREFIX}{index:05d}"


def id_tags_of(index: int) -> list[str]:
    return [f"RFID{index:05d}{k:02d}" for k in range(ID_TAGS_PER_CHARGER)]


@dataclass
class Load:
    charge_points: int
    duration: float
    connectors: int
    heartbeat: float
    meter_interval: float
    ramp: float
    seed: int
    security_profile: int
    keys: dict[str, str]  # chargePointId -> AuthorizationKey (profile 1)


@dataclass
class Tally:
    """What the client saw, for one server."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sent: int = 0  # frames sent (every one a CALL)
    received: int = 0  # frames received (answers, and anything else the server sent)
    starts: int = 0  # StartTransactions answered
    stops: int = 0
    error_count: int = 0
    errors: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(text)

    @property
    def calls(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def sorted_latencies(self) -> list[float]:
        return sorted(x for v in self.latencies.values() for x in v)


class SimulatedCharger:
    def __init__(
        self, index: int, ws: ClientConnection, load: Load, tally: Tally, deadline: float
    ) -> None:
        self.index = index
        self.name = charge_point_id(index)
        self.ws = ws
        self.load = load
        self.tally = tally
        self.deadline = deadline
        self.id_tags = id_tags_of(index)
        self.lock = asyncio.Lock()  # one call in flight, as OCPP-J requires
        self.seq = 0

    def rng(self, purpose: str) -> random.Random:
        """A generator per charger and purpose: the same schedule against both servers,
        whatever the interleaving of the coroutines."""
        return random.Random(f"{self.load.seed}/{self.index}/{purpose}")

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        async with self.lock:
            self.seq += 1
            unique_id = str(self.seq)
            text = json.dumps([2, unique_id, action, payload], separators=(",", ":"))
            started = time.perf_counter()
            await self.ws.send(text)
            self.tally.sent += 1
            while True:
                reply = await asyncio.wait_for(self.ws.recv(), CALL_TIMEOUT)
                self.tally.received += 1
                message = json.loads(reply)
                if (
                    isinstance(message, list)
                    and len(message) >= 3
                    and message[0] in (3, 4)
                    and message[1] == unique_id
                ):
                    break
                self.tally.error(f"{self.name} {action}: unexpected frame {str(reply)[:200]}")
            self.tally.latencies[action].append(time.perf_counter() - started)
        if message[0] == 4:
            raise CallFailed(f"{self.name} {action}: CALLERROR {str(reply)[:300]}")
        answer = message[2]
        if not isinstance(answer, dict):
            raise CallFailed(f"{self.name} {action}: answer is not an object: {str(reply)[:200]}")
        return answer

    def expect(self, ok: bool, action: str, answer: dict[str, Any]) -> None:
        if not ok:
            self.tally.error(f"{self.name} {action}: unexpected answer {json.dumps(answer)}")

    async def run(self) -> None:
        try:
            await asyncio.sleep(self.rng("boot").uniform(0, self.load.ramp))
            answer = await self.call("BootNotification", boot_payload(self.index))
            self.expect(answer.get("status") == "Accepted", "BootNotification", answer)
            for connector_id in range(self.load.connectors + 1):
                await self.call("StatusNotification", status_payload(connector_id, "Available"))
            await asyncio.gather(
                self.heartbeats(),
                *(self.connector(c) for c in range(1, self.load.connectors + 1)),
            )
        except Exception as error:
            self.tally.error(f"{self.name} stopped: {type(error).__name__}: {error}")

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    async def heartbeats(self) -> None:
        rng = self.rng("heartbeat")
        while True:
            wait = self.load.heartbeat * rng.uniform(0.5, 1.5)
            if wait >= self.time_left():
                return
            await asyncio.sleep(wait)
            answer = await self.call("Heartbeat", {})
            self.expect("currentTime" in answer, "Heartbeat", answer)

    async def connector(self, connector_id: int) -> None:
        rng = self.rng(f"connector-{connector_id}")
        energy_wh = rng.uniform(1e6, 5e7)  # the meter's register, kept between sessions
        while True:
            idle = rng.uniform(*IDLE_BETWEEN_SESSIONS)
            if idle >= self.time_left():
                return
            await asyncio.sleep(idle)
            id_tag = rng.choice(self.id_tags)
            power_w = rng.choice((3680.0, 7360.0, 11040.0, 22080.0)) * rng.uniform(0.9, 1.0)
            soc = rng.uniform(10, 60)
            session_end = time.monotonic() + rng.uniform(*SESSION_LENGTH)

            await self.call("StatusNotification", status_payload(connector_id, "Preparing"))
            answer = await self.call("Authorize", {"idTag": id_tag})
            accepted = answer.get("idTagInfo", {}).get("status") == "Accepted"
            self.expect(accepted, "Authorize", answer)
            answer = await self.call(
                "StartTransaction", start_payload(connector_id, id_tag, round(energy_wh))
            )
            transaction_id = answer.get("transactionId")
            accepted = answer.get("idTagInfo", {}).get("status") == "Accepted"
            self.expect(isinstance(transaction_id, int) and accepted, "StartTransaction", answer)
            if not isinstance(transaction_id, int):
                return
            self.tally.starts += 1
            await self.call("StatusNotification", status_payload(connector_id, "Charging"))

            last = time.monotonic()
            while True:
                wait = self.load.meter_interval * rng.uniform(0.8, 1.2)
                now = time.monotonic()
                if now + wait >= self.deadline:
                    return  # still charging when the soak ends: left open
                if now + wait >= session_end:
                    break
                await asyncio.sleep(wait)
                now = time.monotonic()
                energy_wh += power_w * (now - last) / 3600
                soc = min(100.0, soc + power_w * (now - last) / 3600 / 600)  # a 60 kWh battery
                last = now
                await self.call(
                    "MeterValues",
                    meter_values_payload(connector_id, transaction_id, energy_wh, power_w, soc),
                )
            await asyncio.sleep(max(0.0, session_end - time.monotonic()))
            energy_wh += power_w * (time.monotonic() - last) / 3600
            reason = rng.choice(("Local", "EVDisconnected"))
            answer = await self.call(
                "StopTransaction", stop_payload(transaction_id, id_tag, round(energy_wh), reason)
            )
            status = answer.get("idTagInfo", {}).get("status")
            self.expect(status in (None, "Accepted"), "StopTransaction", answer)
            self.tally.stops += 1
            await self.call("StatusNotification", status_payload(connector_id, "Finishing"))
            await self.call("StatusNotification", status_payload(connector_id, "Available"))


class CallFailed(Exception):
    pass


# --- one server, one soak -----------------------------------------------------------------


async def open_charger_connection(server: Server, index: int, load: Load) -> ClientConnection:
    identity = charge_point_id(index)
    headers = {}
    if load.security_profile == 1:
        basic = base64.b64encode(f"{identity}:{load.keys[identity]}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
    ws = await connect(
        server.url(identity),
        subprotocols=[SUBPROTOCOL],
        additional_headers=headers,
        open_timeout=CONNECT_TIMEOUT,
        ping_interval=None,  # the servers ping; the client answers
        max_queue=None,
    )
    if ws.subprotocol != SUBPROTOCOL:
        await ws.close()
        raise RuntimeError(f"{identity}: no ocpp1.6 subprotocol agreed")
    return ws


@dataclass
class SoakResult:
    name: str
    connected: int
    connect_failures: int
    connect_seconds: float
    first_connect_failure: str
    tally: Tally
    seconds: float  # from the first boot's release to the last answer
    server_cpu: float
    client_cpu: float
    rss: list[tuple[float, int]]  # (seconds since the soak started, KiB)
    evidence: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.tally.calls / self.seconds

    def p(self, fraction: float) -> float:
        return percentile(self.tally.sorted_latencies(), fraction) * 1000

    @property
    def rss_start(self) -> int:
        return self.rss[0][1]

    @property
    def rss_end(self) -> int:
        return self.rss[-1][1]

    @property
    def rss_peak(self) -> int:
        return max(kib for _, kib in self.rss)

    @property
    def rss_second_half_growth(self) -> int:
        """KiB gained from the sample nearest half-time to the end: the first half holds the
        boots and every connector's first session; growth after that would be a leak."""
        half = self.rss[-1][0] / 2
        middle = min(self.rss, key=lambda sample: abs(sample[0] - half))
        return self.rss_end - middle[1]

    @property
    def server_cpu_ms_per_call(self) -> float:
        return 1000 * self.server_cpu / max(self.tally.calls, 1)


COUNT_EVIDENCE = f"""
import json
from django.db.models import Count, Q
from chargers.models import Frame, Transaction
soak = Frame.objects.filter(charge_point__charge_point_id__startswith={SOAK_PREFIX!r})
counts = soak.aggregate(
    incoming=Count("id", filter=Q(direction="in")),
    outgoing=Count("id", filter=Q(direction="out")),
    calls_in=Count("id", filter=Q(direction="in", message_type=2)),
    results_out=Count("id", filter=Q(direction="out", message_type=3)),
)
counts.update(Frame.objects.aggregate(
    all_frames=Count("id"),
    call_errors=Count("id", filter=Q(message_type=4)),
    with_validation_error=Count("id", filter=~Q(validation_error="")),
))
transactions = Transaction.objects.filter(
    charge_point__charge_point_id__startswith={SOAK_PREFIX!r}
)
counts.update(transactions.aggregate(
    transactions=Count("id"), stopped=Count("id", filter=Q(stopped_at__isnull=False))
))
print("BENCH-EVIDENCE", json.dumps(counts))
"""


def count_evidence(env: dict[str, str]) -> dict[str, int]:
    for line in manage(env, "shell", "-c", COUNT_EVIDENCE, timeout=120).splitlines():
        if line.startswith("BENCH-EVIDENCE "):
            counts: dict[str, int] = json.loads(line.split(" ", 1)[1])
            return counts
    raise RuntimeError("the evidence count printed nothing")


async def sample_rss(server: Server, started: float, samples: list[tuple[float, int]]) -> None:
    while True:
        await asyncio.sleep(SAMPLE_EVERY)
        samples.append((time.monotonic() - started, server.rss_kib()))


async def report_progress(server: Server, tally: Tally, started: float) -> None:
    last_calls, last_time = 0, started
    while True:
        await asyncio.sleep(PROGRESS_EVERY)
        now, calls = time.monotonic(), tally.calls
        print(
            f"  {server.name} t={now - started:5.0f} s: {calls} calls, "
            f"{(calls - last_calls) / (now - last_time):6.1f} calls/s, "
            f"RSS {server.rss_kib() / 1024:.1f} MiB, errors {tally.error_count}",
            flush=True,
        )
        last_calls, last_time = calls, now


async def soak(
    server: Server, load: Load, connect_concurrency: int, env: dict[str, str] | None
) -> SoakResult:
    """Connect everyone, let them live for the duration, and (``env`` given: the portal)
    count the evidence while they are still connected."""
    semaphore = asyncio.Semaphore(connect_concurrency)

    async def open_one(index: int) -> ClientConnection:
        async with semaphore:
            return await open_charger_connection(server, index, load)

    t = time.perf_counter()
    async with asyncio.timeout(CONNECT_TIMEOUT * 5):
        outcomes = await asyncio.gather(
            *(open_one(i) for i in range(load.charge_points)), return_exceptions=True
        )
    connect_seconds = time.perf_counter() - t
    opened = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, ClientConnection)]
    failures = [o for o in outcomes if not isinstance(o, ClientConnection)]
    connections = [ws for _, ws in opened]
    print(
        f"{server.name}: {len(opened)} chargers connected in {connect_seconds:.1f} s"
        + (f", {len(failures)} FAILED ({failures[0]!r})" if failures else ""),
        flush=True,
    )
    tally = Tally()
    try:
        await asyncio.sleep(1.0)  # let the server finish what follows its handshakes
        started = time.monotonic()
        rss = [(0.0, server.rss_kib())]
        server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
        deadline = started + load.duration
        chargers = [SimulatedCharger(i, ws, load, tally, deadline) for i, ws in opened]
        watchers = [
            asyncio.create_task(sample_rss(server, started, rss)),
            asyncio.create_task(report_progress(server, tally, started)),
        ]
        try:
            async with asyncio.timeout(load.duration + load.ramp + WIND_DOWN_TIMEOUT):
                await asyncio.gather(*(c.run() for c in chargers))
        finally:
            for watcher in watchers:
                watcher.cancel()
        seconds = time.monotonic() - started
        server_cpu = server.cpu_seconds() - server_cpu
        client_cpu = time.process_time() - client_cpu
        rss.append((seconds, server.rss_kib()))
        result = SoakResult(
            name=server.name,
            connected=len(opened),
            connect_failures=len(failures),
            connect_seconds=connect_seconds,
            first_connect_failure=repr(failures[0]) if failures else "",
            tally=tally,
            seconds=seconds,
            server_cpu=server_cpu,
            client_cpu=client_cpu,
            rss=rss,
        )
        if env is not None:
            result.evidence = count_evidence(env)
        return result
    finally:
        await close_all(connections)


# --- the run ------------------------------------------------------------------------------


CREATE_IDENTITIES = """
import json, os
from pathlib import Path
from django.db import transaction
from chargers.models import IdTag
from chargers.services import create_charge_point
spec = json.loads(Path(os.environ["BENCH_SOAK_SPEC"]).read_text())
with transaction.atomic():
    create_charge_point(spec["warmup"], no_auth=True)
    for identity in spec["charge_points"]:
        key = identity["key"]
        charge_point, _ = create_charge_point(
            identity["id"], authorization_key=key, no_auth=key is None
        )
        IdTag.objects.bulk_create(
            IdTag(charge_point=charge_point, id_tag=tag) for tag in identity["id_tags"]
        )
"""


class SoakPostgres(ThrowawayPostgres):
    def __init__(self, admin_url: str) -> None:
        super().__init__(admin_url)
        self.name = self.name.replace("ocpp_ingest_", "ocpp_soak_", 1)
        parts = urlsplit(self.url)
        self.url = urlunsplit(parts._replace(path="/" + self.name))


def ms(seconds: float) -> float:
    return seconds * 1000


def print_result(result: SoakResult) -> None:
    t = result.tally
    print(
        f"  {result.name:<9} {t.calls:7d} calls in {result.seconds:6.1f} s = "
        f"{result.rate:6.1f} calls/s   p50 {result.p(0.50):7.2f} ms   p99 {result.p(0.99):8.2f} ms"
    )
    print(
        f"  {'':<9} server CPU {result.server_cpu:6.1f} s "
        f"({result.server_cpu / result.seconds:4.0%} of a core, "
        f"{result.server_cpu_ms_per_call:.2f} ms/call)   client CPU {result.client_cpu:6.1f} s "
        f"({result.client_cpu / result.seconds:4.0%} of a core)"
    )
    step = max(1, len(result.rss) // 12)
    shown = [*result.rss[:-1:step], result.rss[-1]]
    print(
        f"  {'':<9} RSS after connecting {result.rss_start / 1024:.1f} MiB, at the end "
        f"{result.rss_end / 1024:.1f} MiB, peak {result.rss_peak / 1024:.1f} MiB, second half "
        f"{result.rss_second_half_growth / 1024:+.1f} MiB; samples (s MiB) "
        + ", ".join(f"{s:.0f}s {kib / 1024:.0f}" for s, kib in shown)
    )
    print(f"  {'':<9} {t.starts} transactions started, {t.stops} stopped")
    print(f"  {'':<9} per action (count, p50, p99 ms):")
    for action, values in sorted(t.latencies.items()):
        values = sorted(values)
        print(
            f"  {'':<11} {action:<19} {len(values):7d} {ms(percentile(values, 0.5)):8.2f}"
            f" {ms(percentile(values, 0.99)):8.2f}"
        )


def check_evidence(portal: SoakResult) -> list[str]:
    """What is wrong with the portal's evidence; empty when it matches the client."""
    e, t = portal.evidence, portal.tally
    problems = []
    if e["incoming"] != t.sent or e["calls_in"] != t.sent:
        problems.append(
            f"{t.sent} frames sent, {e['incoming']} recorded in ({e['calls_in']} CALLs)"
        )
    if e["outgoing"] != t.received or e["results_out"] != t.received:
        problems.append(
            f"{t.received} frames received, {e['outgoing']} recorded out "
            f"({e['results_out']} CALLRESULTs)"
        )
    if e["all_frames"] != e["incoming"] + e["outgoing"] + 2 * WARMUP_CALLS:
        problems.append(f"{e['all_frames']} Frame rows in all, more than the soak and warm-up")
    if e["call_errors"]:
        problems.append(f"{e['call_errors']} CALLERROR frames")
    if e["with_validation_error"]:
        problems.append(f"{e['with_validation_error']} frames with a validation error")
    if e["transactions"] != t.starts or e["stopped"] != t.stops:
        problems.append(
            f"{e['transactions']} Transaction rows ({e['stopped']} stopped) for "
            f"{t.starts} StartTransactions ({t.stops} StopTransactions) answered"
        )
    return problems


async def run(args: argparse.Namespace, var_dir: Path, database_url: str | None) -> int:
    env = server_env(var_dir, database_url, "config.settings")
    env["FTP_PORT"] = "0"  # the portal's FTP server is not under test (and needs a fixed port)
    backend = "PostgreSQL" if database_url else "SQLite (WAL)"
    print(f"setup: VAR_DIR={var_dir}, database {backend}", flush=True)
    t = time.perf_counter()
    manage(env, "migrate", "--noinput")
    keys = {charge_point_id(i): secrets.token_urlsafe(24) for i in range(args.charge_points)}
    spec = {
        "warmup": WARMUP_ID,
        "charge_points": [
            {
                "id": charge_point_id(i),
                "key": keys[charge_point_id(i)] if args.security_profile == 1 else None,
                "id_tags": id_tags_of(i),
            }
            for i in range(args.charge_points)
        ],
    }
    spec_path = var_dir / "soak-identities.json"
    spec_path.write_text(json.dumps(spec))
    manage({**env, "BENCH_SOAK_SPEC": str(spec_path)}, "shell", "-c", CREATE_IDENTITIES)
    spec_path.unlink()
    print(
        f"setup: migrated, {args.charge_points} identities (security profile "
        f"{args.security_profile}, {ID_TAGS_PER_CHARGER} idTags each) "
        f"in {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    load = Load(
        charge_points=args.charge_points,
        duration=args.duration,
        connectors=args.connectors,
        heartbeat=args.heartbeat,
        meter_interval=args.meter_interval,
        ramp=args.ramp,
        seed=args.seed,
        security_profile=args.security_profile,
        keys=keys,
    )
    print(
        f"load: {load.charge_points} chargers x {load.connectors} connectors for "
        f"{load.duration:g} s; Heartbeat ~{load.heartbeat:g} s, MeterValues ~"
        f"{load.meter_interval:g} s, boots over {load.ramp:g} s, seed {load.seed}",
        flush=True,
    )

    baseline, portal = the_servers(env, var_dir)
    servers = [baseline, portal] if not args.portal_only else [portal]
    results: dict[str, SoakResult] = {}
    try:
        for server in servers:
            server.start()
            await warm_up(server)
            print(f"{server.name}: pid {server.pid}, ws://{HOST}:{server.port}/ocpp/<id>")
            results[server.name] = await soak(
                server, load, args.connect_concurrency, env if server is portal else None
            )
            print(f"{server.name}: done", flush=True)
            if server is portal:
                log = portal.log_path.read_text(errors="replace")
                results[server.name].evidence["log_tracebacks"] = log.count("Traceback")
            server.stop()
    except Exception:
        for server in servers:
            tail = server.log_tail()
            if tail:
                print(f"--- last lines of the {server.name} log ---\n{tail}", file=sys.stderr)
        raise
    finally:
        for server in servers:
            server.stop()

    failed = False
    print(f"\nsoak: {load.charge_points} chargers, {load.duration:g} s, {backend}")
    for result in results.values():
        print_result(result)
    for result in results.values():
        if result.connect_failures:
            failed = True
            print(
                f"  {result.name}: {result.connect_failures} chargers could not connect, "
                f"first: {result.first_connect_failure}"
            )
        if result.tally.error_count:
            failed = True
            print(f"  {result.name}: {result.tally.error_count} errors, first ones:")
            for error in result.tally.errors[:5]:
                print(f"    {error}")
    if "baseline" in results:
        base, port = results["baseline"], results["portal"]
        print("ratios portal/baseline:")
        print(f"  throughput      {port.rate / base.rate:5.2f}x  (calls/s; the load is paced)")
        print(f"  p50             {port.p(0.50) / base.p(0.50):5.2f}x")
        print(f"  p99             {port.p(0.99) / base.p(0.99):5.2f}x")
        print(
            f"  server CPU/call {port.server_cpu_ms_per_call / base.server_cpu_ms_per_call:5.2f}x"
        )
        print(f"  RSS at start    {port.rss_start / base.rss_start:5.2f}x")
        print(f"  RSS at end      {port.rss_end / base.rss_end:5.2f}x")
    evidence = results["portal"].evidence
    print("evidence (portal, counted while the chargers were still connected):")
    print(
        "  soak frames in {incoming} (CALLs {calls_in}), out {outgoing} (CALLRESULTs "
        "{results_out}); all Frame rows {all_frames}; CALLERRORs {call_errors}; with "
        "validation errors {with_validation_error}; transactions {transactions} "
        "({stopped} stopped); tracebacks in the portal log {log_tracebacks}".format(**evidence)
    )
    client = results["portal"].tally
    print(f"  client: sent {client.sent}, received {client.received}")
    problems = check_evidence(results["portal"])
    if evidence["log_tracebacks"]:
        problems.append(f"{evidence['log_tracebacks']} tracebacks in the portal log")
    for problem in problems:
        print(f"  EVIDENCE: {problem}")
    if not problems:
        print("  OK: every frame sent and received is recorded, no CALLERROR, no validation error")
    failed |= bool(problems)
    if failed:
        print("\nFAILED: evidence missing, calls failed or chargers not connected")
        return 1
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--charge-points", type=int, default=500, help="chargers")
    parser.add_argument("--duration", type=float, default=300, help="seconds of soak")
    parser.add_argument("--connectors", type=int, default=2, help="connectors per charger")
    parser.add_argument("--heartbeat", type=float, default=20, help="mean Heartbeat interval")
    parser.add_argument(
        "--meter-interval", type=float, default=5, help="mean MeterValues interval while charging"
    )
    parser.add_argument("--ramp", type=float, default=10, help="boots spread over seconds")
    parser.add_argument("--seed", type=int, default=1, help="of the chargers' schedules")
    parser.add_argument(
        "--security-profile",
        type=int,
        choices=(0, 1),
        default=1,
        help="1: HTTP Basic with a key per charger, checked at each handshake; 0: none",
    )
    parser.add_argument("--connect-concurrency", type=int, default=50, help="handshakes in flight")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server on 127.0.0.1 (postgres://user@127.0.0.1:5432/postgres): the "
        "portal runs on a throw-away database created there and dropped afterwards",
    )
    parser.add_argument("--portal-only", action="store_true", help="skip the baseline (debugging)")
    args = parser.parse_args()
    if min(args.charge_points, args.duration, args.heartbeat, args.meter_interval) <= 0:
        parser.error("sizes and intervals must be positive")
    if args.connectors < 1 or args.ramp < 0:
        parser.error("at least one connector; the ramp cannot be negative")
    return args


def main() -> int:
    args = parse_args()
    check_payloads()
    raise_open_files_limit(args.charge_points + 256)
    postgres = SoakPostgres(args.database_url) if args.database_url else None
    return run_benchmark("ocpp-soak-", postgres, lambda var_dir, url: run(args, var_dir, url))


if __name__ == "__main__":
    sys.exit(main())
