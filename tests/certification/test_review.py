"""Review and publication: who may hand over, approve, send back and reopen a run; stored
report revisions, the public verification page and the firmware comparison."""

from __future__ import annotations

import datetime
import hashlib
import subprocess
import uuid

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certification import services
from certification.models import Report, StepResult, TestPlan, TestRun
from chargers.models import ChargerModel, FirmwareVersion, User


def decide_everything(run: TestRun, engineer: User, verdict: str = "Y") -> None:
    """Every step gets ``verdict`` in a new attempt (after any pre-filled N/A)."""
    now = timezone.now()
    for step in run.plan.steps.all():
        StepResult.objects.create(
            run=run,
            step=step,
            attempt=run.results.filter(step=step).count() + 1,
            started_at=now,
            finished_at=now,
            proposed_verdict=verdict,
            final_verdict=verdict,
            decided_by=engineer,
            decided_at=now,
        )


def make_report(run: TestRun, revision: int = 1, failed: int = 0) -> Report:
    pdf = b"%PDF-1.7 stored report " + str(revision).encode()
    report = Report(
        run=run,
        revision=revision,
        report_id=uuid.uuid4(),
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        generated_at=timezone.now(),
        tester="Wei",
        reviewer="Ana",
        manufacturer="Xcharge",
        charger_model="C8EU",
        firmware=run.firmware_version.version,
        summary={
            "passed": 23 - failed,
            "failed": failed,
            "not_applicable": 0,
            "minor_issues": 1,
            "outcome": "fail" if failed else "pass_minor",
        },
    )
    report.pdf.save(f"{report.report_id}.pdf", ContentFile(pdf), save=False)
    report.save()
    return report


@pytest.fixture
def reviewer(db: None) -> User:
    return User.objects.create_user("ana", password="pw-ana-1", role=User.Role.ENGINEER)


@pytest.mark.django_db
def test_a_run_goes_to_review_only_when_every_mandatory_step_is_decided(
    run: TestRun, engineer: User
) -> None:
    with pytest.raises(services.WorkflowError, match=r"Steps without a final verdict: 1, 2, 3"):
        services.submit_for_review(run, engineer)
    decide_everything(run, engineer)
    services.submit_for_review(run, engineer)
    run.refresh_from_db()
    assert run.status == TestRun.Status.IN_REVIEW and run.submitted_at is not None
    with pytest.raises(services.WorkflowError, match="in review"):
        services.submit_for_review(run, engineer)


@pytest.mark.django_db
def test_the_tester_cannot_approve_their_own_run(run: TestRun, engineer: User) -> None:
    decide_everything(run, engineer)
    services.submit_for_review(run, engineer)
    with pytest.raises(services.WorkflowError, match="Another engineer must approve"):
        services.publish_run(run, engineer)


@pytest.mark.django_db
def test_a_reviewer_sends_a_run_back_with_a_note(
    run: TestRun, engineer: User, reviewer: User
) -> None:
    decide_everything(run, engineer)
    services.submit_for_review(run, engineer)
    with pytest.raises(services.WorkflowError, match="Say what the tester should change"):
        services.return_for_changes(run, reviewer, " ")
    services.return_for_changes(run, reviewer, "Step 9: attach the reboot count")
    run.refresh_from_db()
    assert run.status == TestRun.Status.IN_PROGRESS
    assert run.review_note == "Step 9: attach the reboot count"


@pytest.mark.django_db
def test_publishing_needs_a_run_in_review(run: TestRun, reviewer: User) -> None:
    with pytest.raises(services.WorkflowError, match="Send the run to review"):
        services.publish_run(run, reviewer)


@pytest.mark.django_db
def test_reopening_keeps_the_published_revisions(run: TestRun, engineer: User) -> None:
    run.status = TestRun.Status.PUBLISHED
    run.save()
    first = make_report(run)
    with pytest.raises(services.WorkflowError, match="Say why"):
        services.reopen_run(run, engineer, "")
    services.reopen_run(run, engineer, "Wrong firmware noted in step 19")
    run.refresh_from_db()
    assert run.status == TestRun.Status.IN_PROGRESS and "Wrong firmware" in run.review_note
    first.refresh_from_db()
    assert first.pdf.read().startswith(b"%PDF-1.7 stored report 1")
    with pytest.raises(services.WorkflowError, match="Only a published run"):
        services.reopen_run(run, engineer, "again")


@pytest.mark.django_db
def test_verification_page_is_public_and_says_when_a_revision_was_replaced(
    client: Client, run: TestRun
) -> None:
    run.status = TestRun.Status.PUBLISHED
    run.save()
    first = make_report(run, revision=1, failed=1)
    page = client.get(reverse("certification:verify", args=[first.report_id]))
    body = page.content.decode()
    assert page.status_code == 200
    assert str(first.report_id) in body and "C8EU" in body and "Fail" in body
    assert first.sha256 in body and "current revision" in body
    second = make_report(run, revision=2)
    replaced = client.get(reverse("certification:verify", args=[first.report_id])).content.decode()
    assert "replaced by revision 2" in replaced and str(second.report_id) in replaced
    assert client.get(reverse("certification:verify", args=[uuid.uuid4()])).status_code == 404
    assert client.post(reverse("certification:verify", args=[first.report_id])).status_code == 405


