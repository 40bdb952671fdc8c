"""The deployment mode of docs/deploy.md: two Daphne workers on one database and one Redis.
The charger holds its websocket to worker A while the engineer's script talks to worker B;
the command, the evidence and the judge's proposal must not care which worker is which."""

from __future__ import annotations

import datetime
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.utils.dateparse import parse_datetime

from certification.models import TestPlan
from chargers.api_tokens import create_api_token
from chargers.models import ChargePoint, Connection, FirmwareVersion, Frame, User
from chargers.simulator import ChargerConfig
from tests.conftest import RUN_KEY
from tests.e2e.harness import Api, ChargerThread
from tests.live import TEST_REDIS_URL, daphne_server, eventually, redis_available

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not redis_available(),
        reason=f"two Daphne workers share commands over Redis: none answers at {TEST_REDIS_URL}",
    ),
]

CHANGE_AVAILABILITY = 2  # the default plan's step with commands and a judge rule


def frames_of(charge_point: ChargePoint, **lookup: Any) -> int:
    return Frame.objects.filter(charge_point=charge_point, **lookup).count()


def reported(charge_point: ChargePoint, since: datetime.datetime, status: str) -> bool:
    """The charger's StatusNotification ``status`` sent ``since`` is recorded (finishing the
    step attaches it even if worker A had not yet heard that the step started)."""
    return (
        frames_of(
            charge_point,
            direction="in",
            action="StatusNotification",
            payload__status=status,
            captured_at__gte=since,
        )
        > 0
    )


def test_a_charger_on_one_worker_is_certified_through_the_api_of_another(
    tmp_path: Path,
    default_plan: TestPlan,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    engineer: User,
) -> None:
    _, token = create_api_token(engineer)
    # Both workers, and only they, share this prefix: another test session on the same
    # Redis cannot take their messages.
    layer = {"CHANNEL_LAYER_PREFIX": f"deploy-{uuid.uuid4().hex[:12]}"}
    with (
        daphne_server(tmp_path, redis_url=TEST_REDIS_URL, extra_env=layer) as worker_a,
        daphne_server(tmp_path, redis_url=TEST_REDIS_URL, extra_env=layer) as worker_b,
    ):
        charger = ChargerThread(
            ChargerConfig(
                charge_point_id="CP1",
                url=f"{worker_a.ws_url}/ocpp/CP1",
                password=RUN_KEY,
                connectors=2,
                model="C8EU",
                firmware="V1.0.0_C8_Standard",
                fixed_cable=True,
                response_timeout=15,
            )
        )
        try:
            charger.do(charger.charger.connect())
            # Booted, and every connector (0, 1, 2) has reported before the step begins.
            assert eventually(
                lambda: (
                    frames_of(run_charge_point, direction="in", action="StatusNotification") >= 3
                ),
                timeout=20,
            ), worker_a.log()
            [connection] = Connection.objects.filter(
                charge_point=run_charge_point, closed_at__isnull=True
            )
            assert connection.worker.endswith(f":{worker_a.process.pid}")

            api = Api(worker_b.http_url, token)
            run = api.post(
                "/api/runs/",
                {
                    "charge_point": run_charge_point.pk,
                    "firmware_version": c8eu_firmware.pk,
                    "plan": default_plan.pk,
                },
            )
            steps = f"/api/runs/{run['id']}/steps/{CHANGE_AVAILABILITY}"
            started = api.post(f"{steps}/start/")
            assert started["attempt"] == 1 and started["finished_at"] is None
            since = parse_datetime(started["started_at"])
            assert since is not None

            answers = []
            for kind, status in [("Inoperative", "Unavailable"), ("Operative", "Available")]:
                answers.append(
                    api.post(
                        f"/api/runs/{run['id']}/commands/",
                        {
                            "action": "ChangeAvailability",
                            "payload": {"connectorId": 1, "type": kind},
                        },
                    )
                )
                # The charger follows with its status; it must be evidence before the finish.
                assert eventually(partial(reported, run_charge_point, since, status), timeout=20), (
                    worker_a.log()
                )
            finished = api.post(f"{steps}/finish/")
            evidence = api.get(
                f"/api/runs/{run['id']}/evidence/?step={CHANGE_AVAILABILITY}&limit=1000"
            )
        finally:
            charger.stop()

    assert [(a["status"], a["response"]) for a in answers] == [
        ("answered", {"status": "Accepted"}),
        ("answered", {"status": "Accepted"}),
    ], answers
    frames = [(f["direction"], f["message_type"], f["action"]) for f in evidence["results"]]
    assert frames.count(("out", 2, "ChangeAvailability")) == 2, frames
    assert frames.count(("in", 3, "ChangeAvailability")) == 2, frames
    assert ("in", 2, "StatusNotification") in frames, frames
    assert {f["step"] for f in evidence["results"]} == {CHANGE_AVAILABILITY}
    assert finished["finished_at"] is not None
    assert finished["proposed_verdict"] == "Y", finished["findings"]
