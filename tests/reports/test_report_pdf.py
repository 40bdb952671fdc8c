"""The report PDF: what a reader sees on its pages, and the evidence attached to it."""

from __future__ import annotations

import datetime
import io
import json
import re
import subprocess

import pytest
from django.db import connection
from pypdf import PdfReader

from certification.models import TestRun
from certification.reports.data import build_report
from certification.reports.pdf import qr_data_uri, render_pdf, render_report_html
from certification.reports.worker import ReportRenderError, render_pdf_in_worker
from tests.reports.sample_run import OUTCOMES, SampleRun

GENERATED = datetime.datetime(2023, 10, 30, 14, 5, 9, tzinfo=datetime.UTC)
VERIFY = "https://portal.example/reports/R-2023-0042/verify"


def pdf_text(pdf: bytes, *, layout: bool = False) -> str:
    """The text of the PDF: in reading order, or laid out as on the page (table rows)."""
    command = ["pdftotext", *(["-layout"] if layout else []), "-", "-"]
    return subprocess.run(command, input=pdf, capture_output=True, check=True).stdout.decode()


def flat(pdf: bytes) -> str:
    return " ".join(pdf_text(pdf).split())


def pages(pdf: bytes) -> list[str]:
    return pdf_text(pdf, layout=True).split("\f")[:-1]


def evidence(pdf: bytes, name: str) -> dict[str, object]:
    attachments = PdfReader(io.BytesIO(pdf)).attachments
    assert list(attachments) == [name]
    return json.loads(attachments[name][0])


@pytest.fixture
def report_pdf(published: SampleRun) -> bytes:
    return render_pdf(
        published.run,
        report_id="R-2023-0042",
        verification_url=VERIFY,
        generated_at=GENERATED,
        frames_per_step_limit=6,
    )


@pytest.mark.django_db
def test_pdf_has_the_seed_reports_header_and_every_step(
    report_pdf: bytes, published: SampleRun
) -> None:
    text = pdf_text(report_pdf)
    first = pages(report_pdf)[0]
    for label, value in [
        ("Manufacturer Name", "Xcharge"),
        ("Hardware model", "C8EU"),
        ("Firmware", "V1.0.0_C8_Standard"),
        ("Tester", "Wei"),
        ("Date", "2023-09-22"),
    ]:
        assert any(label in line and value in line for line in first.splitlines()), label
    assert "XC8EU-0042" in first and "8931440400012345678" in first  # BootNotification
    assert "DRAFT" not in text
    words = flat(report_pdf)
    for step in published.run.plan.steps.all():
        assert step.title in words, step.number
    verdicts = {}
    for line in pdf_text(report_pdf, layout=True).splitlines():
        found = re.match(
            r"\s*(\d+)\s+(Core|Firmware|Remote)\b.*\d{4}-\d\d-\d\d\s+(Y|N|N/A)(\s|$)", line
        )
        if found:
            verdicts[int(found[1])] = found[3]
    expected = {n: "Y" for n in range(1, 24)} | {15: "N/A", 18: "N"}
    assert verdicts == expected


@pytest.mark.django_db
def test_remarks_are_bullets_and_paragraphs(report_pdf: bytes) -> None:
    words = flat(report_pdf)
    assert "• Tested in a WiFi environment." in words
    assert "• Swiping an unauthorized card" in words  # "- " bullets read as bullets too
    assert "- Swiping" not in words and "* Tested" not in words
    assert OUTCOMES[7][2] in words  # a paragraph stays a paragraph
    assert "• MeterValues and Stop" not in words


@pytest.mark.django_db
def test_every_page_has_its_number_report_id_and_generation_time(report_pdf: bytes) -> None:
    all_pages = pages(report_pdf)
    assert len(all_pages) > 3
    for number, page in enumerate(all_pages, start=1):
        assert f"page {number} of {len(all_pages)}" in page
        assert "Report R-2023-0042 · generated 2023-10-30T14:05:09+00:00" in page


