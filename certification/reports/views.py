"""The report of a run on screen, as a draft PDF and as exports.

Every view reaches the run through ``runs_for(request.user)``: what a user may not see is a
404, exactly as on the run pages. Manufacturer users read the report and the exports of their
published runs; the draft PDF preview is for engineers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from certification.models import TestRun
from certification.reports.data import (
    EVIDENCE_FIELDS,
    ReportData,
    build_report,
    evidence_records,
    remarks_as_text,
)
from certification.reports.worker import (
    ReportRenderError,
    preview_file_name,
    render_preview_in_worker,
)
from certification.views import runs_for
from chargers import exports
from chargers.access import can_edit, visible

log = logging.getLogger(__name__)

# The page shows each step's first frames; the evidence exports hold all of them. 50 keeps the
# page under 300 ms with 100,000 frames in a run (bench/pages.py: 200 took 421 ms).
HTML_FRAMES_PER_STEP = 50
# Evidence lines handed to the server per hop to the database thread (ASGI).
STREAM_BATCH = 500

STEP_COLUMNS = ["Step", "OCPP Profile", "Action", "Timestamp", "Pass", "Minor issue", "Remarks"]
STEP_FORMATS = exports.CONTENT_TYPES
EVIDENCE_FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _run(request: HttpRequest, pk: int) -> TestRun:
    return get_object_or_404(runs_for(request.user), pk=pk)


@require_safe
@login_required
def report_html(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    report = build_report(run, frames_per_step_limit=HTML_FRAMES_PER_STEP)
    return render(
        request,
        "certification/report_html.html",
        {
            "run": run,
            "report": report,
            # The stored PDF of the latest revision: what was approved, never re-rendered.
            "published_pdf": visible(run.reports.all(), request.user).order_by("-revision").first(),
            "is_engineer": can_edit(request.user),
            "time_zone": timezone.get_current_timezone_name(),
            "title": f"Report of run {run.pk}",
        },
    )


@require_safe
@login_required
async def report_preview_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF as it would be published now, marked DRAFT unless the run is published.

    Async, so that the seconds of rendering (in a worker process) hold no server thread.
    """
    user = await request.auser()
    run = await sync_to_async(get_object_or_404)(runs_for(user), pk=pk)
    if not can_edit(user):
        raise PermissionDenied
    try:
        pdf = await sync_to_async(render_preview_in_worker, thread_sensitive=False)(run.pk)
    except ReportRenderError:
        log.exception("report preview of run %s", run.pk)
        return HttpResponse(
            "The report could not be rendered; the reason is in the portal's log.",
            status=500,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{preview_file_name(run.pk)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
@login_required
def report_steps_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The step table of the report as a spreadsheet."""
    if fmt not in STEP_FORMATS:
        raise Http404(f"No export as {fmt}.")
    run = _run(request, pk)
    report = build_report(run, frames_per_step_limit=0)
    return exports.spreadsheet_response(
        STEP_COLUMNS,
        _step_rows(report),
        fmt,
        filename=f"run-{run.pk}-steps.{fmt}",
        title=f"Run {run.pk}",
    )


def _step_rows(report: ReportData) -> Iterator[list[Any]]:
    for row in report.steps:
        yield [
            row.number,
            row.profile,
            row.action,
            timezone.localtime(row.timestamp).strftime("%Y-%m-%d %H:%M:%S")
            if row.timestamp
            else "",
            row.pass_label,
            "yes" if row.minor_issue else "",
            remarks_as_text(row.remarks),
        ]


@require_safe
@login_required
def report_evidence_export(request: HttpRequest, pk: int, fmt: str) -> StreamingHttpResponse:
    """Every frame of the run, streamed from the database as it is sent.

    JSONL holds each frame exactly as captured; the CSV is for spreadsheets and goes through
    the one export path (chargers.exports: a cell a spreadsheet would run as a formula is
    prefixed with an apostrophe).
    """
    if fmt not in EVIDENCE_FORMATS:
        raise Http404(f"No export as {fmt}.")
    run = _run(request, pk)
    lines = _jsonl_lines(run) if fmt == "jsonl" else _csv_lines(run)
    response = StreamingHttpResponse(_stream(request, lines), content_type=EVIDENCE_FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-evidence.{fmt}"'
    return response


def _jsonl_lines(run: TestRun) -> Iterator[str]:
    for record in evidence_records(run):
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def _csv_lines(run: TestRun) -> Iterator[str]:
    def rows() -> Iterator[list[Any]]:
        for record in evidence_records(run):
            record["payload"] = (
                json.dumps(record["payload"], ensure_ascii=False, separators=(",", ":"))
                if record["payload"] is not None
                else ""
            )
            yield [record[name] for name in EVIDENCE_FIELDS]

    return exports.csv_lines(EVIDENCE_FIELDS, rows())


def _stream(request: HttpRequest, lines: Iterator[str]) -> Iterable[str] | AsyncIterator[str]:
    """Under ASGI (Daphne), an async iterator: Django would otherwise read a synchronous one
    to the end into memory before sending a byte. Batches of lines are read in the request's
    own database thread, where the query's cursor lives."""
    if not isinstance(request, ASGIRequest):
        return lines

    def batch() -> str:
        return "".join(line for _, line in zip(range(STREAM_BATCH), lines, strict=False))

    async def chunks() -> AsyncIterator[str]:
        while chunk := await sync_to_async(batch)():
            yield chunk

    return chunks()
