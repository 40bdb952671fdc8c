"""Render a report PDF in a separate process.

WeasyPrint holds a thread for seconds and hundreds of megabytes while it lays out a report;
in the process that serves chargers that stalls the event loop. A short-lived subprocess
(``manage.py render_report``) does the work instead, on the same code, settings and database,
and its memory goes back to the system when it exits.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

RENDER_TIMEOUT_S = 300
STDERR_TAIL_CHARS = 2000


class ReportRenderError(RuntimeError):
    """The worker could not render the report; the message holds the end of its stderr."""


def render_pdf_in_worker(
    run_id: int,
    *,
    report_id: str,
    verification_url: str | None,
    generated_at: datetime.datetime,
    env: Mapping[str, str] | None = None,
    timeout: float = RENDER_TIMEOUT_S,
    final: bool = False,
) -> bytes:
    """The PDF of run ``run_id``, rendered by ``manage.py render_report`` in a subprocess.

    The subprocess inherits this process's environment and reads the database this process
    uses (the same one in production; the test database under pytest); ``env`` adds or
    overrides variables.
    """
    database = {"DATABASE_NAME": str(connection.settings_dict["NAME"])}
    root = Path(settings.BASE_DIR)
    with tempfile.TemporaryDirectory(prefix="report-") as scratch:
        output = Path(scratch) / "report.pdf"
        command = [
            sys.executable,
            str(root / "manage.py"),
            "render_report",
            str(run_id),
            "--report-id",
            report_id,
            "--generated-at",
            generated_at.isoformat(),
            "--output",
            str(output),
        ]
        if verification_url:
            command += ["--verification-url", verification_url]
        if final:
            command.append("--final")
        try:
            completed = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
                command,
                cwd=root,
                env={**os.environ, **database, **(env or {})},
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ReportRenderError(
                f"Rendering the report of run {run_id} took longer than {timeout:g} s; "
                f"the worker was stopped.{_tail(exc.stderr)}"
            ) from None
        if completed.returncode != 0:
            raise ReportRenderError(
                f"Rendering the report of run {run_id} failed "
                f"(exit status {completed.returncode}).{_tail(completed.stderr)}"
            )
        try:
            return output.read_bytes()
        except FileNotFoundError:
            raise ReportRenderError(
                f"The worker exited without writing the report of run {run_id}."
                f"{_tail(completed.stderr)}"
            ) from None


def _tail(stderr: bytes | str | None) -> str:
    if not stderr:
        return ""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    text = text.strip()
    if len(text) > STDERR_TAIL_CHARS:
        text = "…" + text[-STDERR_TAIL_CHARS:]
    return f"\n{text}"


def render_preview_in_worker(run_id: int) -> bytes:
    """A draft preview of run ``run_id`` as it would be published now: no verification link,
    a report id that says it is a preview."""
    generated_at = timezone.now()
    return render_pdf_in_worker(
        run_id,
        report_id=f"PREVIEW-{run_id}-{generated_at:%Y%m%dT%H%M%SZ}",
        verification_url=None,
        generated_at=generated_at,
    )


def preview_file_name(run_id: int) -> str:
    return f"run-{run_id}-report-preview.pdf"