@pytest.mark.django_db
def test_stored_pdfs_download_for_those_who_may_see_the_run(
    run: TestRun, manufacturer_client: Client, rival_user: User, engineer_client: Client
) -> None:
    url = reverse("certification:report-pdf", args=[run.pk])
    assert engineer_client.get(url).status_code == 404  # nothing published yet
    assert manufacturer_client.get(url).status_code == 404  # a draft is not theirs to see
    run.status = TestRun.Status.PUBLISHED
    run.save()
    make_report(run, revision=1)
    make_report(run, revision=2)
    latest = manufacturer_client.get(url)
    assert latest.status_code == 200 and latest["Content-Type"] == "application/pdf"
    assert latest.getvalue().endswith(b"report 2")
    assert "attachment" in latest["Content-Disposition"] and "C8EU" in latest["Content-Disposition"]
    first = manufacturer_client.get(reverse("certification:report-revision-pdf", args=[run.pk, 1]))
    assert first.getvalue().endswith(b"report 1")
    rival = Client()
    rival.force_login(rival_user)
    assert rival.get(url).status_code == 404
    assert Client().get(url).status_code == 302
    assert manufacturer_client.post(url).status_code == 405
    home = manufacturer_client.get("/").content.decode()
    assert "Published reports" in home and "PDF r2" in home


@pytest.mark.django_db
def test_firmware_comparison_highlights_regressions(
    engineer: User,
    engineer_client: Client,
    manufacturer_client: Client,
    rival_user: User,
    run: TestRun,
    c8eu: ChargerModel,
    c8eu_firmware: FirmwareVersion,
    default_plan: TestPlan,
) -> None:
    c8eu_firmware.release_date = datetime.date(2023, 9, 1)
    c8eu_firmware.save()
    newer = FirmwareVersion.objects.create(
        charger_model=c8eu, version="V1.1.0", release_date=datetime.date(2024, 1, 1)
    )
    decide_everything(run, engineer, "Y")
    run.status = TestRun.Status.PUBLISHED
    run.published_at = timezone.now()
    run.save()
    later = services.create_run(
        charge_point=run.charge_point, plan=default_plan, tester=engineer, firmware_version=newer
    )
    decide_everything(later, engineer, "Y")
    StepResult.objects.filter(run=later, step__number=9).update(final_verdict="N")
    later.status = TestRun.Status.PUBLISHED
    later.published_at = timezone.now()
    later.save()

    matrix = services.firmware_matrix(c8eu)
    assert [c["firmware"].version for c in matrix["columns"]] == ["V1.0.0_C8_Standard", "V1.1.0"]
    assert matrix["regressions"] == 1
    row9 = next(r for r in matrix["rows"] if r["number"] == 9)
    assert [c["verdict"] for c in row9["cells"]] == ["Y", "N"]
    assert row9["cells"][1]["change"] == "regression"

    url = reverse("certification:comparison", args=[c8eu.pk])
    page = manufacturer_client.get(url).content.decode()
    assert "1 regression" in page and "V1.1.0" in page
    rival = Client()
    rival.force_login(rival_user)
    assert rival.get(url).status_code == 404


@pytest.mark.django_db(transaction=True)  # the renderer process reads the committed run
def test_approving_publishes_a_stored_pdf_that_downloads_byte_for_byte(
    run: TestRun, engineer: User, reviewer: User, manufacturer_user: User
) -> None:
    decide_everything(run, engineer)
    services.submit_for_review(run, engineer)
    client = Client()
    client.force_login(reviewer)
    response = client.post(reverse("certification:run-publish", args=[run.pk]), follow=True)
    assert "Run approved and published" in response.content.decode()
    run.refresh_from_db()
    report = Report.objects.get(run=run)
    assert (run.status, run.reviewer, report.revision) == ("published", reviewer, 1)
    stored = report.pdf.read()
    assert stored.startswith(b"%PDF") and hashlib.sha256(stored).hexdigest() == report.sha256
    # The published PDF is final: no DRAFT mark, both engineers named, the verification
    # link with the report id.
    text = subprocess.run(
        ["pdftotext", "-raw", "-", "-"], input=stored, capture_output=True, check=True
    ).stdout.decode()
    assert "DRAFT" not in text
    assert str(report.report_id) in text and str(reviewer) in text and str(engineer) in text
    assert f"/verify/{report.report_id}/" in text.replace("\n", "").replace(" ", "")
    assert report.summary["passed"] == 23 and report.overall == "Pass"

    maker = Client()
    maker.force_login(manufacturer_user)
    download = maker.get(reverse("certification:report-pdf", args=[run.pk]))
    assert download.getvalue() == stored  # never re-rendered

    from chargers.api_tokens import create_api_token

    _, token = create_api_token(manufacturer_user)
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    via_api = api.get(f"/api/runs/{run.pk}/report.pdf")
    assert via_api.status_code == 200 and via_api.getvalue() == stored
    assert via_api["X-Report-Id"] == str(report.report_id)


@pytest.mark.django_db(transaction=True)
def test_the_api_previews_a_draft_for_engineers_only(
    run: TestRun, engineer: User, manufacturer_user: User
) -> None:
    from chargers.api_tokens import create_api_token

    engineer_api = Client(HTTP_AUTHORIZATION=f"Token {create_api_token(engineer)[1]}")
    preview = engineer_api.get(f"/api/runs/{run.pk}/report.pdf")
    assert preview.status_code == 200 and preview.content.startswith(b"%PDF")
    assert "inline" in preview["Content-Disposition"]
    maker_api = Client(HTTP_AUTHORIZATION=f"Token {create_api_token(manufacturer_user)[1]}")
    assert maker_api.get(f"/api/runs/{run.pk}/report.pdf").status_code == 404
