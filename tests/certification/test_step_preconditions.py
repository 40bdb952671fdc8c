"""Starting a step checks the preconditions the portal can check: the charger connected, its
connectors idle, no transaction running, unless the step says otherwise (issue 15, item
13). What is not ready comes back as 409; a reason starts the step anyway and is recorded."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from certification import services
from certification.models import StepResult, TestRun
from certification.reports.pdf import render_pdf
from chargers import services as charger_services
from chargers.models import ChargePoint, IdTag, User
from chargers.ocpp.validation import parse_ocpp_time
from tests.reports.test_report_pdf import flat

pytestmark = pytest.mark.django_db(transaction=True)


def api(engineer: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(engineer)
    return client


def connect(charge_point: ChargePoint) -> None:
    charger_services.open_connection(
        charge_point, remote_address="127.0.0.1", subprotocol="ocpp1.6", worker="test"
    )


def busy(charge_point: ChargePoint) -> int:
    """Connector 1 Charging with transaction running on it; returns its transactionId."""
    charger_services.record_status(
        charge_point.pk,
        {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
    )
    IdTag.objects.get_or_create(charge_point=charge_point, id_tag="CARD-1")
    started = charger_services.start_transaction(
        charge_point.pk,
        {
            "connectorId": 1,
            "idTag": "CARD-1",
            "meterStart": 0,
            "timestamp": parse_ocpp_time("2023-09-22T10:00:00Z").value,
        },
    )
    return started.transaction_id


def test_a_disconnected_charger_gets_409_naming_what_is_not_ready(
    run: TestRun, engineer: User
) -> None:
    answer = api(engineer).post(f"/api/runs/{run.pk}/steps/2/start/")

    assert answer.status_code == 409
    body = answer.json()
    assert body["not_ready"] == ["CP1 is not connected"]
    assert body["detail"] == (
        "Step 2 is not ready to start: CP1 is not connected. Put it right, or start anyway "
        "with a reason (it is recorded with the attempt)."
    )
    assert "reason" in body["start_anyway"]
    assert not StepResult.objects.filter(step__number=2).exists()
    run.refresh_from_db()
    assert run.status == TestRun.Status.DRAFT


def test_busy_connectors_and_a_running_transaction_are_named(
    run: TestRun, run_charge_point: ChargePoint, engineer: User
) -> None:
    connect(run_charge_point)
    transaction_id = busy(run_charge_point)

    answer = api(engineer).post(f"/api/runs/{run.pk}/steps/6/start/")

    assert answer.status_code == 409
    assert answer.json()["not_ready"] == [
        "connector 1 is Charging",
        f"transaction {transaction_id} is running on connector 1 (idTag CARD-1, started "
        "2023-09-22 10:00:00)",
    ]


def test_a_reason_starts_the_step_anyway_and_is_recorded(run: TestRun, engineer: User) -> None:
    answer = api(engineer).post(
        f"/api/runs/{run.pk}/steps/2/start/", {"reason": "the lab's network is down"}
    )

    assert answer.status_code == 201
    assert answer.json()["started_anyway"] == (
        "Not ready: CP1 is not connected. Started anyway: the lab's network is down"
    )


def test_a_ready_step_starts_with_nothing_recorded(
    run: TestRun, run_charge_point: ChargePoint, engineer: User
) -> None:
    connect(run_charge_point)
    charger_services.record_status(
        run_charge_point.pk, {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    )
    charger_services.record_status(
        run_charge_point.pk, {"connectorId": 2, "errorCode": "NoError", "status": "Unavailable"}
    )

    result = services.start_step(run, run.plan.steps.get(number=2), engineer)

    assert result.started_anyway == ""


@pytest.mark.parametrize("number", [9, 11])
def test_a_reset_during_charging_may_start_with_the_session_running(
    number: int, run: TestRun, run_charge_point: ChargePoint, engineer: User
) -> None:
    connect(run_charge_point)
    busy(run_charge_point)

    result = services.start_step(run, run.plan.steps.get(number=number), engineer)

    assert result.started_anyway == ""


def test_the_boot_step_may_start_while_the_charger_is_off(run: TestRun, engineer: User) -> None:
    assert services.start_step(run, run.plan.steps.get(number=1), engineer).started_anyway == ""


def test_the_console_says_what_is_not_ready_and_starts_with_a_reason(
    engineer_client: Client, run: TestRun
) -> None:
    url = f"/runs/{run.pk}/steps/3/start/"

    refused = engineer_client.post(url, follow=True)
    started = engineer_client.post(url, {"reason": "charger on the bench, not wired"}, follow=True)

    assert "Step 3 is not ready to start: CP1 is not connected" in refused.content.decode()
    assert "Step 3 attempt 1 started" in started.content.decode()
    attempt = StepResult.objects.get(step__number=3)
    assert attempt.started_anyway.endswith("charger on the bench, not wired")


def test_a_step_started_anyway_says_so_in_the_console_and_the_report(
    engineer_client: Client, run: TestRun
) -> None:
    engineer_client.post(
        f"/runs/{run.pk}/steps/3/start/", {"reason": "charger on the bench, not wired"}
    )
    said = "Not ready: CP1 is not connected. Started anyway: charger on the bench, not wired"
    running = engineer_client.get(f"/runs/{run.pk}/?step=3").content.decode()
    engineer_client.post(f"/runs/{run.pk}/steps/3/finish/")
    finished = engineer_client.get(f"/runs/{run.pk}/?step=3").content.decode()
    report = engineer_client.get(f"/runs/{run.pk}/report/").content.decode()

    assert said in running and said in finished
    assert said in report and report.count("Started anyway") == 1
    pdf = flat(render_pdf(run, report_id="P-1", verification_url=None, generated_at=timezone.now()))
    assert said in pdf
