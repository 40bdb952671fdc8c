"""Step 22's derived parameter: every card the charger used earlier in the run (OCPP 1.6
§3.5.1: its authorization cache keeps each identifier answered, not only the latest)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from certification import services
from certification.models import TestRun
from chargers import services as charger_services
from chargers.models import Frame, User


@pytest.mark.django_db
def test_clear_cache_gets_every_card_presented_before_the_attempt(
    run: TestRun, engineer: User
) -> None:
    connection = charger_services.open_connection(
        run.charge_point, remote_address="", subprotocol="ocpp1.6", worker="t"
    )
    earlier = timezone.now() - datetime.timedelta(minutes=5)
    for index, (action, id_tag) in enumerate(
        [
            ("Authorize", "OX-CARD-7"),
            ("StartTransaction", "OX-CARD-7"),
            ("StartTransaction", "CERT-TAG-1"),
        ]
    ):
        Frame.objects.create(
            charge_point=run.charge_point,
            connection=connection,
            seq=index + 1,
            direction="in",
            message_type=2,
            action=action,
            payload={"idTag": id_tag},
            captured_at=earlier + datetime.timedelta(seconds=index),
            raw="[]",
            run=run,
        )
    step = run.plan.steps.get(number=22)
    result = services.start_step(run, step, engineer, anyway="no charger in this test")

    params = services.derived_params(result)

    assert params["last_authorized_id_tag"] == "CERT-TAG-1"
    assert params["presented_id_tags"] == ["OX-CARD-7", "CERT-TAG-1"]
