"""The run workflow: plans as data, steps started and finished, the judge's proposal, the
engineer's decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certification import services
from certification.models import StepResult, TestPlan, TestRun
from chargers.models import ChargePoint, FirmwareVersion, Frame, User
from tests.chargers.ocpp_helpers import adb, call, communicator

SEED = Path(__file__).resolve().parents[3] / "shared/reference/seed-test-report-xcharge-c8eu.txt"


def seed_steps() -> list[tuple[int, str, str]]:
    rows = []
    for line in SEED.read_text().splitlines():
        cells = line.split("\t")
        if cells and cells[0].isdigit():
            rows.append((int(cells[0]), cells[1], cells[2]))
    return rows


@pytest.mark.django_db
def test_default_plan_holds_the_seed_reports_23_steps_word_for_word(
    default_plan: TestPlan,
) -> None:
    assert SEED.exists(), f"the seed report is expected at {SEED}"
    steps = [(s.number, s.profile, s.title) for s in default_plan.steps.order_by("number")]
    assert steps == seed_steps()
    assert all(step.judge_rule for step in default_plan.steps.all())


@pytest.mark.django_db
def test_installing_the_default_plan_twice_changes_nothing(default_plan: TestPlan) -> None:
    assert services.install_default_plan() == default_plan
    assert TestPlan.objects.count() == 1 and default_plan.steps.count() == 23


@pytest.mark.django_db
def test_copying_a_plan_makes_an_editable_next_version(
    default_plan: TestPlan, engineer: User
) -> None:
    copy = services.copy_plan(default_plan, engineer)
    assert (copy.name, copy.version, copy.based_on) == (default_plan.name, 2, default_plan)
    assert copy.steps.count() == 23
    assert default_plan.steps.count() == 23  # the original is untouched


@pytest.mark.django_db(transaction=True)
def test_one_run_in_progress_per_charge_point(
    run: TestRun, engineer: User, c8eu_firmware: FirmwareVersion
) -> None:
    step = run.plan.steps.get(number=2)
    services.start_step(run, step, engineer, anyway="no charger in this test")
    run.refresh_from_db()
    assert run.status == TestRun.Status.IN_PROGRESS and run.started_at
    second = services.create_run(
        charge_point=run.charge_point,
        plan=run.plan,
        tester=engineer,
        firmware_version=c8eu_firmware,
    )
    with pytest.raises(services.WorkflowError, match=f"already under test in run {run.pk}"):
        services.start_step(second, step, engineer, anyway="no charger in this test")


@pytest.mark.django_db(transaction=True)
def test_only_one_step_runs_at_a_time_and_repeats_keep_earlier_attempts(
    run: TestRun, engineer: User
) -> None:
    step2, step3 = run.plan.steps.get(number=2), run.plan.steps.get(number=3)
    first = services.start_step(run, step2, engineer, anyway="no charger in this test")
    with pytest.raises(services.WorkflowError, match="Step 2 is still running"):
        services.start_step(run, step3, engineer, anyway="no charger in this test")
    services.finish_step(first)
    with pytest.raises(services.WorkflowError, match="is finished"):
        services.finish_step(first)
    again = services.start_step(run, step2, engineer, anyway="no charger in this test")
    services.finish_step(again)
    assert list(run.results.filter(step=step2).values_list("attempt", flat=True)) == [1, 2]
    assert services.latest_results(run)[2] == again


@pytest.mark.django_db(transaction=True)
def test_skipping_needs_a_reason_and_records_na(run: TestRun, engineer: User) -> None:
    step15 = run.plan.steps.get(number=15)
    with pytest.raises(services.WorkflowError, match="Say why"):
        services.skip_step(run, step15, "  ", engineer)
    result = services.skip_step(run, step15, "DC charger: no unlock", engineer)
    assert result.final_verdict == "NA" and result.remarks == "DC charger: no unlock"


@pytest.mark.django_db(transaction=True)
def test_overriding_a_proposal_needs_remarks(run: TestRun, engineer: User) -> None:
    step = run.plan.steps.get(number=13)
    result = services.finish_step(
        services.start_step(run, step, engineer, anyway="no charger in this test")
    )
    assert result.proposed_verdict == "N"  # nothing happened during the step
    with pytest.raises(services.WorkflowError, match="write in the remarks why"):
        services.decide_step(result, verdict="Y", remarks="", minor_issue=False, user=engineer)
    services.decide_step(
        result,
        verdict="Y",
        remarks="Checked at the charger's display",
        minor_issue=True,
        user=engineer,
    )
    result.refresh_from_db()
    assert result.final_verdict == "Y" and result.is_overridden() and result.minor_issue


async def _unauthorized_session(start_anyway: bool) -> None:
    ws = communicator("CP1", "run-key-0123456789")
    await ws.connect()
    await call(
        ws,
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "Preparing"},
        "a",
    )
    answer = await call(ws, "Authorize", {"idTag": "STRANGER"}, "b")
    assert answer[2]["idTagInfo"]["status"] == "Invalid"
    if start_anyway:
        await call(
            ws,
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "STRANGER",
                "meterStart": 0,
                "timestamp": "2026-11-23T10:00:00Z",
            },
            "c",
        )
    await ws.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("start_anyway", "verdict"), [(False, "Y"), (True, "N")])
async def test_the_judge_proposes_a_verdict_from_the_steps_own_frames(
    run: TestRun, engineer: User, start_anyway: bool, verdict: str
) -> None:
    step = await adb(run.plan.steps.get)(number=13)
    result = await adb(services.start_step)(
        run, step, engineer, anyway="the charger connects after"
    )
    await _unauthorized_session(start_anyway)
    result = await adb(services.finish_step)(result)

    frames = await adb(lambda: list(Frame.objects.filter(step_result=result)))()
    assert len(frames) == (6 if start_anyway else 4)
    assert all(f.run_id == run.pk for f in frames)
    assert result.proposed_verdict == verdict
    if start_anyway:
        messages = " ".join(f["message"] for f in result.findings)
        assert "StartTransaction" in messages
        cited = {i for f in result.findings for i in f["frame_ids"]}
        assert cited & {f.pk for f in frames}
    json.dumps(result.measurements)  # stored as JSON


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_connected_charger_learns_the_step_and_tags_frames_as_they_arrive(
    run: TestRun, engineer: User, run_charge_point: ChargePoint
) -> None:
    ws = communicator("CP1", "run-key-0123456789")
    await ws.connect()
    await call(ws, "Heartbeat", {}, "before")
    step = await adb(run.plan.steps.get)(number=5)
    result = await adb(services.start_step)(
        run, step, engineer, anyway="the charger connects after"
    )
    await call(ws, "Heartbeat", {}, "during")
    during = await adb(Frame.objects.get)(unique_id="during", direction="in")
    assert during.step_result_id == result.pk  # before the step is finished
    before = await adb(Frame.objects.get)(unique_id="before", direction="in")
    assert before.step_result_id is None and before.run_id is None
    await adb(services.finish_step)(result)
    await call(ws, "Heartbeat", {}, "after")
    after = await adb(Frame.objects.get)(unique_id="after", direction="in")
    assert after.step_result_id is None and after.run_id == run.pk
    await ws.disconnect()
    assert await adb(StepResult.objects.filter(pk=result.pk).exists)()


@pytest.mark.django_db
def test_the_judge_sees_frames_numbered_across_reconnections(run: TestRun, engineer: User) -> None:
    """A frame's own seq restarts with every connection (a reboot); the judge must still
    see them in capture order."""
    import datetime

    from django.utils import timezone

    from chargers import services as charger_services

    step = run.plan.steps.get(number=19)
    result = services.start_step(run, step, engineer, anyway="no charger in this test")
    first = charger_services.open_connection(
        run.charge_point, remote_address="", subprotocol="ocpp1.6", worker="t"
    )
    second = charger_services.open_connection(
        run.charge_point, remote_address="", subprotocol="ocpp1.6", worker="t"
    )
    start = timezone.now()
    for index, (connection, seq) in enumerate([(first, 7), (first, 8), (second, 1), (second, 2)]):
        Frame.objects.create(
            charge_point=run.charge_point,
            connection=connection,
            seq=seq,
            direction="in",
            captured_at=start + datetime.timedelta(milliseconds=index),
            raw="[]",
            run=run,
            step_result=result,
        )
    context = services.judge_context(result)
    assert [f.seq for f in context.frames] == [1, 2, 3, 4]
    assert [f.connection_id for f in context.frames] == [first.pk, first.pk, second.pk, second.pk]


@pytest.mark.asyncio
async def test_live_announcements_work_from_sync_code_under_a_running_loop() -> None:
    """Sync services (decide_step, set_enabled) announce through the channel layer; called
    from a thread whose event loop is running (a test driver's), async_to_sync refuses, so
    the message leaves from a helper thread instead of failing the whole operation."""
    from channels.layers import get_channel_layer

    from chargers.services import group_send_from_sync

    layer = get_channel_layer()
    group_send_from_sync(layer, "run.0", {"type": "run.step", "step_result_id": None})
