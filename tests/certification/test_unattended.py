"""Unattended runs without a live charger: who may start them, what a step without its bench
or its charger becomes, stopping, strict mode, and the JSON and JUnit results."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from certification import services, unattended
from certification.models import StepResult, TestRun, UnattendedRun
from certification.reports.junit import junit_xml
from chargers import services as charger_services
from chargers.models import ChargePoint, FirmwareVersion, Frame, User
from tests.certification.test_api import api_client

pytestmark = pytest.mark.django_db


def play(run: TestRun, user: User, **options: Any) -> UnattendedRun:
    queued = unattended.start_unattended(run, user, background=False, **options)
    return unattended.play(queued.pk)


# The player's commands go through database_sync_to_async, which closes a connection found
# inside a transaction: the tests that play use real transactions.
@pytest.mark.django_db(transaction=True)
def test_a_step_that_needs_the_bench_is_not_run_without_one(run: TestRun, engineer: User) -> None:
    played = play(run, engineer, steps=[3, 6])
    results = unattended.results(played)
    by_number = {s["number"]: s for s in results["steps"]}
    assert by_number[6]["outcome"] == "not_run"
    assert by_number[6]["notes"] == ["needs a test bench: the charge point has none"]
    assert not StepResult.objects.filter(run=run, step__number=6).exists()
    # Step 3 ran: its commands found no charger, which the judge and the notes say.
    assert by_number[3]["outcome"] == "failed"
    assert any("not connected" in note for note in by_number[3]["notes"])
    assert by_number[1]["notes"] == ["not selected"]
    assert played.status == "failed" and results["summary"]["failed"] == 1
    assert [line["step"] for line in played.log][:2] == [None, 3]


@pytest.mark.django_db(transaction=True)
def test_a_stopped_run_plays_no_further_step(run: TestRun, engineer: User) -> None:
    queued = unattended.start_unattended(run, engineer, background=False)
    unattended.request_stop(queued)
    played = unattended.play(queued.pk)
    assert played.status == "stopped"
    assert not StepResult.objects.filter(run=run, started_at__isnull=False).exists()


def test_only_one_unattended_run_of_a_run_at_a_time(run: TestRun, engineer: User) -> None:
    unattended.start_unattended(run, engineer, background=False)
    with pytest.raises(unattended.UnattendedError, match="still going"):
        unattended.start_unattended(run, engineer, background=False)
    with pytest.raises(unattended.UnattendedError, match="not in the plan"):
        unattended.start_unattended(
            TestRun.objects.create(
                charge_point=run.charge_point,
                plan=run.plan,
                tester=engineer,
                firmware_version=run.firmware_version,
                charger_model=run.charger_model,
            ),
            engineer,
            steps=[99],
            background=False,
        )


def test_strict_mode_fails_a_pass_with_a_minor_finding(run: TestRun) -> None:
    result = StepResult(run=run, proposed_verdict="Y", minor_issue=True)
    assert unattended.outcome_of(result, strict=False) == "passed"
    assert unattended.outcome_of(result, strict=True) == "failed"
    assert unattended.outcome_of(StepResult(proposed_verdict="NA"), strict=True) == (
        "not_applicable"
    )
    assert unattended.outcome_of(StepResult(proposed_verdict=""), strict=True) == "undecided"


def results_of(steps: list[dict[str, Any]]) -> dict[str, Any]:
    outcomes = [s["outcome"] for s in steps]
    return {
        "unattended_run": 4,
        "run": 9,
        "rehearsal": True,
        "strict": True,
        "status": "failed",
        "plan": {"name": "Plan", "version": 2},
        "charge_point": "CP1",
        "firmware": "1.0",
        "timing_tolerance_s": 4.0,
        "started_at": "2026-01-01T10:00:00+00:00",
        "finished_at": "2026-01-01T10:05:00+00:00",
        "summary": {
            "steps": len(steps),
            **{
                k: outcomes.count(k)
                for k in ("passed", "failed", "not_applicable", "undecided", "not_run")
            },
        },
        "steps": steps,
    }


def step(number: int, outcome: str, **fields: Any) -> dict[str, Any]:
    return {
        "number": number,
        "title": f"Step {number}",
        "profile": "Core",
        "outcome": outcome,
        "notes": [],
        "findings": [],
        "duration_s": 1.5,
        "cited_frames": [],
        **fields,
    }


def test_junit_has_one_testcase_per_step_with_the_judges_findings() -> None:
    frame = {"id": 31, "at": "2026-01-01T10:01:00+00:00", "direction": "in", "raw": '[2,"1"]'}
    xml = junit_xml(
        results_of(
            [
                step(1, "passed"),
                step(
                    2,
                    "failed",
                    findings=[
                        {"severity": "minor", "message": "Late by 2 s", "frame_ids": []},
                        {
                            "severity": "fail",
                            "message": "No Heartbeat\x00 received",
                            "frame_ids": [31],
                        },
                    ],
                    cited_frames=[frame],
                ),
                step(
                    3, "not_applicable", findings=[{"severity": "info", "message": "DC: no unlock"}]
                ),
                step(4, "not_run", notes=["needs a test bench: the charge point has none"]),
            ]
        )
    )
    root = ElementTree.fromstring(xml)
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "2")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "01. Step 1",
        "02. Step 2",
        "03. Step 3",
        "04. Step 4",
    ]
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "No Heartbeat\\u0000 received"
    assert "[minor] Late by 2 s" in (failure.text or "")
    assert '#31 [2,"1"]' in (cases[1].findtext("system-out") or "")
    skipped = [c.find("skipped") for c in cases[2:]]
    assert [s.get("message") for s in skipped if s is not None] == [
        "DC: no unlock",
        "needs a test bench: the charge point has none",
    ]
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["rehearsal"] == "true" and properties["strict"] == "true"


def test_a_manufacturer_user_rehearses_on_their_own_charge_point_only(
    manufacturer_user: User,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    default_plan: Any,
    rival_firmware: FirmwareVersion,
) -> None:
    client = api_client(manufacturer_user)
    started = client.post(
        "/api/unattended-runs/",
        {"charge_point_id": run_charge_point.charge_point_id, "strict": True},
        format="json",
    )
    assert started.status_code == 201, started.json()
    assert started.json()["rehearsal"] is True and started.json()["strict"] is True
    rehearsal = TestRun.objects.get(pk=started.json()["run"])
    assert rehearsal.rehearsal and rehearsal.tester == manufacturer_user
    assert rehearsal.firmware_version == c8eu_firmware and rehearsal.plan == default_plan
    # They see it and its results; never as a certification.
    assert client.get(f"/api/runs/{rehearsal.pk}/").status_code == 200
    assert client.get(f"/api/unattended-runs/{started.json()['id']}/results/").status_code == 200
    stopped = client.post(f"/api/unattended-runs/{started.json()['id']}/stop/")
    assert stopped.json()["stop_requested_at"] is not None
    with pytest.raises(services.WorkflowError, match="never reviewed or published"):
        services.submit_for_review(rehearsal, manufacturer_user)
    # Another manufacturer's charge point does not exist for them.
    rival_point, _ = charger_services.create_charge_point(
        "RIVAL-1",
        authorization_key="rival-key-0123456789",
        charger_model=rival_firmware.charger_model,
        firmware_version=rival_firmware,
    )
    refused = client.post("/api/unattended-runs/", {"charge_point": rival_point.pk}, format="json")
    assert refused.status_code == 404


def test_a_manufacturer_user_cannot_play_a_certification_run(
    manufacturer_user: User, run: TestRun
) -> None:
    run.status = TestRun.Status.PUBLISHED
    run.save()
    response = api_client(manufacturer_user).post(
        "/api/unattended-runs/", {"run": run.pk}, format="json"
    )
    assert response.status_code == 403


def test_an_engineer_starts_one_on_an_existing_run_and_gets_its_junit(
    engineer: User, run: TestRun
) -> None:
    client = api_client(engineer)
    started = client.post(
        "/api/unattended-runs/", {"run": run.pk, "steps": [23]}, format="json"
    ).json()
    assert started["rehearsal"] is False and started["steps"] == [23]
    again = client.post("/api/unattended-runs/", {"run": run.pk}, format="json")
    assert again.status_code == 409 and "still going" in again.json()["detail"]
    junit = client.get(f"/api/unattended-runs/{started['id']}/junit.xml")
    assert junit.status_code == 200 and junit["Content-Type"] == "application/xml"
    assert len(ElementTree.fromstring(junit.content).findall(".//testcase")) == 23


def test_rehearsals_are_not_listed_to_other_manufacturers(
    engineer: User, rival_user: User, run: TestRun, client: Client
) -> None:
    run.rehearsal = True
    run.save()
    unattended.start_unattended(run, engineer, background=False)
    assert api_client(rival_user).get("/api/unattended-runs/").json()["count"] == 0
    assert api_client(rival_user).get(f"/api/runs/{run.pk}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_run_plan_writes_junit_and_json_and_fails_the_build_on_a_failed_step(
    run_charge_point: ChargePoint, engineer: User, default_plan: Any, tmp_path: Path
) -> None:
    junit, results = tmp_path / "steps.xml", tmp_path / "steps.json"
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command(
            "run_plan",
            "--charge-point",
            run_charge_point.charge_point_id,
            "--user",
            engineer.username,
            "--steps",
            "3",
            "--junit",
            str(junit),
            "--json",
            str(results),
            stdout=out,
        )
    assert exit_status.value.code == 1
    assert "3. failed" in out.getvalue() and "6. not_run" in out.getvalue()
    assert len(ElementTree.parse(junit).getroot().findall(".//testcase")) == 23
    data = json.loads(results.read_text())
    assert data["summary"]["failed"] == 1 and data["rehearsal"] is False
    with pytest.raises(CommandError, match="No charge point"):
        call_command("run_plan", "--charge-point", "NOPE", "--user", engineer.username)


# _find closes old connections, as the player's thread must: a real transaction.
@pytest.mark.django_db(transaction=True)
def test_an_until_since_the_step_finds_a_message_sent_before_the_previous_one(
    run: TestRun, engineer: User
) -> None:
    """Step 19 waits for FSN Installed, then for the reboot into the new firmware: OCPP 1.6
    §5.19 orders neither, so a charger that reboots first and one that reboots after
    Installed are both waited for, and the reboot is not missed for coming first."""
    step = run.plan.steps.get(number=19)
    assert {"until": {"action": "BootNotification", "since": "step"}, "timeout": 120} in (
        step.automation
    )
    result = services.start_step(run, step, engineer, anyway="no charger in this test")
    connection = charger_services.open_connection(
        run.charge_point, remote_address="", subprotocol="ocpp1.6", worker="t"
    )
    start = result.started_at or timezone.now()
    for seq, (action, payload) in enumerate(
        [("BootNotification", {}), ("FirmwareStatusNotification", {"status": "Installed"})], 1
    ):
        Frame.objects.create(
            charge_point=run.charge_point,
            connection=connection,
            seq=seq,
            direction="in",
            message_type=Frame.MessageType.CALL,
            action=action,
            payload=payload,
            captured_at=start + datetime.timedelta(seconds=seq),
            raw="[]",
            run=run,
            step_result=result,
        )
    player = unattended.Player(
        UnattendedRun.objects.create(run=run, started_by=engineer), result=result
    )
    player.cursor = start
    player._until({"action": "FirmwareStatusNotification", "status": "Installed"}, 0)
    assert player.cursor == start + datetime.timedelta(seconds=2)
    player._until({"action": "BootNotification", "since": "step"}, 0)
    assert player.notes == []
    assert player.cursor == start + datetime.timedelta(seconds=2)  # never moved back
    player._until({"action": "BootNotification"}, 0)
    assert player.notes == ["Waited 0 s for BootNotification: it did not come."]
