"""Faults from the console and the API: injected, listed, ended, and kept as evidence of the
step they ran in, which the judge sees."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from certification import services
from certification.models import TestRun
from chargers import services as charger_services
from chargers.models import InjectedFault, User
from tests.certification.test_api import api_client

pytestmark = pytest.mark.django_db


def test_an_engineer_injects_and_ends_a_fault_from_the_console(
    engineer_client: Client, run: TestRun
) -> None:
    services.start_step(run, run.plan.steps.get(number=6), anyway="no charger in this test")
    url = f"/runs/{run.pk}/faults/"
    response = engineer_client.post(
        url,
        {
            "kind": "call_error",
            "action": "StopTransaction",
            "error_code": "InternalError",
            "times": 2,
        },
    )
    assert response.status_code == 302
    fault = InjectedFault.objects.get()
    assert fault.describe() == "StopTransaction answered with CALLERROR InternalError 2 times"
    assert fault.run == run and fault.step_result is not None
    page = engineer_client.get(f"/runs/{run.pk}/?step=6").content.decode()
    assert "StopTransaction answered with CALLERROR InternalError 2 times" in page
    assert "active" in page
    engineer_client.post(url, {"end": fault.pk})
    fault.refresh_from_db()
    assert fault.ended_at is not None and fault.end_reason == "ended by an engineer"
    # A fault the form cannot describe is refused with the reason, nothing stored.
    refused = engineer_client.post(url, {"kind": "delay", "action": "Heartbeat"}, follow=True)
    assert "Say for how many seconds" in refused.content.decode()
    assert InjectedFault.objects.count() == 1


def test_a_manufacturer_user_cannot_inject_faults(
    manufacturer_client: Client, run: TestRun
) -> None:
    response = manufacturer_client.post(
        f"/runs/{run.pk}/faults/", {"kind": "disconnect", "seconds": 5}
    )
    assert response.status_code in {403, 404}
    assert not InjectedFault.objects.exists()


def test_console_faults_accept_only_post(engineer_client: Client, run: TestRun) -> None:
    assert engineer_client.get(f"/runs/{run.pk}/faults/").status_code == 405


def test_faults_through_the_api_belong_to_their_step_and_the_judge_sees_them(
    engineer: User, run: TestRun
) -> None:
    client = api_client(engineer)
    assert (
        client.post(
            f"/api/runs/{run.pk}/steps/7/start/", {"reason": "no charger in this test"}
        ).status_code
        == 201
    )
    created = client.post(
        f"/api/runs/{run.pk}/faults/", {"kind": "disconnect", "seconds": 30}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["description"] == "connection closed, reconnects refused for 30 s"
    bad = client.post(
        f"/api/runs/{run.pk}/faults/",
        {"kind": "boot_status", "boot_status": "Pending"},
        format="json",
    )
    assert bad.status_code == 400 and "interval" in bad.json()["detail"]
    delay = client.post(
        f"/api/runs/{run.pk}/faults/",
        {"kind": "delay", "action": "MeterValues", "seconds": 2},
        format="json",
    ).json()
    result = services.running_result(run)
    assert result is not None
    services.finish_step(result)
    context = services.judge_context(result)
    assert [(f.kind, f.seconds) for f in context.faults] == [("disconnect", 30.0), ("delay", 2.0)]
    # The step's end ends what it started, a refusal window still open included.
    listed = {f["id"]: f for f in client.get(f"/api/runs/{run.pk}/faults/").json()}
    assert listed[delay["id"]]["end_reason"] == "the step finished"
    assert listed[delay["id"]]["step"] == 7
    disconnect = listed[created.json()["id"]]
    assert disconnect["ended_at"] is not None and disconnect["end_reason"] == "the step finished"
    ended = client.post(f"/api/runs/{run.pk}/faults/{disconnect['id']}/end/").json()
    assert ended["ended_at"] == disconnect["ended_at"]  # an ended fault stays as it was


def test_a_manufacturer_user_cannot_inject_faults_through_the_api(
    manufacturer_user: User, run: TestRun
) -> None:
    response = api_client(manufacturer_user).post(
        f"/api/runs/{run.pk}/faults/", {"kind": "disconnect", "seconds": 5}, format="json"
    )
    assert response.status_code in {403, 404}


@override_settings(OCPP_FAULT_ACK_TIMEOUT=0.2)
def test_the_api_answers_503_when_no_worker_confirms_the_fault(
    engineer: User, run: TestRun
) -> None:
    # Recorded as connected, but no consumer holds the socket to confirm the fault.
    charger_services.open_connection(
        run.charge_point, remote_address="10.0.0.9:4000", subprotocol="ocpp1.6", worker="gone:1"
    )
    answer = api_client(engineer).post(
        f"/api/runs/{run.pk}/faults/",
        {"kind": "call_error", "action": "StopTransaction", "error_code": "InternalError"},
        format="json",
    )

    assert answer.status_code == 503
    assert "was not applied" in answer.json()["detail"]
    fault = InjectedFault.objects.get()
    assert fault.ended_at is not None and fault.end_reason == charger_services.NOT_ACKNOWLEDGED
