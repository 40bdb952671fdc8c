"""A judge rule that raises on a step's evidence never turns into a 500 or a step that cannot
be finished: the step gets no proposal, its schema violations, and a sentence that the
engineer decides (the traceback goes to the log)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from certification import judge, services
from certification.models import StepResult, TestRun
from chargers import services as charger_services
from chargers.models import Frame, User
from chargers.ocpp.frames import CENTRAL_SYSTEM_FAILURE

pytestmark = pytest.mark.django_db


def test_a_rule_that_raises_leaves_the_decision_to_the_engineer(
    run: TestRun, engineer: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    step = run.plan.steps.get(number=2)

    def unreadable(_context: object) -> judge.Judgement:
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setitem(judge.RULES, step.judge_rule, unreadable)
    api = APIClient()
    api.force_authenticate(engineer)
    api.post(f"/api/runs/{run.pk}/steps/2/start/", {"reason": "bench"}, format="json")
    result = StepResult.objects.get(step=step)
    connection = charger_services.open_connection(
        run.charge_point, remote_address="127.0.0.1:1", subprotocol="ocpp1.6", worker="test"
    )
    Frame.objects.create(
        charge_point=run.charge_point,
        connection=connection,
        seq=1,
        captured_at=timezone.now(),
        direction="in",
        message_type=2,
        unique_id="s1",
        action="StatusNotification",
        raw="[2,...]",
        payload={"connectorId": [1], "status": {"odd": 1}, "errorCode": "NoError"},
        validation_error="[1] is not of type 'integer'",
    )

    with caplog.at_level(logging.ERROR, logger="certification.services"):
        answer = api.post(f"/api/runs/{run.pk}/steps/2/finish/")

    assert answer.status_code == 200, answer.content
    result.refresh_from_db()
    assert result.finished_at is not None and result.proposed_verdict == ""
    assert [f["severity"] for f in result.findings] == ["fail", "info"]
    assert "violates the OCPP 1.6 schema" in result.findings[0]["message"]
    assert result.findings[1]["message"] == (
        f"The judge's rule {step.judge_rule} could not read this step's evidence (TypeError: "
        "unhashable type: 'list'); it proposes nothing and the engineer decides"
    )
    assert "raised on the evidence of step result" in caplog.text
    assert services.running_result(run) is None


def test_a_message_the_portal_failed_to_handle_is_not_held_against_the_charger(
    run: TestRun, engineer: User
) -> None:
    """The central system answered a valid StatusNotification with InternalError (a database
    or programming fault, logged): the judge must not word that as the charger's schema
    violation, nor propose N or Y on evidence the portal left incomplete."""
    step = run.plan.steps.get(number=2)
    api = APIClient()
    api.force_authenticate(engineer)
    api.post(f"/api/runs/{run.pk}/steps/2/start/", {"reason": "bench"}, format="json")
    connection = charger_services.open_connection(
        run.charge_point, remote_address="127.0.0.1:1", subprotocol="ocpp1.6", worker="test"
    )

    def recorded(seq: int, direction: str, message_type: int, **fields: Any) -> Frame:
        """A StatusNotification frame of the exchange "s1" on the step's connection."""
        return Frame.objects.create(
            charge_point=run.charge_point,
            connection=connection,
            seq=seq,
            captured_at=timezone.now(),
            direction=direction,
            message_type=message_type,
            unique_id="s1",
            action="StatusNotification",
            raw=f"[{message_type},...]",
            **fields,
        )

    notified = recorded(
        1,
        "in",
        2,
        payload={"connectorId": 1, "status": "Unavailable", "errorCode": "NoError"},
        validation_error=f"timestamp taken as UTC; {CENTRAL_SYSTEM_FAILURE}",
    )
    recorded(2, "out", 4, payload={"errorCode": "InternalError"})

    answer = api.post(f"/api/runs/{run.pk}/steps/2/finish/")

    assert answer.status_code == 200, answer.content
    result = StepResult.objects.get(step=step)
    assert result.proposed_verdict == ""
    messages = [f["message"] for f in result.findings]
    assert not any(CENTRAL_SYSTEM_FAILURE in message for message in messages), messages
    # The charger's own deviation on the same frame is still reported.
    assert any("timestamp taken as UTC" in message for message in messages), messages
    assert result.findings[-1] == {
        "severity": "info",
        "message": "The portal failed to handle 1 of the charger's messages in this step "
        "(StatusNotification; answered InternalError, the cause is in the portal's log). That "
        "is not the charger's fault, and the evidence is incomplete: the judge proposes "
        "nothing; repeat the step",
        "frame_ids": [notified.pk],
    }
