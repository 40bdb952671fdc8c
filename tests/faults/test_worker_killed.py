"""A Daphne worker killed with SIGKILL in the middle of a charging session: the charger
reconnects to a new worker on the same database, the session goes on, and nothing the
portal answered before the kill is missing from the evidence."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
import websockets

from certification.models import StepResult, TestRun
from certification.services import start_step
from chargers.models import ChargePoint, Connection, Frame, IdTag, Transaction, User
from tests.conftest import RUN_KEY
from tests.faults.charger import Charger, connect, meter_values, ocpp_now
from tests.faults.evidence import NO_FTP, missing_evidence
from tests.live import LiveServer, daphne_server, eventually

pytestmark = pytest.mark.django_db(transaction=True)

CONNECTION_LOSS_STEP = 7  # "Charging Session - Local - Identification first - Connection Loss"
BOOT = {"chargePointVendor": "Xcharge", "chargePointModel": "C8EU"}
IN_FLIGHT = 4  # MeterValues sent back to back just before the kill


async def session_until_killed(
    server: LiveServer, start: dict[str, object]
) -> tuple[Charger, int, int]:
    """Boot, start a transaction, send MeterValues; SIGKILL the worker while some are in
    flight. Returns the charger (what it got answered), the transactionId and how many
    in-flight MeterValues were answered before the connection died."""
    async with connect(server.ws_url, "CP1", RUN_KEY, prefix="a") as charger:
        assert (await charger.call("BootNotification", BOOT))[2]["status"] == "Accepted"
        await charger.call(
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"},
        )
        answer = await charger.call("StartTransaction", start)
        assert answer[2]["idTagInfo"]["status"] == "Accepted"
        transaction_id = answer[2]["transactionId"]
        for wh in (1100, 1200, 1300):
            await charger.call("MeterValues", meter_values(transaction_id, wh))
        for n in range(IN_FLIGHT):
            await charger.send("MeterValues", meter_values(transaction_id, 1400 + n))
        os.kill(server.process.pid, signal.SIGKILL)
        answered_in_flight = 0
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(charger.receive(), 10)
                answered_in_flight += 1
    return charger, transaction_id, answered_in_flight


async def session_after_reconnect(
    server: LiveServer, start: dict[str, object], transaction_id: int
) -> Charger:
    """What a charger does after a connection loss mid-session: boot notification is not
    repeated, the StartTransaction whose answer it is unsure of is resent, metering goes on,
    the transaction is stopped."""
    async with connect(server.ws_url, "CP1", RUN_KEY, prefix="b") as charger:
        answer = await charger.call("StartTransaction", start)
        assert answer[2]["transactionId"] == transaction_id, answer
        await charger.call("MeterValues", meter_values(transaction_id, 1500))
        stop = await charger.call(
            "StopTransaction",
            {
                "transactionId": transaction_id,
                "idTag": "TAG-1",
                "meterStop": 1600,
                "timestamp": ocpp_now(),
                "reason": "Local",
            },
        )
        assert stop[2]["idTagInfo"]["status"] == "Accepted", stop
        await charger.call(
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
        )
    return charger


def test_a_killed_worker_loses_no_answered_frame_and_the_session_goes_on(
    tmp_path: Path, run: TestRun, run_charge_point: ChargePoint, engineer: User
) -> None:
    IdTag.objects.create(charge_point=run_charge_point, id_tag="TAG-1")
    attempt = start_step(
        run,
        run.plan.steps.get(number=CONNECTION_LOSS_STEP),
        engineer,
        anyway="the charger connects after the step starts",
    )
    start = {"connectorId": 1, "idTag": "TAG-1", "meterStart": 1000, "timestamp": ocpp_now()}

    with daphne_server(tmp_path, extra_env=NO_FTP) as first:
        before, transaction_id, answered_in_flight = asyncio.run(session_until_killed(first, start))
        assert first.process.wait(10) == -signal.SIGKILL
    # Boot, status, start, 3 metered values, and whichever in-flight ones got an answer.
    assert len(before.answered) == 6 + answered_in_flight
    assert missing_evidence(run_charge_point, before.answered) == []
    [killed] = Connection.objects.filter(charge_point=run_charge_point)
    assert killed.closed_at is None  # nobody was left to record the close

    with daphne_server(tmp_path, extra_env=NO_FTP) as second:
        # The new worker closes what the dead one left open before it takes connections.
        killed.refresh_from_db()
        assert killed.closed_at is not None
        assert killed.events.get(kind="closed").detail.endswith(
            f":{first.process.pid} that held it stopped"
        )
        after = asyncio.run(session_after_reconnect(second, start, transaction_id))
        assert eventually(
            lambda: (
                Connection.objects.filter(
                    charge_point=run_charge_point, closed_at__isnull=True
                ).count()
                == 0
            )
        ), second.log()

    assert missing_evidence(run_charge_point, after.answered) == []
    session = Transaction.objects.get(charge_point=run_charge_point)
    assert session.pk == transaction_id
    assert (session.meter_start, session.meter_stop, session.stop_reason) == (1000, 1600, "Local")
    assert session.stop_repeats == 0

    # Both connections' frames belong to the step attempt that was running throughout.
    frames = Frame.objects.filter(charge_point=run_charge_point)
    assert frames.values("connection").distinct().count() == 2
    assert set(frames.values_list("run_id", "step_result_id")) == {(run.pk, attempt.pk)}
    # Within each connection the sequence has no gap (a frame that arrived but was never
    # answered may or may not have been written before the kill; nothing after it was).
    for connection in Connection.objects.filter(charge_point=run_charge_point):
        seqs = list(connection.frames.order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert StepResult.objects.get(pk=attempt.pk).finished_at is None
