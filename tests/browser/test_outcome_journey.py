"""Issue 12 in the browser: an all-skipped run cannot be published as Pass, and a
manufacturer's page of a published run opens no socket."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, WebSocket, expect

from certification import services
from certification.default_plan import PLAN_NAME
from certification.models import StepResult, TestPlan, TestRun
from chargers import services as charger_services
from chargers.models import FirmwareVersion, User

pytestmark = pytest.mark.django_db(transaction=True)

UNLOCK = "Charging session - Remote Start Transaction - Request first - Unlock Connector"


@pytest.fixture
def two_step_run(demo_logins: dict[str, str]) -> TestRun:
    """A run of two steps of the default plan (Heartbeat and the unlock step) on a charger
    that never connected."""
    plan = services.copy_plan(TestPlan.objects.get(name=PLAN_NAME), None, name="Outcome journey")
    plan.steps.exclude(title__in=["Heartbeat", UNLOCK]).delete()
    for number, step in enumerate(plan.steps.order_by("number"), start=1):
        step.number = number
        step.save(update_fields=["number"])
    plan = services.publish_plan(plan, None)
    firmware = FirmwareVersion.objects.get(version="V1.0.0_C8_Standard")
    charge_point, _ = charger_services.create_charge_point(
        "NEVER-CONNECTED",
        charger_model=firmware.charger_model,
        firmware_version=firmware,
    )
    return services.create_run(
        charge_point=charge_point,
        plan=plan,
        tester=User.objects.get(username="engineer"),
        firmware_version=firmware,
    )


def test_an_all_skipped_run_cannot_be_sent_to_review_nor_published_as_pass(
    engineer_page: Page, two_step_run: TestRun
) -> None:
    page = engineer_page
    run = two_step_run
    for number in (1, 2):
        page.goto(f"/runs/{run.pk}/?step={number}")
        page.get_by_label("Reason the step does not apply").fill("not tested")
        page.get_by_role("button", name="Skip as N/A").click()
        expect(page.locator(".messages")).to_contain_text(f"Step {number} recorded as N/A")
    expect(page.locator(".run-outcome")).to_contain_text("Incomplete")
    page.get_by_role("button", name="Send to review").click()
    expect(page.locator(".messages")).to_contain_text("Incomplete: steps 1, 2 N/A")
    run.refresh_from_db()
    assert run.status == TestRun.Status.IN_PROGRESS and not run.reports.exists()
    page.goto("/runs/")
    row = page.locator("tr", has=page.locator(f'a[href="/runs/{run.pk}/"]')).first
    expect(row.locator(".outcome")).to_have_text("Incomplete")
    assert "Pass" not in (row.text_content() or "")


def test_a_manufacturers_run_page_opens_no_socket(
    manufacturer_page: Page, two_step_run: TestRun
) -> None:
    run = two_step_run
    engineer = User.objects.get(username="engineer")
    heartbeat, unlock = run.plan.steps.order_by("number")
    services.decide_step(
        StepResult.objects.create(run=run, step=heartbeat, proposed_verdict="Y"),
        verdict="Y",
        remarks="",
        minor_issue=False,
        user=engineer,
    )
    services.skip_step(run, unlock, "", engineer, na_reason="fixed_cable")
    services.submit_for_review(run, engineer)
    services.publish_run(run, User.objects.get(username="reviewer"))
    sockets: list[WebSocket] = []
    page = manufacturer_page
    page.on("websocket", lambda socket: sockets.append(socket))
    page.goto(f"/runs/{run.pk}/")
    expect(page.locator(".run-outcome")).to_contain_text("Pass")
    page.wait_for_timeout(2500)  # the old page retried a refused socket every 2 s
    assert sockets == []
    expect(page.get_by_text("reconnecting")).to_have_count(0)
