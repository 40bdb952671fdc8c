"""The automation API: token auth, the pages' permissions, a run driven end to end."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from certification.models import TestPlan, TestRun
from chargers.api_tokens import create_api_token
from chargers.models import ChargePoint, ChargerModel, FirmwareVersion, User


def api_client(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, token = create_api_token(user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.django_db
def test_anonymous_requests_are_refused(run: TestRun) -> None:
    client = APIClient()
    for url in [
        "/api/runs/",
        f"/api/runs/{run.pk}/report/",
        "/api/manufacturers/",
        "/api/charge-points/",
    ]:
        assert client.get(url).status_code == 401, url


@pytest.mark.django_db
def test_create_api_token_gives_a_working_token(
    engineer: User, run: TestRun, capsys: pytest.CaptureFixture
) -> None:
    call_command("create_api_token", engineer.username)
    key = capsys.readouterr().out.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/runs/").json()["results"][0]["id"] == run.pk


@pytest.mark.django_db
def test_manufacturer_users_read_only_their_published_runs_and_catalog(
    manufacturer_user: User, rival_user: User, run: TestRun, rival_model: ChargerModel
) -> None:
    maker = api_client(manufacturer_user)
    assert maker.get("/api/runs/").json()["count"] == 0  # a draft is not theirs to see
    assert maker.get(f"/api/runs/{run.pk}/").status_code == 404
    run.status = TestRun.Status.PUBLISHED
    run.save()
    assert maker.get(f"/api/runs/{run.pk}/report/").status_code == 200
    assert api_client(rival_user).get(f"/api/runs/{run.pk}/").status_code == 404
    names = [m["name"] for m in maker.get("/api/charger-models/").json()["results"]]
    assert names == ["C8EU"]
    assert maker.get(f"/api/charger-models/{rival_model.pk}/").status_code == 404
    assert maker.post(f"/api/runs/{run.pk}/steps/1/start/").status_code == 403
    assert maker.patch(f"/api/runs/{run.pk}/steps/1/", {"final_verdict": "Y"}).status_code in (
        403,
        409,
    )
    assert maker.post("/api/charger-models/", {"name": "X"}).status_code == 403
    assert maker.get("/api/charge-points/").status_code == 403
    assert maker.get("/api/test-plans/").status_code == 403


@pytest.mark.django_db
def test_engineer_creates_catalog_rows_and_a_charge_point_whose_key_is_shown_once(
    engineer: User, xcharge: object
) -> None:
    client = api_client(engineer)
    model = client.post(
        "/api/charger-models/",
        {"manufacturer": xcharge.pk, "name": "C6", "current_type": "AC", "connectors": 1},  # type: ignore[attr-defined]
        format="json",
    )
    assert model.status_code == 201
    created = client.post(
        "/api/charge-points/",
        {"charge_point_id": "API-1", "charger_model": model.json()["id"]},
        format="json",
    )
    assert created.status_code == 201
    key = created.json()["authorization_key"]
    assert 16 <= len(key) <= 40
    again = client.get(f"/api/charge-points/{created.json()['id']}/").json()
    assert "authorization_key" not in again and again["connected"] is False
    assert ChargePoint.objects.get(charge_point_id="API-1").security_profile == 1


@pytest.mark.django_db(transaction=True)
def test_a_run_driven_through_the_api(
    engineer: User,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    default_plan: TestPlan,
) -> None:
    client = api_client(engineer)
    created = client.post(
        "/api/runs/",
        {
            "charge_point": run_charge_point.pk,
            "firmware_version": c8eu_firmware.pk,
            "plan": default_plan.pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    run_id = created.json()["id"]
    started = client.post(
        f"/api/runs/{run_id}/steps/13/start/", {"reason": "no charger in this test"}
    )
    assert started.status_code == 201 and started.json()["attempt"] == 1
    conflict = client.post(f"/api/runs/{run_id}/steps/2/start/")
    assert conflict.status_code == 409 and "Step 13 is still running" in conflict.json()["detail"]
    offline = client.post(
        f"/api/runs/{run_id}/commands/", {"action": "ClearCache", "payload": {}}, format="json"
    )
    assert offline.status_code == 409 and offline.json()["status"] == "not_connected"
    invalid = client.post(
        f"/api/runs/{run_id}/commands/",
        {"action": "Reset", "payload": {"type": "x"}},
        format="json",
    )
    assert invalid.status_code == 400 and "not valid OCPP 1.6" in invalid.json()["payload"][0]
    finished = client.post(f"/api/runs/{run_id}/steps/13/finish/").json()
    assert finished["proposed_verdict"] == "N" and finished["findings"]
    decided = client.patch(
        f"/api/runs/{run_id}/steps/13/",
        {"final_verdict": "N", "remarks": "* No card reader response", "minor_issue": False},
        format="json",
    )
    assert decided.status_code == 200 and decided.json()["final_verdict"] == "N"
    skipped = client.post(
        f"/api/runs/{run_id}/steps/15/skip/",
        {"reason": "DC: no unlock", "na_reason": "fixed_cable"},
        format="json",
    )
    assert skipped.json()["final_verdict"] == "NA" and skipped.json()["na_reason"] == "fixed_cable"
    report = client.get(f"/api/runs/{run_id}/report/").json()
    assert report["summary"] == {
        "steps": 23,
        "passed": 0,
        "failed": 1,
        "not_applicable": 1,
        "undecided": 21,
        "minor_issues": 0,
        "outcome": "incomplete",
        "outcome_label": "Incomplete",
        "untested": [n for n in range(1, 24) if n not in {13, 15}],
        "wrongly_na": [],
    }
    assert report["hardware_model"] == "C8EU" and report["steps"][12]["remarks"].startswith(
        "* No card"
    )
    evidence = client.get(f"/api/runs/{run_id}/evidence/", {"step": 13}).json()
    assert evidence["count"] == 0
    assert client.get(f"/api/runs/{run_id}/steps/2/").status_code == 409


@pytest.mark.django_db
def test_schema_and_docs_are_served(engineer: User) -> None:
    client = api_client(engineer)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/runs/{id}/steps/{number}/finish/" in schema.content
    docs = APIClient()
    docs.force_login(engineer)
    page = docs.get("/api/docs/")
    assert page.status_code == 200
    # Served by the portal itself: no CDN.
    assert b"cdn." not in page.content and b"/static/drf_spectacular_sidecar/" in page.content
