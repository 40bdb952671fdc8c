"""TLS against plain ws in the same run: what the portal's own TLS port (security profiles 2
and 3) costs in connection set-up and in OCPP ingest.

One portal (``manage.py serve --tls-port``) serves both ports; the same client drives the
same load over ``ws://`` and ``wss://`` (the lab CA pinned, TLS as negotiated: 1.3 here)
alternately, round by round, so drift of the machine hits both alike:

* set-up: N connections opened at once (TCP, TLS, the websocket upgrade, the portal's
  identity check and the connected event written); the time until all are open and the
  median of each connection's own set-up time;
* ingest: each connection sends M calls one after another (bench/ocpp_ingest.py's mix),
  every frame stored by the portal; calls/s and p50/p99 per call.

Printed: the figures per transport and the wss/ws ratios. Identities are security profile
0, which the portal accepts over both (no Basic hash in either path).

    .venv/bin/python bench/tls_ingest.py --charge-points 10 --calls 50 --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import sys
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ocpp_ingest import (
    CONNECT_TIMEOUT,
    CREATE_IDENTITIES,
    HOST,
    LOAD_PREFIX,
    PYTHON,
    ROUND_TIMEOUT,
    SUBPROTOCOL,
    Server,
    call_plan,
    close_all,
    free_port,
    manage,
    percentile,
    run_benchmark,
    send_calls,
    server_env,
)


async def open_one(url: str, context: ssl.SSLContext | None) -> tuple[ClientConnection, float]:
    started = time.perf_counter()
    ws = await connect(
        url,
        ssl=context,
        subprotocols=[SUBPROTOCOL],
        open_timeout=CONNECT_TIMEOUT,
        ping_interval=None,
        max_queue=None,
    )
    if ws.subprotocol != SUBPROTOCOL:
        raise RuntimeError(f"{url}: no ocpp1.6 subprotocol agreed")
    return ws, time.perf_counter() - started


async def one_round(
    base_url: str, context: ssl.SSLContext | None, charge_points: int, calls: int, tag: str
) -> tuple[float, list[float], float, list[float], list[str]]:
    """(all-open seconds, per-connection set-up seconds, ingest seconds, latencies, errors)."""
    started = time.perf_counter()
    opened = await asyncio.gather(
        *(open_one(f"{base_url}/ocpp/{LOAD_PREFIX}{i:04d}", context) for i in range(charge_points))
    )
    all_open = time.perf_counter() - started
    connections = [ws for ws, _ in opened]
    latencies: list[float] = []
    errors: list[str] = []
    try:
        started = time.perf_counter()
        async with asyncio.timeout(ROUND_TIMEOUT):
            await asyncio.gather(
                *(
                    send_calls(ws, f"{tag}c{i}", call_plan(i, calls), latencies, errors)
                    for i, ws in enumerate(connections)
                )
            )
        ingest = time.perf_counter() - started
    finally:
        await close_all(connections)
    return all_open, [s for _, s in opened], ingest, latencies, errors


async def run(args: argparse.Namespace, var_dir: Path, database_url: str | None) -> int:
    env = server_env(var_dir, database_url, "config.settings")
    manage(env, "migrate", "--noinput")
    identities = [f"{LOAD_PREFIX}{i:04d}" for i in range(args.charge_points)]
    manage({**env, "BENCH_IDENTITIES": ",".join(identities)}, "shell", "-c", CREATE_IDENTITIES)
    tls_port = free_port()
    env = {**env, "OCPP_TLS_HOST_NAMES": HOST}
    portal = Server(
        "portal",
        [PYTHON, "manage.py", "serve", "--no-ftp", "--tls-port", str(tls_port), "--port"],
        env,
        var_dir / "portal.log",
    )
    portal.start()
    try:
        root = manage(
            env, "shell", "-c", "from chargers import security; print(security.lab_root_pem())"
        )
        context = ssl.create_default_context(cadata=root.strip() + "\n")
        transports = {
            "ws": (f"ws://{HOST}:{portal.port}", None),
            "wss": (f"wss://{HOST}:{tls_port}", context),
        }
        # Warm both paths (imports, schema caches, the TLS context) before timing.
        for base, ctx in transports.values():
            await one_round(base, ctx, 2, 4, "warm")
        figures: dict[str, dict[str, list[float]]] = {
            name: {"open": [], "setup": [], "calls": [], "latency": []} for name in transports
        }
        failed = False
        for round_no in range(1, args.rounds + 1):
            for name, (base, ctx) in transports.items():
                all_open, setups, ingest, latencies, errors = await one_round(
                    base, ctx, args.charge_points, args.calls, f"r{round_no}{name}"
                )
                failed |= bool(errors)
                figures[name]["open"].append(all_open)
                figures[name]["setup"] += setups
                figures[name]["calls"].append(len(latencies) / ingest)
                figures[name]["latency"] += latencies
                print(
                    f"round {round_no} {name:<3}: {args.charge_points} connections open in "
                    f"{all_open * 1000:.0f} ms, {len(latencies) / ingest:.0f} calls/s"
                    + (f", {len(errors)} errors (first: {errors[0]})" if errors else ""),
                    flush=True,
                )
    finally:
        portal.stop()

    def summary(name: str) -> dict[str, float]:
        f = figures[name]
        latency = sorted(f["latency"])
        return {
            "open_ms": statistics.median(f["open"]) * 1000,
            "setup_p50_ms": statistics.median(f["setup"]) * 1000,
            "calls_s": statistics.median(f["calls"]),
            "p50_ms": percentile(latency, 0.5) * 1000,
            "p99_ms": percentile(latency, 0.99) * 1000,
        }

    ws, wss = summary("ws"), summary("wss")
    print(f"\n{args.charge_points} charge points x {args.calls} calls x {args.rounds} rounds")
    for name, s in (("ws", ws), ("wss", wss)):
        print(
            f"  {name:<3} all open {s['open_ms']:7.1f} ms, set-up p50 {s['setup_p50_ms']:6.1f} ms,"
            f" {s['calls_s']:6.0f} calls/s, p50 {s['p50_ms']:5.1f} ms, p99 {s['p99_ms']:6.1f} ms"
        )
    print("ratios wss/ws:")
    for key, label in (
        ("open_ms", "all connections open"),
        ("setup_p50_ms", "set-up per connection (p50)"),
        ("calls_s", "ingest calls/s"),
        ("p50_ms", "call latency p50"),
        ("p99_ms", "call latency p99"),
    ):
        print(f"  {label:<28} {wss[key] / ws[key]:5.2f}x")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--charge-points", type=int, default=10)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    return run_benchmark("tls-ingest-", None, lambda var_dir, url: run(args, var_dir, url))


if __name__ == "__main__":
    sys.exit(main())
