"""The charge point's evidence list (issue 12, item 5): every frame's true direction, spelled
as everywhere else, and its time in ISO 8601 with the zone."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils.html import strip_tags

from chargers import services
from chargers.models import Frame


@pytest.mark.django_db
def test_each_frame_shows_its_true_direction_and_iso_time(engineer_client: Client) -> None:
    charge_point, _ = services.create_charge_point("CP-DIR", authorization_key="k" * 20)
    connection = services.open_connection(
        charge_point, remote_address="127.0.0.1:1", subprotocol="ocpp1.6", worker="test"
    )
    at = datetime.datetime(2026, 11, 29, 9, 30, 1, 250000, tzinfo=datetime.UTC)
    for seq, direction, raw in [
        (1, "in", '[2,"a","Heartbeat",{}]'),
        (2, "out", '[3,"a",{"currentTime":"2026-11-29T09:30:01Z"}]'),
    ]:
        Frame.objects.create(
            charge_point=charge_point,
            connection=connection,
            seq=seq,
            captured_at=at,
            direction=direction,
            message_type=2 if direction == "in" else 3,
            unique_id="a",
            action="Heartbeat",
            raw=raw,
        )
    page = engineer_client.get(f"/charge-points/{charge_point.pk}/frames/").content.decode()
    cells = [cell for cell in page.split("<td") if "→" in cell and "</td>" in cell]
    directions = [cell.split(">", 1)[1].split("</td>", 1)[0].strip() for cell in cells]
    assert directions == ["charger → portal", "portal → charger"]
    # A moment may wrap between its date and its time (<wbr>), never elsewhere.
    assert "2026-11-29T09:30:01.250+00:00" in strip_tags(page)


def test_direction_has_one_spelling() -> None:
    assert [str(label) for _, label in Frame.Direction.choices] == [
        "charger → portal",
        "portal → charger",
    ]
