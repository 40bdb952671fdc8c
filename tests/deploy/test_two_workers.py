"""The deployment mode of docs/deploy.md: two Daphne workers on one database and one Redis.
The charger holds its websocket to worker A while the engineer's script talks to worker B;
the command, the evidence and the judge's proposal must not care which worker is which.
Throttles count across the workers: failed logins and refused charger handshakes split
between A and B are refused after the configured limit in total, not per worker."""

from __future__ import annotations

import asyncio
import base64
import datetime
import http.client
import json
import re
import urllib.parse
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import websockets
from axes.models import AccessAttempt
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils.dateparse import parse_datetime
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from certification.models import TestPlan
from chargers import services
from chargers.api_tokens import create_api_token
from chargers.models import (
    ChargePoint,
    Connection,
    ConnectionEvent,
    FirmwareVersion,
    Frame,
    InjectedFault,
    User,
)
from chargers.simulator import ChargerConfig
from tests.chargers.ocpp_helpers import BOOT
from tests.chargers.test_ocpp_live import auth_header
from tests.conftest import RUN_KEY
from tests.e2e.harness import Api, ChargerThread
from tests.live import TEST_REDIS_URL, LiveServer, daphne_server, eventually, redis_available

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


# --- Throttles shared by the workers ---------------------------------------------------

LIMIT = 4  # LOGIN_THROTTLE_FAILURES and OCPP_THROTTLE_FAILURES of both workers
THROTTLE_KEY = "throttle-key-0123456789"


