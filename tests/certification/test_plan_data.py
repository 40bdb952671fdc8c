"""Plans as data: copy, edit, publish a new version, runs keep theirs; JSON export and
import (page, API, management commands); every step traced to OCTT cases and the
specification; the coverage table per feature profile."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from certification import plan_data, services
from certification.coverage import StepCoverage, coverage_table
from certification.default_plan import STEPS
from certification.models import StepResult, TestPlan, TestRun, default_start_checks
from chargers.models import ChargePoint, FirmwareVersion, User

pytestmark = pytest.mark.django_db


def test_every_step_of_the_default_plan_names_its_octt_cases_and_sections(
    default_plan: TestPlan,
) -> None:
    for step in default_plan.steps.all():
        assert step.octt_ids and step.spec_sections, step
        assert all(plan_data.OCTT_ID.match(case) for case in step.octt_ids), step
    unlock = default_plan.steps.get(number=15)
    assert unlock.octt_ids == ["TC_011_1", "TC_018_1"]
    assert unlock.applies_when[0]["fact"] == "outlet"
    assert len(STEPS) == default_plan.steps.count() == 23


def test_a_plan_travels_as_json_and_comes_back_as_a_draft_version(
    default_plan: TestPlan, engineer: User
) -> None:
    document = json.loads(json.dumps(plan_data.export_plan(default_plan)))
    assert document["format"] == plan_data.FORMAT and len(document["steps"]) == 23
    document["steps"][14]["manual_actions"] = "Send the remote start.\nPlug in."
    imported = services.import_plan(document, engineer)
    assert (imported.name, imported.version, imported.status) == (
        default_plan.name,
        2,
        TestPlan.Status.DRAFT,
    )
    assert plan_data.export_plan(imported)["steps"][14]["manual_actions"].endswith("Plug in.")
    assert plan_data.export_plan(imported)["steps"][0] == document["steps"][0]


def test_an_exported_plan_keeps_every_steps_automation_and_start_checks(
    default_plan: TestPlan, engineer: User
) -> None:
    """A shared plan plays unattended as it did where it was written: the bench actions,
    waits and start checks travel with it (they were left out of the document)."""
    steps = list(default_plan.steps.order_by("number"))
    assert any(step.automation for step in steps)
    assert any(step.start_checks != default_start_checks() for step in steps)
    document = json.loads(json.dumps(plan_data.export_plan(default_plan)))

    imported = services.import_plan(document, engineer)

    assert [(step.automation, step.start_checks) for step in imported.steps.order_by("number")] == [
        (step.automation, step.start_checks) for step in steps
    ]
    # A document written before these fields existed still imports, with the defaults.
    for step in document["steps"]:
        del step["automation"], step["start_checks"]
    older = services.import_plan(document, engineer)
    assert {tuple(step.start_checks) for step in older.steps.all()} == {
        tuple(default_start_checks())
    }
    assert not any(step.automation for step in older.steps.all())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["steps"][5].update(automation=[{"bench": "dance"}]),
            "Step 6: automation operation 1: bench is one of plug_in",
        ),
        (
            lambda d: d["steps"][5].update(automation=[{"wait": 2, "until": {"action": "X"}}]),
            "Step 6: automation operation 1: wait takes nothing else",
        ),
        (
            lambda d: d["steps"][5].update(automation=[{"timeout": 2}]),
            "Step 6: automation operation 1 needs one of bench, command",
        ),
        (
            lambda d: d["steps"][5].update(automation=[{"wait": -1}]),
            "Step 6: automation operation 1: wait is a number of seconds",
        ),
        (
            lambda d: d["steps"][5].update(automation=[{"until": {"colour": "red"}}]),
            "Step 6: automation operation 1: until is an object of",
        ),
        (
            lambda d: d["steps"][5].update(automation=[{"bench": "plug_in", "idTag": "A"}]),
            "Step 6: automation operation 1: plug_in does not take idTag",
        ),
        (
            lambda d: d["steps"][5].update(start_checks=["sunny"]),
            "Step 6: start_checks is a list out of connected",
        ),
        (lambda d: d["steps"][2].update(judge_rule="guess"), "Step 3: Judge rule 'guess'"),
        (lambda d: d["steps"][0].update(octt_ids=["TC-1"]), "TC-1 is not an OCTT"),
        (
            lambda d: d["steps"][14].update(applies_when=[{"fact": "outlet", "is": "socket"}]),
            "Step 15: Condition 1 needs an na_reason",
        ),
        (
            lambda d: d["steps"][14].update(na_reasons=[]),
            "Step 15: Condition 1: 'fixed_cable' is not one of the step's N/A reasons",
        ),
        (
            lambda d: d["steps"][1]["commands"].append(
                {"action": "Reset", "payload": {"type": "Gentle"}}
            ),
            "Step 2: Command 3: Reset payload is not valid",
        ),
        (lambda d: d["steps"][3].update(number=1), "Step number(s) 1 used twice"),
        (lambda d: d.update(format="other"), "must be"),
        (lambda d: d["steps"][0].update(colour="red"), "unknown field(s) colour"),
    ],
)
def test_an_import_with_a_fault_writes_nothing_and_names_it(
    default_plan: TestPlan, engineer: User, change: Any, message: str
) -> None:
    document = plan_data.export_plan(default_plan)
    change(document)
    with pytest.raises(
        plan_data.PlanDataError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        services.import_plan(document, engineer)
    assert TestPlan.objects.count() == 1


def test_a_draft_is_edited_then_published_and_runs_keep_their_version(
    engineer_client: Client,
    run: TestRun,
    default_plan: TestPlan,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    engineer: User,
) -> None:
    engineer_client.post(reverse("certification:plan-copy", args=[default_plan.pk]))
    draft = TestPlan.objects.get(version=2)
    assert draft.status == TestPlan.Status.DRAFT
    with pytest.raises(services.WorkflowError, match="draft"):
        services.create_run(
            charge_point=run_charge_point,
            plan=draft,
            tester=engineer,
            firmware_version=c8eu_firmware,
        )
    edit = reverse("certification:step-edit", args=[draft.pk, 15])
    form = {
        "number": 15,
        "profile": "Core",
        "title": "Unlock",
        "commands": "[]",
        "judge_params": "{}",
        "na_reasons": '[{"code": "no_lock", "text": "No lock to release."}]',
        "applies_when": '[{"fact": "outlet", "is": "socket", "na_reason": "no_lock"}]',
        "octt_ids": '["TC_018_1"]',
        "spec_sections": '["5.18 Unlock Connector"]',
        "mandatory": "on",
    }
    bad = engineer_client.post(edit, form | {"octt_ids": '["018"]'})
    assert bad.status_code == 400 and "018 is not an OCTT" in bad.content.decode()
    unknown = engineer_client.post(edit, form | {"na_reasons": "[]"})
    assert "not one of the step" in unknown.content.decode()
    assert engineer_client.post(edit, form).status_code == 302
    engineer_client.post(reverse("certification:plan-publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == TestPlan.Status.PUBLISHED and draft.published_at is not None
    # Published: frozen like a version in use.
    refused = engineer_client.get(edit, follow=True).content.decode()
    assert "copy it into a new version" in refused
    # The old run keeps version 1; a new run can use version 2.
    run.refresh_from_db()
    assert run.plan == default_plan
    assert default_plan.steps.get(number=15).title.startswith("Charging session")
    second = services.create_run(
        charge_point=run_charge_point, plan=draft, tester=engineer, firmware_version=c8eu_firmware
    )
    assert second.results.get().remarks == "Not applicable: No lock to release."


def test_the_plan_pages_export_and_import(
    engineer_client: Client, manufacturer_client: Client, default_plan: TestPlan
) -> None:
    export = engineer_client.get(reverse("certification:plan-export", args=[default_plan.pk]))
    assert export["Content-Disposition"].endswith('-v1.json"')
    document = json.loads(export.content)
    upload = SimpleUploadedFile("plan.json", json.dumps(document).encode(), "application/json")
    response = engineer_client.post(reverse("certification:plan-import"), {"document": upload})
    assert response.status_code == 302
    assert TestPlan.objects.filter(version=2, status="draft").exists()
    broken = SimpleUploadedFile("plan.json", b"{not json", "application/json")
    refused = engineer_client.post(reverse("certification:plan-import"), {"document": broken})
    assert refused.status_code == 400 and "not JSON" in refused.content.decode()
    # Plans are the lab's: manufacturer users get neither page.
    assert manufacturer_client.get(reverse("certification:plan-import")).status_code == 403
    assert (
        manufacturer_client.get(reverse("certification:plan-export", args=[default_plan.pk]))
    ).status_code == 403
    page = engineer_client.get(default_plan.get_absolute_url()).content.decode()
    assert "TC_011_1, TC_018_1" in page and "Export JSON" in page


def test_the_api_exports_imports_and_publishes(default_plan: TestPlan, engineer: User) -> None:
    api = APIClient()
    api.force_authenticate(engineer)
    document = api.get(f"/api/test-plans/{default_plan.pk}/export/").json()
    created = api.post("/api/test-plans/import/", document, format="json")
    assert created.status_code == 201 and created.json()["status"] == "draft"
    published = api.post(f"/api/test-plans/{created.json()['id']}/publish/")
    assert published.json()["status"] == "published"
    again = api.post(f"/api/test-plans/{created.json()['id']}/publish/")
    assert again.status_code == 409
    document["steps"][0]["judge_rule"] = "guess"
    refused = api.post("/api/test-plans/import/", document, format="json")
    assert refused.status_code == 400 and "guess" in refused.json()["document"]


def test_the_management_commands_export_and_import(default_plan: TestPlan, tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    call_command("export_plan", str(default_plan.pk), output=target)
    call_command("import_plan", str(target), publish=True)
    assert TestPlan.objects.get(version=2).status == TestPlan.Status.PUBLISHED
    target.write_text('{"format": "ocpp-portal-plan/1", "name": "x", "steps": []}')
    with pytest.raises(CommandError, match="no steps"):
        call_command("import_plan", str(target))


def test_coverage_counts_each_case_once_by_the_worst_verdict_of_its_steps() -> None:
    table = coverage_table(
        [
            StepCoverage("Core", ("TC_001", "TC_002"), "Y"),
            StepCoverage("Core", ("TC_001",), "N"),
            StepCoverage("Core", ("TC_017_2",), "NA"),
            StepCoverage("Core", ("TC_010",), ""),
            StepCoverage("Reservation", ("TC_046", "TC_001"), "Y"),
        ]
    )
    core, reservation = table
    assert core.cases == ["TC_001", "TC_002", "TC_010", "TC_017_2"]
    assert (core.failed, core.passed, core.not_applicable, core.untested) == (
        ["TC_001"],
        ["TC_002"],
        ["TC_017_2"],
        ["TC_010"],
    )
    assert (reservation.cases, reservation.passed) == (["TC_046"], ["TC_046"])


def test_the_run_page_and_report_show_coverage_per_profile(
    engineer_client: Client, run: TestRun
) -> None:
    now = timezone.now()
    StepResult.objects.create(
        run=run, step=run.plan.steps.get(number=1), started_at=now, final_verdict="Y"
    )
    rows = {row["profile"]: row for row in services.run_report(run)["coverage"]}
    # TC_002 passed by step 1; TC_001 is also step 5's, which has not run yet.
    assert rows["Core"]["passed"] == 1 and "TC_001" in rows["Core"]["cases"]
    assert rows["Core"]["not_applicable"] == 2  # step 15's TC_011_1 and TC_018_1
    assert rows["Firmware Management"]["covered"] == 5
    console = engineer_client.get(run.get_absolute_url()).content.decode()
    assert "OCTT coverage" in console and "Core 1/" in console
    report = engineer_client.get(reverse("certification:report-html", args=[run.pk]))
    assert "OCTT coverage" in report.content.decode()


def test_every_step_of_the_full_plan_names_its_octt_cases_and_checks_as_plan_data(
    engineer: User,
) -> None:
    plan = services.install_full_plan()
    assert plan.steps.count() == 23 + 23
    for step in plan.steps.all():
        assert step.spec_sections and step.judge_rule, step
        # Only the transaction message retries have no OCA 1.6 case (docs/plans.md).
        assert step.octt_ids or step.judge_rule == "transaction_message_retry", step
    # The plan passes the same checks as an import: commands, rules, conditions, ids.
    _, steps = plan_data.check_plan(plan_data.export_plan(plan))
    assert len(steps) == 46
    reservation = plan.steps.get(title="Reservation - expiry")
    assert reservation.applies_when == [
        {"fact": "profiles", "includes": "Reservation", "na_reason": "no_Reservation"}
    ]


def test_a_time_placeholder_becomes_a_utc_date_time_when_sent(run: TestRun) -> None:
    from chargers import transfers

    before = timezone.now()
    sent = transfers.resolve_placeholders(run, {"expiryDate": "{time:+30s}"}, "http://x")
    moment = datetime.datetime.fromisoformat(sent["expiryDate"].replace("Z", "+00:00"))
    assert 29 <= (moment - before).total_seconds() <= 31
    assert transfers.placeholder_example({"expiryDate": "{time:+1h}"}) == {
        "expiryDate": "2030-01-01T00:00:00Z"
    }


def test_a_changed_plan_in_the_code_is_installed_as_a_new_version_and_runs_keep_theirs(
    run: TestRun, engineer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade of the portal whose plan gained or changed steps installs them as the next
    version, once; an unchanged plan installs nothing; engineers' copies are left alone."""
    first = run.plan
    assert services.install_default_plan() == first
    copy = services.publish_plan(services.copy_plan(first, engineer), engineer)

    changed = [dict(step) for step in STEPS]
    changed[3] = {**changed[3], "octt": ["TC_021", "TC_040_1"]}
    changed.append({**changed[0], "title": "A step the new release adds"})
    monkeypatch.setattr(services, "STEPS", changed)
    upgraded = services.install_default_plan()

    assert (first.version, copy.version, upgraded.version) == (1, 2, 3)
    assert upgraded.steps.count() == len(STEPS) + 1
    assert upgraded.steps.get(number=4).octt_ids == ["TC_021", "TC_040_1"]
    assert services.install_default_plan() == upgraded
    assert services.default_plan() == upgraded
    run.refresh_from_db()
    assert run.plan == first and first.steps.count() == len(STEPS)
    assert copy.steps.count() == len(STEPS)


def test_the_portals_own_plans_pass_the_checks_an_import_makes() -> None:
    """Every step the portal installs could be exported and imported again as it is."""
    from certification import full_plan, security_plan

    for plan_steps in (STEPS, full_plan.steps(), security_plan.STEPS):
        for step in plan_steps:
            assert plan_data.check_automation(step.get("automation", [])) == step.get(
                "automation", []
            ), step["title"]
            plan_data.check_start_checks(step.get("start_checks"))
