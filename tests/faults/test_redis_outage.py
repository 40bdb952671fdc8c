"""Redis down: every command still reaches a final state with its reason; the API answers
JSON 503 and a page says what is wrong, instead of an HTML 500."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from certification.models import TestRun
from chargers import services
from chargers.models import ChargePoint, Command, Connection, User
from tests.live import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_down(settings: Any) -> None:
    """The portal's channel layer pointed at a port where nothing listens."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chargers.channel_layer.PortalChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"], "prefix": "outage"},
        }
    }


@pytest.fixture
def connected(run_charge_point: ChargePoint) -> ChargePoint:
    Connection.objects.create(
        charge_point=run_charge_point, opened_at=timezone.now(), worker="elsewhere:1"
    )
    return run_charge_point


def test_a_command_fails_with_the_reason_when_the_channel_layer_is_unreachable(
    redis_down: None, connected: ChargePoint
) -> None:
    command = services.send_command(connected, "Reset", {"type": "Soft"})
    assert command.status == Command.Status.FAILED
    assert command.error.startswith("the channel layer is unreachable")


def test_the_api_answers_json_503_and_the_page_says_what_is_wrong(
    redis_down: None, connected: ChargePoint, run: TestRun, engineer: User
) -> None:
    api = APIClient()
    api.force_authenticate(engineer)
    # Starting a step tells the charger's consumer through the channel layer.
    response = api.post(f"/api/runs/{run.pk}/steps/2/start/")
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert "cannot reach its channel layer" in response.json()["detail"]
    page = Client(raise_request_exception=False)
    page.force_login(engineer)
    # Disabling an identity closes its connection through the channel layer.
    response = page.post(f"/charge-points/{connected.pk}/toggle/")
    assert response.status_code == 503
    assert b"cannot reach its channel layer (Redis at REDIS_URL)" in response.content


def test_a_command_left_pending_by_a_stopped_worker_is_failed(connected: ChargePoint) -> None:
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    stale = Command.objects.create(
        charge_point=connected, action="Reset", payload={"type": "Soft"}, requested_at=long_ago
    )
    assert services.fail_stale_commands() == 1
    stale.refresh_from_db()
    assert stale.status == Command.Status.FAILED and "stopped while waiting" in stale.error
