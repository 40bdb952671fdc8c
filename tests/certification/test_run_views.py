"""Run pages and the step console: permissions, the workflow through the forms, the live
evidence stream."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from certification import services
from certification.models import StepResult, TestPlan, TestRun
from chargers.models import ChargePoint, FirmwareVersion, User
from config.asgi import application
from tests.chargers.ocpp_helpers import adb, call, communicator


def step_url(run: TestRun, number: int, verb: str) -> str:
    return reverse(f"certification:step-{verb}", args=[run.pk, number])


@pytest.mark.django_db
def test_pages_need_login_and_lab_pages_need_an_engineer(
    client: Client, manufacturer_client: Client, run: TestRun, default_plan: TestPlan
) -> None:
    pages = [
        reverse("certification:run-list"),
        reverse("certification:run-create"),
        run.get_absolute_url(),
        reverse("certification:plan-list"),
        default_plan.get_absolute_url(),
    ]
    for url in pages:
        assert client.get(url).status_code == 302, url
    # A manufacturer sees the run list (published runs only) but no drafts or lab pages.
    assert manufacturer_client.get(reverse("certification:run-list")).status_code == 200
    assert manufacturer_client.get(run.get_absolute_url()).status_code == 404
    for url in pages[1:2] + pages[3:]:
        assert manufacturer_client.get(url).status_code == 403, url
    for verb in ("start", "finish", "skip", "decide"):
        assert manufacturer_client.post(step_url(run, 2, verb)).status_code == 403, verb
    assert (
        manufacturer_client.post(reverse("certification:run-command", args=[run.pk])).status_code
        == 403
    )


@pytest.mark.django_db
def test_a_manufacturer_sees_its_published_run_read_only(
    manufacturer_client: Client, rival_user: User, run: TestRun
) -> None:
    run.status = TestRun.Status.PUBLISHED
    run.save()
    page = manufacturer_client.get(run.get_absolute_url())
    assert page.status_code == 200
    body = page.content.decode()
    assert "Start step" not in body and "Commands" not in body
    rival = Client()
    rival.force_login(rival_user)
    assert rival.get(run.get_absolute_url()).status_code == 404
    listing = rival.get(reverse("certification:run-list")).content.decode()
    assert f"/runs/{run.pk}/" not in listing


@pytest.mark.django_db
def test_step_actions_refuse_get(engineer_client: Client, run: TestRun) -> None:
    for verb in ("start", "finish", "skip", "decide"):
        assert engineer_client.get(step_url(run, 2, verb)).status_code == 405, verb
    assert engineer_client.post(run.get_absolute_url()).status_code == 405


@pytest.mark.django_db
def test_engineer_creates_a_run(
    engineer_client: Client,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    default_plan: TestPlan,
    rival_firmware: FirmwareVersion,
) -> None:
    url = reverse("certification:run-create")
    wrong = engineer_client.post(
        url,
        {
            "charge_point": run_charge_point.pk,
            "firmware_version": rival_firmware.pk,
            "plan": default_plan.pk,
        },
    )
    assert "firmware of another model" in wrong.content.decode()
    response = engineer_client.post(
        url,
        {
            "charge_point": run_charge_point.pk,
            "firmware_version": c8eu_firmware.pk,
            "plan": default_plan.pk,
        },
    )
    run = TestRun.objects.get()
    assert response["Location"] == run.get_absolute_url()
    assert run.charger_model == c8eu_firmware.charger_model and run.status == "draft"
    console = engineer_client.get(run.get_absolute_url()).content.decode()
    assert "Boot charging station" in console and "TriggerMessage" in console


@pytest.mark.django_db(transaction=True)
def test_the_console_workflow_start_finish_decide_skip(
    engineer_client: Client, run: TestRun
) -> None:
    engineer_client.post(step_url(run, 13, "start"), {"reason": "no charger in this test"})
    page = engineer_client.get(run.get_absolute_url()).content.decode()
    assert "Finish step" in page and "running" in page
    # Another step cannot start meanwhile; the page says why.
    refused = engineer_client.post(step_url(run, 2, "start"), follow=True).content.decode()
    assert "Step 13 is still running" in refused
    finished = engineer_client.post(step_url(run, 13, "finish"), follow=True).content.decode()
    assert "the judge proposes Fail" in finished
    assert "No Authorize received" in finished or "No StatusNotification" in finished

    override = engineer_client.post(
        step_url(run, 13, "decide"), {"verdict": "Y", "remarks": ""}, follow=True
    )
    assert "write in the remarks why" in override.content.decode()
    engineer_client.post(
        step_url(run, 13, "decide"),
        {"verdict": "Y", "remarks": "* Card reader checked by hand", "minor_issue": "on"},
    )
    result = StepResult.objects.get(step__number=13)
    assert (result.final_verdict, result.minor_issue, result.decided_by is not None) == (
        "Y",
        True,
        True,
    )

    engineer_client.post(step_url(run, 16, "skip"), {"reason": "No way to cause a fault"})
    skipped = StepResult.objects.get(step__number=16)
    assert (skipped.final_verdict, skipped.remarks) == ("NA", "No way to cause a fault")
    listing = engineer_client.get(reverse("certification:run-list")).content.decode()
    assert f"/runs/{run.pk}/" in listing


@pytest.mark.django_db(transaction=True)
def test_console_command_endpoint_answers_json(engineer_client: Client, run: TestRun) -> None:
    url = reverse("certification:run-command", args=[run.pk])
    bad = engineer_client.post(
        url,
        json.dumps({"action": "Reset", "payload": {"type": "Gentle"}}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "not valid OCPP 1.6" in bad.json()["error"]
    offline = engineer_client.post(
        url, json.dumps({"action": "ClearCache", "payload": {}}), content_type="application/json"
    )
    assert offline.status_code == 409 and offline.json()["status"] == "not_connected"


def _session_cookie(client: Client) -> bytes:
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_console_streams_the_steps_frames_live(run: TestRun, engineer: User) -> None:
    client = Client()
    await adb(client.force_login)(engineer)
    console = WebsocketCommunicator(
        application,
        f"/ws/runs/{run.pk}/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", _session_cookie(client))],
    )
    connected, _ = await console.connect()
    assert connected
    charger = communicator("CP1", "run-key-0123456789")
    await charger.connect()
    step = await adb(run.plan.steps.get)(number=5)
    result = await adb(services.start_step)(run, step, engineer)
    assert (await console.receive_json_from(timeout=5))["type"] == "step"
    await call(charger, "Heartbeat", {}, "hb-1")
    streamed: list[dict] = []
    while len(streamed) < 2:
        message = await console.receive_json_from(timeout=5)
        if message["type"] == "frames":
            streamed.extend(message["frames"])
    assert [(f["direction"], f["action"]) for f in streamed] == [
        ("in", "Heartbeat"),
        ("out", "Heartbeat"),
    ]
    assert all(f["step_result_id"] == result.pk for f in streamed)
    await charger.disconnect()
    await console.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_console_websocket_refuses_strangers(
    run: TestRun, manufacturer_user: User
) -> None:
    anonymous = WebsocketCommunicator(
        application, f"/ws/runs/{run.pk}/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    assert (await anonymous.connect())[0] is False
    client = Client()
    await adb(client.force_login)(manufacturer_user)
    maker = WebsocketCommunicator(
        application,
        f"/ws/runs/{run.pk}/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", _session_cookie(client))],
    )
    assert (await maker.connect())[0] is False
    foreign = WebsocketCommunicator(
        application,
        f"/ws/runs/{run.pk}/",
        headers=[(b"origin", b"http://evil.example"), (b"cookie", _session_cookie(client))],
    )
    assert (await foreign.connect())[0] is False
    await asyncio.sleep(0)


@pytest.mark.django_db
def test_plans_are_copied_and_steps_edited_only_in_unused_versions(
    engineer_client: Client, run: TestRun, default_plan: TestPlan
) -> None:
    edit_used = engineer_client.get(
        reverse("certification:step-edit", args=[default_plan.pk, 1]), follow=True
    )
    assert "copy it into a new version" in edit_used.content.decode()
    engineer_client.post(reverse("certification:plan-copy", args=[default_plan.pk]))
    copy = TestPlan.objects.get(version=2)
    url = reverse("certification:step-edit", args=[copy.pk, 4])
    bad = engineer_client.post(
        url,
        {
            "number": 4,
            "profile": "Core",
            "title": "Change Configuration",
            "commands": '[{"action": "Reset", "payload": {"type": "Gentle"}}]',
            "judge_params": "{}",
        },
    )
    assert (
        bad.status_code == 400 and "Command 1: Reset payload is not valid" in bad.content.decode()
    )
    engineer_client.post(
        url,
        {
            "number": 4,
            "profile": "Core",
            "title": "Change Configuration (local variant)",
            "commands": "[]",
            "judge_rule": "change_configuration",
            "judge_params": '{"key": "HeartbeatInterval"}',
            "mandatory": "on",
        },
    )
    step = copy.steps.get(number=4)
    assert step.title.endswith("(local variant)") and step.judge_params == {
        "key": "HeartbeatInterval"
    }
    assert default_plan.steps.get(number=4).title == "Change Configuration"


@pytest.mark.django_db
def test_the_console_shows_the_newest_frames_of_a_long_attempt_and_every_cited_one(
    engineer_client: Client, run: TestRun, engineer: User
) -> None:
    import datetime

    from django.utils import timezone

    from certification.views import CONSOLE_FRAMES
    from chargers import services as charger_services
    from chargers.models import Frame

    result = services.start_step(
        run, run.plan.steps.get(number=5), engineer, anyway="the charger connects after"
    )
    connection = charger_services.open_connection(
        run.charge_point, remote_address="", subprotocol="ocpp1.6", worker="t"
    )
    start = timezone.now()
    frames = Frame.objects.bulk_create(
        Frame(
            charge_point=run.charge_point,
            connection=connection,
            seq=n,
            captured_at=start + datetime.timedelta(milliseconds=n),
            direction="in",
            message_type=2,
            unique_id=f"u{n}",
            action="Heartbeat",
            raw=f'[2,"u{n}"]',
            payload={},
            run=run,
            step_result=result,
        )
        for n in range(1, CONSOLE_FRAMES + 51)
    )
    result.findings = [{"severity": "fail", "message": "x", "frame_ids": [frames[0].pk]}]
    result.save()
    body = engineer_client.get(f"{run.get_absolute_url()}?step=5").content.decode()
    assert f"Showing the newest {CONSOLE_FRAMES + 1} of {CONSOLE_FRAMES + 50} frames" in body
    assert f'id="frame-{frames[0].pk}"' in body  # cited
    assert f'id="frame-{frames[1].pk}"' not in body  # old, not cited
    assert f'id="frame-{frames[-1].pk}"' in body  # newest
