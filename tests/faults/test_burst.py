"""A charger that sends 1,000 CALLs back to back without waiting for answers: every one is
answered and stored in order, the connection holds, and a second charger connected at the
same time is still answered promptly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chargers import services
from chargers.models import ChargePoint, Connection, Frame
from tests.faults.charger import Charger, connect, ocpp_now
from tests.faults.evidence import NO_FTP, missing_evidence
from tests.live import LiveServer, daphne_server

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "burst-key-0123456789"
BURST = 1000
# The quiet charger's worst round trip while the burst is written. It shares the one
# evidence writer with the burst; a queue of a thousand frames in front of it would show
# as seconds.
PROMPT = 1.0


@pytest.fixture
def charge_points(db: None) -> tuple[ChargePoint, ChargePoint]:
    burst, _ = services.create_charge_point("BURST", authorization_key=KEY)
    quiet, _ = services.create_charge_point("QUIET", authorization_key=KEY)
    return burst, quiet


@pytest.fixture
def server(tmp_path: Path, db: None) -> Iterator[LiveServer]:
    with daphne_server(tmp_path, extra_env=NO_FTP) as live:
        yield live


def burst_call(n: int) -> tuple[str, dict[str, Any]]:
    if n % 2:
        return "Heartbeat", {}
    return "MeterValues", {
        "connectorId": 1,
        "meterValue": [{"timestamp": ocpp_now(), "sampledValue": [{"value": str(n)}]}],
    }


async def burst_beside_a_quiet_charger(server: LiveServer) -> tuple[Charger, Charger, list[float]]:
    async with (
        connect(server.ws_url, "BURST", KEY) as loud,
        connect(server.ws_url, "QUIET", KEY, prefix="q") as quiet,
    ):
        await quiet.call("Heartbeat", {})  # both connections are open and answered

        async def answers() -> None:
            for _ in range(BURST):
                await asyncio.wait_for(loud.receive(), 30)

        receiving = asyncio.create_task(answers())
        for n in range(BURST):
            await loud.send(*burst_call(n))
        round_trips = []
        while not receiving.done():
            started = time.monotonic()
            await asyncio.wait_for(quiet.call("Heartbeat", {}), 10)
            round_trips.append(time.monotonic() - started)
        await receiving
        # The connection survived the burst: it is still answered.
        await loud.call("Heartbeat", {})
    return loud, quiet, round_trips


def test_a_burst_of_a_thousand_calls_is_answered_and_stored_in_order(
    charge_points: tuple[ChargePoint, ChargePoint], server: LiveServer
) -> None:
    burst, quiet = charge_points
    loud_charger, quiet_charger, round_trips = asyncio.run(burst_beside_a_quiet_charger(server))

    assert len(loud_charger.answered) == BURST + 1
    assert all(answer.startswith("[3,") for _, answer in loud_charger.answered)
    assert missing_evidence(burst, loud_charger.answered) == []
    [connection] = Connection.objects.filter(charge_point=burst)
    seqs = list(connection.frames.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 2 * (BURST + 1) + 1))
    # Each answer directly follows its CALL: the frames are stored in wire order.
    frames = list(connection.frames.order_by("seq").values_list("direction", "unique_id"))
    assert frames[:4] == [("in", "1"), ("out", "1"), ("in", "2"), ("out", "2")]
    assert not Frame.objects.filter(charge_point=burst).exclude(validation_error="").exists()

    assert missing_evidence(quiet, quiet_charger.answered) == []
    assert len(round_trips) >= 3, "the quiet charger was not heard during the burst"
    assert max(round_trips) < PROMPT, sorted(round_trips)[-5:]