def log_in(worker: LiveServer, username: str, password: str) -> int:
    """The portal's login form on one worker, as a browser fills it in: the status of the
    POST (302 logged in, 200 the form again with an error, 429 locked out)."""

    def request(method: str, body: str = "", cookies: str = "") -> tuple[int, str, list[str]]:
        connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=30)
        headers = {"Cookie": cookies} if cookies else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, "/accounts/login/", body=body or None, headers=headers)
            response = connection.getresponse()
            page = response.read().decode(errors="replace")
            return response.status, page, response.headers.get_all("Set-Cookie") or []
        finally:
            connection.close()

    status, page, set_cookies = request("GET")
    assert status == 200, page[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None, page[:500]
    cookies = "; ".join(cookie.split(";", 1)[0] for cookie in set_cookies)
    form = {"username": username, "password": password, "csrfmiddlewaretoken": token[1]}
    status, page, _ = request("POST", urllib.parse.urlencode(form), cookies)
    return status


def handshake(worker: LiveServer, identity: str, key: str) -> int:
    """A charger's websocket handshake with HTTP Basic ``key``: 101 when accepted, the
    refusal's HTTP status otherwise."""

    async def attempt() -> int:
        try:
            async with websockets.connect(
                f"{worker.ws_url}/ocpp/{identity}",
                subprotocols=[Subprotocol("ocpp1.6")],
                additional_headers=auth_header(identity, key),
                open_timeout=15,
            ):
                return 101
        except websockets.InvalidStatus as refused:
            return refused.response.status_code

    return asyncio.run(attempt())


def test_throttles_count_the_failures_of_both_workers_together(
    tmp_path: Path, engineer: User
) -> None:
    # The workers know production's hashers only, not the tests' fast one.
    pbkdf2 = PBKDF2PasswordHasher()
    engineer.password = pbkdf2.encode("pw-engineer-1", pbkdf2.salt(), iterations=1000)
    engineer.save(update_fields=["password"])
    services.create_charge_point("THROTTLE-1", authorization_key=THROTTLE_KEY)
    env = {
        "CHANNEL_LAYER_PREFIX": f"deploy-{uuid.uuid4().hex[:12]}",
        "LOGIN_THROTTLE_FAILURES": str(LIMIT),
        "LOGIN_THROTTLE_ADDRESS_FAILURES": "50",
        "OCPP_THROTTLE_FAILURES": str(LIMIT),
        "OCPP_THROTTLE_ADDRESS_FAILURES": "50",
    }
    with (
        daphne_server(tmp_path, redis_url=TEST_REDIS_URL, extra_env=env) as worker_a,
        daphne_server(tmp_path, redis_url=TEST_REDIS_URL, extra_env=env) as worker_b,
    ):
        alternate = [worker_a, worker_b] * LIMIT
        # Logins: LIMIT - 1 wrong passwords split between the workers leave the right one
        # working; the LIMIT-th, on either, is answered with the lock (axes counts it and
        # locks at once), and then both workers refuse, the right password included.
        guesses = [log_in(w, "wei", "wrong-password") for w in alternate[: LIMIT - 1]]
        assert guesses == [200] * (LIMIT - 1), (guesses, worker_a.log()[-2000:])
        assert log_in(worker_b, "wei", "pw-engineer-1") == 302
        assert log_in(worker_b, "wei", "wrong-password") == 429
        assert [log_in(w, "wei", "pw-engineer-1") for w in (worker_a, worker_b)] == [429, 429]

        # Charger handshakes, the same with a wrong AuthorizationKey (Daphne refuses every
        # handshake with 403; the refusal rows below say which was which).
        wrong = [handshake(w, "THROTTLE-1", "wrong-key-0123456789") for w in alternate[: LIMIT - 1]]
        assert wrong == [403] * (LIMIT - 1), (wrong, worker_b.log()[-2000:])
        assert handshake(worker_b, "THROTTLE-1", THROTTLE_KEY) == 101
        assert handshake(worker_b, "THROTTLE-1", "wrong-key-0123456789") == 403
        right = [handshake(w, "THROTTLE-1", THROTTLE_KEY) for w in (worker_a, worker_b)]
        assert right == [403, 403]

    # One count each, in the shared database: axes' AccessAttempt table, and the
    # aggregated refusal rows of the connection events.
    [attempt] = AccessAttempt.objects.filter(username="wei")
    assert attempt.failures_since_start == LIMIT
    refused = ConnectionEvent.objects.filter(charge_point_identity="THROTTLE-1", kind="refused")
    assert sorted(refused.values_list("detail", "count")) == [
        (services.THROTTLED, 2),
        ("wrong AuthorizationKey", LIMIT),
    ], list(refused.values_list("detail", "count"))


def test_a_fault_injected_through_one_worker_is_in_force_on_the_other_when_the_api_answers(
    tmp_path: Path,
    default_plan: TestPlan,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    engineer: User,
) -> None:
    """The charger's socket is on worker A, the engineer's API call on worker B: the call
    returns once A applied the fault, so the charger's very next frame meets it."""
    _, token = create_api_token(engineer)
    layer = {"CHANNEL_LAYER_PREFIX": f"deploy-{uuid.uuid4().hex[:12]}"}
    secret = base64.b64encode(f"CP1:{RUN_KEY}".encode()).decode()
    stop = {"transactionId": 7, "meterStop": 1200, "timestamp": "2026-01-01T10:00:00Z"}
    with (
        daphne_server(tmp_path, redis_url=TEST_REDIS_URL, extra_env=layer) as worker_a,
        daphne_server(tmp_path, redis_url=TEST_REDIS_URL, extra_env=layer) as worker_b,
        connect(
            f"{worker_a.ws_url}/ocpp/CP1",
            subprotocols=[Subprotocol("ocpp1.6")],
            additional_headers={"Authorization": f"Basic {secret}"},
            proxy=None,
        ) as charger,
    ):

        def call(unique_id: str, action: str, payload: dict[str, Any]) -> list[Any]:
            charger.send(json.dumps([2, unique_id, action, payload]))
            return list(json.loads(charger.recv(timeout=10)))

        assert call("b", "BootNotification", BOOT)[0] == 3
        api = Api(worker_b.http_url, token)
        run = api.post(
            "/api/runs/",
            {
                "charge_point": run_charge_point.pk,
                "firmware_version": c8eu_firmware.pk,
                "plan": default_plan.pk,
            },
        )
        answers = []
        for n in range(5):
            api.post(
                f"/api/runs/{run['id']}/faults/",
                {
                    "kind": "call_error",
                    "action": "StopTransaction",
                    "error_code": "InternalError",
                    "times": 1,
                },
            )
            refused = call(f"s{n}", "StopTransaction", stop)
            accepted = call(f"t{n}", "StopTransaction", stop)
            answers.append((refused[0], accepted[0]))

    assert answers == [(4, 3)] * 5, worker_a.log()
    faults = InjectedFault.objects.filter(charge_point=run_charge_point)
    assert [f.end_reason for f in faults.order_by("pk")] == ["applied 1 times"] * 5
