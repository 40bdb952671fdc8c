"""Pages people trip on (issue 12, items 6 and 7): no live socket for readers or closed runs,
the placeholder hint only where a payload holds one, the charge point's command form, and
the judge's measurements as small tables rather than Python reprs."""

from __future__ import annotations

import pytest
from django.test import Client

from certification.models import TestRun
from certification.views import readable
from chargers.models import ChargePoint


@pytest.mark.django_db
def test_only_an_engineer_on_an_open_run_gets_a_live_socket(
    run: TestRun, engineer_client: Client, manufacturer_client: Client
) -> None:
    assert 'data-ws="/ws/runs/' in engineer_client.get(f"/runs/{run.pk}/").content.decode()
    TestRun.objects.filter(pk=run.pk).update(status=TestRun.Status.PUBLISHED)
    for client in (engineer_client, manufacturer_client):
        page = client.get(f"/runs/{run.pk}/")
        assert page.status_code == 200
        assert "data-ws" not in page.content.decode()


@pytest.mark.django_db
def test_the_placeholder_hint_appears_only_where_a_payload_holds_one(
    run: TestRun, engineer_client: Client
) -> None:
    hint = "Locations in braces are replaced when you send"
    assert hint not in engineer_client.get(f"/runs/{run.pk}/?step=2").content.decode()
    assert hint in engineer_client.get(f"/runs/{run.pk}/?step=19").content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_command_form_never_starts_at_a_reset_and_keeps_the_last_action(
    run_charge_point: ChargePoint, engineer_client: Client
) -> None:
    url = f"/charge-points/{run_charge_point.pk}/"
    page = engineer_client.get(url).content.decode()
    assert '<option value="Reset" selected>' not in page
    assert '<option value="GetConfiguration" selected>' in page
    engineer_client.post(
        f"{url}commands/", {"action": "ClearCache", "payload": "{}"}
    )  # not connected: still the last chosen action
    assert '<option value="ClearCache" selected>' in engineer_client.get(url).content.decode()


def test_measurements_read_as_small_tables_never_as_python_reprs() -> None:
    html = str(readable({"connector_id": 1, "type": "Inoperative", "accepted": True}))
    assert "{'" not in html and "'connector_id'" not in html
    assert "<th>connector_id</th><td>1</td>" in html and "<td>yes</td>" in html
    rows = str(readable([{"at": "10:00", "status": "Unavailable"}, {"at": "10:01"}]))
    assert rows.count("<tr>") == 3 and "<th>status</th>" in rows
    assert str(readable([2.0, 2.1])) == "2.0, 2.1" and str(readable(None)) == "—"


@pytest.mark.django_db
def test_the_403_page_says_a_read_was_refused(manufacturer_client: Client) -> None:
    page = manufacturer_client.get("/plans/")
    assert page.status_code == 403
    body = page.content.decode()
    assert "may not open this page" in body and "may look at this page" not in body


@pytest.mark.django_db
def test_connected_charge_points_and_connection_events_are_in_the_navigation(
    engineer_client: Client,
) -> None:
    nav = engineer_client.get("/").content.decode().split('id="mainnav"', 1)[1]
    nav = nav.split("</nav>", 1)[0]
    assert 'href="/charge-points/connected/"' in nav and 'href="/charge-points/events/"' in nav
