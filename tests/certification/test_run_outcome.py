"""A run's outcome (Pass, Pass with minor issues, Fail, Incomplete) is derived from its steps in
one place, and no surface shows an Incomplete run as a pass (issue 12, item 1)."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from certification import services
from certification.models import (
    Outcome,
    Report,
    StepResult,
    StepStanding,
    TestRun,
    outcome_of,
)
from certification.reports.pdf import render_pdf
from chargers.models import User
from tests.reports.test_report_pdf import flat

FIXED_CABLE = frozenset({"fixed_cable"})


def standing(number: int, verdict: str, **kwargs: object) -> StepStanding:
    return StepStanding(
        number=number,
        mandatory=bool(kwargs.pop("mandatory", True)),
        allowed_na_reasons=kwargs.pop("allowed", frozenset()),  # type: ignore[arg-type]
        final_verdict=verdict,
        **kwargs,  # type: ignore[arg-type]
    )


def test_every_step_passed_is_a_pass() -> None:
    assert outcome_of([standing(1, "Y"), standing(2, "Y")]).outcome == Outcome.PASS


def test_a_minor_issue_is_a_pass_with_minor_issues() -> None:
    outcome = outcome_of([standing(1, "Y", minor_issue=True), standing(2, "Y")])
    assert outcome.outcome == Outcome.PASS_WITH_MINOR_ISSUES and outcome.minor == (1,)
    assert outcome.explanation() == "Pass with minor issues in step 1."
    assert outcome.reason() == "Minor issues in step 1."


def test_a_failed_step_is_a_fail() -> None:
    outcome = outcome_of([standing(1, "N"), standing(2, "Y", minor_issue=True)])
    assert outcome.outcome == Outcome.FAIL and outcome.failed == (1,)
    assert (outcome.reason(), outcome.explanation()) == ("Step 1 failed.", "Fail: step 1 failed.")


def test_an_untested_mandatory_step_makes_the_run_incomplete_even_beside_a_fail() -> None:
    outcome = outcome_of([standing(1, "N"), standing(2, "")])
    assert outcome.outcome == Outcome.INCOMPLETE and outcome.untested == (2,)
    assert outcome.explanation() == "Incomplete: mandatory step 2 untested."
    assert outcome.reason() == "Mandatory step 2 untested."


def test_na_counts_only_for_a_reason_the_plan_allows_for_that_step() -> None:
    allowed = standing(15, "NA", allowed=FIXED_CABLE, na_reason="fixed_cable")
    assert outcome_of([standing(1, "Y"), allowed]).outcome == Outcome.PASS
    for wrong in (
        standing(15, "NA", allowed=FIXED_CABLE, na_reason=""),
        standing(15, "NA", allowed=FIXED_CABLE, na_reason="no_time"),
        standing(2, "NA", na_reason="fixed_cable"),  # a reason of another step
    ):
        outcome = outcome_of([standing(1, "Y"), wrong])
        assert outcome.outcome == Outcome.INCOMPLETE, wrong
        assert outcome.wrongly_na == (wrong.number,)


def test_an_optional_step_may_be_untested_or_na_for_any_reason() -> None:
    steps = [standing(1, "Y"), standing(2, "", mandatory=False), standing(3, "NA", mandatory=False)]
    assert outcome_of(steps).outcome == Outcome.PASS


# --- The example of the issue: every step skipped on a charger that never connected ------


def skip_everything(run: TestRun, engineer: User) -> None:
    for step in run.plan.steps.all():
        services.skip_step(run, step, "not tested", engineer)


@pytest.fixture
def reviewer(db: None) -> User:
    return User.objects.create_user("ana", password="pw-ana-1", role=User.Role.ENGINEER)


@pytest.mark.django_db
def test_an_all_skipped_run_is_incomplete_and_cannot_be_sent_to_review(
    run: TestRun, engineer: User
) -> None:
    skip_everything(run, engineer)
    outcome = run.outcome()
    assert outcome.outcome == Outcome.INCOMPLETE
    assert outcome.wrongly_na == tuple(range(1, 24))
    with pytest.raises(services.WorkflowError, match=r"Incomplete: steps 1, 2, .*23 N/A"):
        services.submit_for_review(run, engineer)
    run.refresh_from_db()
    assert run.status == TestRun.Status.IN_PROGRESS


@pytest.mark.django_db
def test_an_incomplete_run_in_review_cannot_be_approved(
    run: TestRun, engineer: User, reviewer: User
) -> None:
    skip_everything(run, engineer)
    # However it got there (sent to review before this rule existed): approving refuses.
    TestRun.objects.filter(pk=run.pk).update(status=TestRun.Status.IN_REVIEW)
    with pytest.raises(services.WorkflowError, match="Incomplete"):
        services.publish_run(run, reviewer)
    assert not run.reports.exists()
    run.refresh_from_db()
    assert run.status == TestRun.Status.IN_REVIEW


@pytest.mark.django_db
def test_step_15_is_na_for_a_fixed_cable_as_plan_data(run: TestRun, engineer: User) -> None:
    step_15 = run.plan.steps.get(number=15)
    assert step_15.na_reason_codes() == {"fixed_cable"}
    for step in run.plan.steps.exclude(number=15):
        # A step may be N/A only for the reasons its applicability conditions give.
        conditions = {condition["na_reason"] for condition in step.applies_when}
        assert step.na_reason_codes() == conditions, step.number
        services.decide_step(
            StepResult.objects.create(run=run, step=step, proposed_verdict="Y"),
            verdict="Y",
            remarks="",
            minor_issue=False,
            user=engineer,
        )
    services.skip_step(run, step_15, "", engineer, na_reason="fixed_cable")
    result = run.results.filter(step=step_15).latest("attempt")
    assert result.na_reason == "fixed_cable"
    assert "fixed cable" in result.remarks  # the plan's wording goes into the report
    assert run.outcome().outcome == Outcome.PASS
    with pytest.raises(services.WorkflowError, match="not an N/A reason of step 15"):
        services.skip_step(run, step_15, "", engineer, na_reason="no_time")
    services.submit_for_review(run, engineer)


def published_incomplete_report(run: TestRun) -> Report:
    """A report published before the outcome existed: its summary has no outcome."""
    pdf = b"%PDF-1.7 old"
    report = Report(
        run=run,
        revision=1,
        report_id=uuid.uuid4(),
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        generated_at=timezone.now(),
        tester="Wei",
        reviewer="Ana",
        manufacturer="Xcharge",
        charger_model="C8EU",
        firmware="V1.0.0_C8_Standard",
        summary={"steps": 23, "passed": 0, "failed": 0, "not_applicable": 23, "minor_issues": 0},
    )
    report.pdf.save("old.pdf", ContentFile(pdf), save=False)
    report.save()
    return report


@pytest.mark.django_db
def test_no_surface_shows_an_incomplete_run_as_pass(
    run: TestRun, engineer: User, engineer_client: Client
) -> None:
    skip_everything(run, engineer)
    listed = engineer_client.get("/runs/").content.decode()
    assert 'outcome-incomplete" title="Incomplete: steps 1, 2' in listed
    assert ">Pass<" not in listed
    console = engineer_client.get(f"/runs/{run.pk}/").content.decode()
    assert "Result: <strong" in console and ">Incomplete</strong>" in console
    # The label, then why: the word is not said twice.
    assert 'Incomplete</strong> <span class="muted">Steps 1, 2' in console
    html = engineer_client.get(f"/runs/{run.pk}/report/").content.decode()
    assert ">Incomplete</strong>" in html and ">Pass</strong>" not in html
    pdf = render_pdf(run, report_id="P-1", verification_url=None, generated_at=timezone.now())
    assert "Result Incomplete Steps 1, 2" in flat(pdf)

    api = APIClient()
    api.force_authenticate(engineer)
    assert api.get(f"/api/runs/{run.pk}/").json()["outcome"] == "incomplete"
    summary = api.get(f"/api/runs/{run.pk}/report/").json()["summary"]
    assert summary["outcome"] == "incomplete" and summary["outcome_label"] == "Incomplete"
    assert summary["wrongly_na"] == list(range(1, 24))

    # A report frozen without an outcome is never read as a pass, on the public page either.
    report = published_incomplete_report(run)
    assert report.overall == "Incomplete" and not report.is_pass()
    verify = Client().get(f"/verify/{report.report_id}/").content.decode()
    assert '<strong class="verdict-N">Incomplete</strong>' in verify
    assert "Pass" not in verify