@pytest.mark.django_db
def test_verification_address_is_printed_beside_its_qr_code(
    report_pdf: bytes, published: SampleRun
) -> None:
    first_page = pdf_text(report_pdf).split("\f")[0]
    assert f"Verify this report: {VERIFY}" in " ".join(first_page.split()).replace("/ ", "/")
    html = render_report_html(
        build_report(published.run),
        report_id="R",
        verification_url=VERIFY,
        generated_at=GENERATED,
        evidence_name="e.json",
    )
    assert f'<img src="{qr_data_uri(VERIFY)}"' in html
    assert qr_data_uri(VERIFY).startswith("data:image/svg+xml")


@pytest.mark.django_db
def test_appendix_says_where_the_capped_timeline_continues(report_pdf: bytes) -> None:
    words = flat(report_pdf)
    assert "BootNotification.req" in words and "firmwareVersion=V1.0.0_C8_Standard" in words
    assert "First 6 of" in words and "all are in the attached evidence file" in words
    assert "TriggerMessage CALLERROR code=NotImplemented" in words
    assert "invalid: connectorId: -1 is less than the minimum of 0" in words


@pytest.mark.django_db
def test_attached_evidence_holds_every_frame_of_the_run(
    report_pdf: bytes, published: SampleRun
) -> None:
    document = evidence(report_pdf, f"evidence-run-{published.run.pk}.json")
    frames = document["frames"]
    assert isinstance(frames, list)
    assert document["frame_count"] == len(frames) == len(published.frame_ids)
    assert sorted(f["id"] for f in frames) == sorted(published.frame_ids)
    by_id = {f["id"]: f for f in frames}
    earlier = by_id[published.earlier_attempt_frame_ids[-1]]
    assert (earlier["step"], earlier["attempt"]) == (9, 1)
    assert by_id[published.between_steps_frame_ids[0]]["step"] is None
    first = by_id[published.frame_ids[0]]
    assert json.loads(first["raw"])[2] == "BootNotification" == first["action"]
    assert first["captured_at"].endswith(".000000+00:00") and first["direction"] == "in"
    assert document["report_id"] == "R-2023-0042"


@pytest.mark.django_db
def test_a_run_that_is_not_published_is_marked_draft_on_every_page(sample: SampleRun) -> None:
    pdf = render_pdf(sample.run, report_id="P-1", verification_url=None, generated_at=GENERATED)
    for page in pages(pdf):
        assert "DRAFT: run in review, not published" in page
    assert "Verify this report" not in pdf_text(pdf)


@pytest.mark.django_db(transaction=True)
def test_the_worker_renders_in_a_subprocess_on_the_same_database(
    run: TestRun, engineer: object
) -> None:
    from tests.reports.sample_run import build_sample_run

    sample = build_sample_run(run, engineer, frames=60, status=TestRun.Status.PUBLISHED)  # type: ignore[arg-type]
    pdf = render_pdf_in_worker(
        sample.run.pk,
        report_id="W-1",
        verification_url=VERIFY,
        generated_at=GENERATED,
        env={"DATABASE_NAME": str(connection.settings_dict["NAME"])},
    )
    assert pdf.startswith(b"%PDF-")
    assert "Report W-1 · generated 2023-10-30T14:05:09+00:00" in pages(pdf)[0]
    frames = evidence(pdf, f"evidence-run-{sample.run.pk}.json")["frames"]
    assert sorted(f["id"] for f in frames) == sorted(sample.frame_ids)  # type: ignore[attr-defined]


@pytest.mark.django_db(transaction=True)
def test_a_worker_failure_says_why(run: TestRun) -> None:
    with pytest.raises(ReportRenderError, match=r"There is no run 999999"):
        render_pdf_in_worker(
            999999,
            report_id="W-2",
            verification_url=None,
            generated_at=GENERATED,
            env={"DATABASE_NAME": str(connection.settings_dict["NAME"])},
        )


@pytest.mark.django_db
def test_the_results_table_never_breaks_a_profile_name_or_a_moment_inside_a_word(
    report_pdf: bytes,
) -> None:
    words = pdf_text(report_pdf).split()
    # "Firmware Management" may wrap between its words, never as "Managemen" + "t".
    assert "Management" in words
    assert "Managemen" not in words
    # A step's moment wraps only between its date and its time, never before its zone.
    assert [w for w in words if re.fullmatch(r"T\d\d:\d\d:\d\d\+", w)] == []
