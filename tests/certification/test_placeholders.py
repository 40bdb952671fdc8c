"""Pre-filled payloads take their values from the run when the command is sent: the
firmware and diagnostics locations, and `{transaction:ongoing}` (issue 15, item 12)."""

from __future__ import annotations

import datetime

import pytest
from rest_framework.test import APIClient

from certification.forms import StepForm
from certification.models import TestRun
from certification.services import send_run_command
from chargers import services as charger_services
from chargers.models import ChargePoint, Command, IdTag, User
from chargers.ocpp.validation import parse_ocpp_time
from chargers.transfers import PlaceholderError

pytestmark = pytest.mark.django_db(transaction=True)


def parse(at: str) -> datetime.datetime:
    """The timestamp as the validation layer hands it to the services."""
    return parse_ocpp_time(at).value


def start(charge_point: ChargePoint, connector: int, at: str) -> int:
    # An accepted card: a session started with an unknown one is not running (issue 13).
    IdTag.objects.get_or_create(charge_point=charge_point, id_tag="CARD-1")
    started = charger_services.start_transaction(
        charge_point.pk,
        {"connectorId": connector, "idTag": "CARD-1", "meterStart": 0, "timestamp": parse(at)},
    )
    return started.transaction_id


def test_remote_stop_is_sent_for_the_transaction_running_now(
    run: TestRun, run_charge_point: ChargePoint, engineer: User
) -> None:
    for number in range(1, 6):  # earlier sessions, all stopped
        stopped = start(run_charge_point, 1, f"2023-09-22T09:0{number}:00Z")
        charger_services.stop_transaction(
            run_charge_point.pk,
            {"transactionId": stopped, "meterStop": 10, "timestamp": "2023-09-22T09:30:00Z"},
        )
    ongoing = start(run_charge_point, 1, "2023-09-22T10:00:00Z")
    step_14 = run.plan.steps.get(number=14)
    remote_stop = next(c for c in step_14.commands if c["action"] == "RemoteStopTransaction")
    assert remote_stop["payload"] == {"transactionId": "{transaction:ongoing}"}

    command = send_run_command(run, "RemoteStopTransaction", remote_stop["payload"], user=engineer)

    assert command.payload == {"transactionId": ongoing}


def test_a_connector_can_be_named_in_the_placeholder(
    run: TestRun, run_charge_point: ChargePoint, engineer: User
) -> None:
    on_one = start(run_charge_point, 1, "2023-09-22T10:00:00Z")
    on_two = start(run_charge_point, 2, "2023-09-22T10:01:00Z")

    first = send_run_command(
        run, "RemoteStopTransaction", {"transactionId": "{transaction:ongoing:1}"}, user=engineer
    )
    newest = send_run_command(
        run, "RemoteStopTransaction", {"transactionId": "{transaction:ongoing}"}, user=engineer
    )

    assert first.payload == {"transactionId": on_one}
    assert newest.payload == {"transactionId": on_two}


def test_without_a_running_session_the_command_is_refused_with_what_to_do(
    run: TestRun, engineer: User
) -> None:
    with pytest.raises(PlaceholderError, match="no transaction is running on"):
        send_run_command(
            run, "RemoteStopTransaction", {"transactionId": "{transaction:ongoing}"}, user=engineer
        )
    assert not Command.objects.exists()

    client = APIClient()
    client.force_authenticate(engineer)
    answer = client.post(
        f"/api/runs/{run.pk}/commands/",
        {"action": "RemoteStopTransaction", "payload": {"transactionId": "{transaction:ongoing}"}},
        format="json",
    )
    assert answer.status_code == 400
    assert "start the session first" in answer.json()["payload"][0]


def test_a_plan_step_may_hold_the_placeholder_where_the_schema_wants_an_integer(
    run: TestRun,
) -> None:
    step = run.plan.steps.get(number=14)
    data = {
        field: getattr(step, field)
        for field in StepForm.Meta.fields
        if field not in ("commands", "judge_params")
    }
    form = StepForm(
        data={
            **data,
            "commands": '[{"label": "stop", "action": "RemoteStopTransaction", '
            '"payload": {"transactionId": "{transaction:ongoing}"}}]',
            "judge_params": "{}",
        },
        instance=step,
    )

    assert form.is_valid(), form.errors
