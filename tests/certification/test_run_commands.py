"""Commands belong to a run (issue 12, item 3): refused with 409 and the reason when the run is
closed or does not hold the charge point, "not connected" is not a success, and a command's
frames are evidence of its run's running step only; one sent from the charge point page
while a run holds the charger is that run's evidence, its origin shown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from certification import services
from certification.models import StepResult, TestRun
from chargers import services as charger_services
from chargers.models import ChargePoint, Command, Frame, User
from tests.chargers.ocpp_helpers import adb, communicator

PING = {"action": "DataTransfer", "payload": {"vendorId": "Cert", "messageId": "Ping"}}


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def second_run(run: TestRun, engineer: User) -> TestRun:
    """Another draft run on the same charge point (run 7 of the issue's example)."""
    return services.create_run(
        charge_point=run.charge_point,
        plan=run.plan,
        tester=engineer,
        firmware_version=run.firmware_version,
    )


def send_by_console(client: Client, run: TestRun) -> Any:
    return client.post(f"/runs/{run.pk}/commands/", PING, content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["in_review", "published", "archived"])
def test_a_closed_run_refuses_commands_with_409_and_the_reason(
    run: TestRun, engineer: User, engineer_client: Client, status: str
) -> None:
    TestRun.objects.filter(pk=run.pk).update(status=status)
    answer = api(engineer).post(f"/api/runs/{run.pk}/commands/", PING, format="json")
    assert answer.status_code == 409
    assert "it is closed" in answer.json()["detail"]
    console = send_by_console(engineer_client, run)
    assert console.status_code == 409 and "it is closed" in console.json()["error"]
    assert not Command.objects.exists()  # nothing was sent in the closed run's name


@pytest.mark.django_db
def test_a_run_that_does_not_hold_the_charge_point_refuses_commands(
    run: TestRun, engineer: User, engineer_client: Client
) -> None:
    services.start_step(
        run, run.plan.steps.get(number=3), engineer, anyway="no charger in this test"
    )
    other = second_run(run, engineer)
    answer = api(engineer).post(f"/api/runs/{other.pk}/commands/", PING, format="json")
    assert answer.status_code == 409
    assert answer.json()["detail"].startswith(f"CP1 is under test in run {run.pk}")
    assert send_by_console(engineer_client, other).status_code == 409
    assert not Command.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_not_connected_is_not_a_success(
    run: TestRun, engineer: User, engineer_client: Client
) -> None:
    answer = api(engineer).post(f"/api/runs/{run.pk}/commands/", PING, format="json")
    assert answer.status_code == 409
    body = answer.json()
    assert body["status"] == "not_connected" and "not connected" in body["detail"]
    console = send_by_console(engineer_client, run)
    assert console.status_code == 409 and "not connected" in console.json()["error"]
    # Still recorded: an engineer sees what was tried.
    assert Command.objects.filter(run=run, status=Command.Status.NOT_CONNECTED).count() == 2


async def answer_one_call(ws: Any) -> list[Any]:
    frame = json.loads(await ws.receive_from(timeout=10))
    await ws.send_to(text_data=json.dumps([3, frame[1], {"status": "Accepted"}]))
    return frame


def in_a_request_thread(send: Callable[[], Any]) -> Callable[[], Any]:
    """A view's call as Daphne makes it: in a thread of its own (not the one thread that
    the consumer's and the evidence writer's database calls share)."""

    def call() -> Any:
        try:
            return send()
        finally:
            connection.close()

    return call


async def send_while_answering(send: Callable[[], Any], ws: Any) -> tuple[Any, list[Any]]:
    sending = asyncio.ensure_future(
        sync_to_async(in_a_request_thread(send), thread_sensitive=False)()
    )
    frame = await answer_one_call(ws)
    return await asyncio.wait_for(sending, 10), frame


def frames_of(unique_id: str) -> list[tuple[int | None, int | None]]:
    return list(
        Frame.objects.filter(unique_id=unique_id)
        .order_by("seq")
        .values_list("run_id", "step_result_id")
    )


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_command_is_evidence_of_its_runs_running_step_only(
    run: TestRun, engineer: User, run_charge_point: ChargePoint
) -> None:
    ws = communicator("CP1", "run-key-0123456789")
    await ws.connect()
    step_3 = await adb(run.plan.steps.get)(number=3)
    result = await adb(services.start_step)(run, step_3, engineer)
    other = await adb(second_run)(run, engineer)

    # The issue's example: a DataTransfer through run 7 while run 6's step 3 runs on the
    # same charger. It is refused, and nothing lands in run 6's step 3.
    with pytest.raises(services.CommandRefused, match=f"under test in run {run.pk}"):
        await adb(services.send_run_command)(
            other, "DataTransfer", PING["payload"], user=engineer, origin=Command.Origin.API
        )
    assert await ws.receive_nothing(timeout=0.3)

    # Through run 6 itself: evidence of its step 3.
    command, frame = await send_while_answering(
        lambda: services.send_run_command(
            run, "DataTransfer", PING["payload"], user=engineer, origin=Command.Origin.API
        ),
        ws,
    )
    assert command.status == Command.Status.ANSWERED
    assert (command.run_id, command.step_result_id) == (run.pk, result.pk)
    assert await adb(frames_of)(frame[1]) == [(run.pk, result.pk)] * 2

    # From the charge point page while run 6 holds the charger: run 6's evidence too, with
    # its origin recorded.

    page, frame = await send_while_answering(
        lambda: charger_services.send_command(
            run_charge_point,
            "ClearCache",
            {},
            requested_by_id=engineer.pk,
            origin=Command.Origin.CHARGE_POINT_PAGE,
        ),
        ws,
    )
    assert (page.run_id, page.step_result_id, page.origin) == (
        run.pk,
        result.pk,
        "charge_point_page",
    )
    assert await adb(frames_of)(frame[1]) == [(run.pk, result.pk)] * 2
    await adb(services.finish_step)(result)
    await ws.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_draft_runs_command_is_its_evidence_not_the_connections_context(
    run: TestRun, engineer: User, run_charge_point: ChargePoint
) -> None:
    """No run holds the charger: the connection's frames belong to no run, but a command
    sent through a draft run is that run's evidence (no step runs: of no step)."""
    ws = communicator("CP1", "run-key-0123456789")
    await ws.connect()
    command, frame = await send_while_answering(
        lambda: services.send_run_command(
            run, "ClearCache", {}, user=engineer, origin=Command.Origin.CONSOLE
        ),
        ws,
    )
    assert command.run_id == run.pk and command.step_result_id is None
    assert await adb(frames_of)(frame[1]) == [(run.pk, None)] * 2
    await ws.disconnect()


@pytest.mark.django_db
def test_the_console_shows_where_a_command_of_the_step_came_from(
    run: TestRun, engineer: User, engineer_client: Client, run_charge_point: ChargePoint
) -> None:
    result = services.start_step(
        run, run.plan.steps.get(number=3), engineer, anyway="the charger connects after"
    )
    assert result.started_at is not None
    connection = charger_services.open_connection(
        run_charge_point, remote_address="127.0.0.1:1", subprotocol="ocpp1.6", worker="test"
    )
    command = Command.objects.create(
        charge_point=run_charge_point,
        action="ClearCache",
        payload={},
        requested_at=result.started_at,
        requested_by=engineer,
        origin=Command.Origin.CHARGE_POINT_PAGE,
        run=run,
        step_result=result,
        unique_id="from-the-page",
        status=Command.Status.ANSWERED,
    )
    Frame.objects.create(
        charge_point=run_charge_point,
        connection=connection,
        seq=1,
        captured_at=result.started_at,
        direction="out",
        message_type=2,
        unique_id=command.unique_id,
        action="ClearCache",
        raw='[2,"from-the-page","ClearCache",{}]',
        payload={},
        run=run,
        step_result=result,
    )
    page = engineer_client.get(f"/runs/{run.pk}/?step=3").content.decode()
    assert "from the charge point page</span>" in page
    assert "<td>ClearCache</td><td>charge point page</td><td>Wei</td>" in page
    assert StepResult.objects.get(pk=result.pk).is_running()
