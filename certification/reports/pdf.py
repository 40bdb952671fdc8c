"""The report of a run as a PDF, rendered by WeasyPrint.

Rendering takes seconds and blocks whatever thread runs it: call :func:`render_pdf` from a
separate process (``certification.reports.worker``), never from the process that serves
chargers.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import segno
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from certification.models import TestRun
from certification.reports.data import ReportData, build_report, evidence_json

# Each step's timeline in the PDF stops after this many frames: laying out thousands of table
# rows takes WeasyPrint minutes, and the complete evidence is attached to the PDF anyway.
PDF_FRAMES_PER_STEP = 25

TEMPLATE = "certification/report_pdf.html"
STYLESHEET = "css/report-pdf.css"


def evidence_file_name(run: TestRun) -> str:
    return f"evidence-run-{run.pk}.json"


def render_pdf(
    run: TestRun,
    *,
    report_id: str,
    verification_url: str | None,
    generated_at: datetime.datetime,
    frames_per_step_limit: int | None = PDF_FRAMES_PER_STEP,
    final: bool = False,
) -> bytes:
    """The report of ``run`` as PDF bytes, with every frame of the run attached as JSON.

    A run that is not published is marked DRAFT on every page, unless ``final``: the PDF
    rendered to be published (the run becomes published once it is stored).
    """
    import weasyprint  # slow to import (about a second): only where a PDF is made

    report = build_report(run, frames_per_step_limit=frames_per_step_limit)
    if final:
        report = dataclasses.replace(
            report,
            header=dataclasses.replace(
                report.header,
                published=True,
                status=TestRun.Status.PUBLISHED,
                status_label=TestRun.Status.PUBLISHED.label,
            ),
        )
    html = render_report_html(
        report,
        report_id=report_id,
        verification_url=verification_url,
        generated_at=generated_at,
        evidence_name=evidence_file_name(run),
    )
    evidence = weasyprint.Attachment(
        string=evidence_json(run, report_id=report_id, generated_at=generated_at),
        name=evidence_file_name(run),
        description=f"Every OCPP frame of run {run.pk}, as captured (report {report_id})",
    )
    stylesheet = _static_file(STYLESHEET)
    document = weasyprint.HTML(string=html, base_url=str(stylesheet.parent))
    return bytes(
        document.write_pdf(
            stylesheets=[weasyprint.CSS(filename=str(stylesheet))],
            attachments=[evidence],
        )
    )


def render_report_html(
    report: ReportData,
    *,
    report_id: str,
    verification_url: str | None,
    generated_at: datetime.datetime,
    evidence_name: str,
) -> str:
    """The HTML that WeasyPrint lays out (also handy to look at in a browser)."""
    return render_to_string(
        TEMPLATE,
        {
            "report": report,
            "report_id": report_id,
            "generated_at": generated_at,
            "verification_url": verification_url,
            "qr_data_uri": qr_data_uri(verification_url) if verification_url else None,
            "draft": not report.header.published,
            "evidence_name": evidence_name,
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


def qr_data_uri(url: str) -> str:
    """A QR code of ``url`` as an SVG data URI (vector: sharp at any print size)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=2, dark="#1d2327"))


def _static_file(name: str) -> Path:
    found = finders.find(name)
    if not found:
        raise FileNotFoundError(f"static file {name} is missing")
    return Path(found if isinstance(found, str) else found[0])
