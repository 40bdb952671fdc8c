"""Render the report PDF of a run into a file (the worker behind the portal's PDF views)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from certification.models import TestRun
from certification.reports.pdf import render_pdf


class Command(BaseCommand):
    help = "Render the report of a test run as a PDF file, with its evidence attached."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_id", type=int)
        parser.add_argument("--report-id", required=True, help="Printed in every page's footer")
        parser.add_argument("--verification-url", help="Printed with its QR code when given")
        parser.add_argument(
            "--generated-at", help="ISO 8601 time printed as the generation time (default: now)"
        )
        parser.add_argument("--output", required=True, type=Path, help="The PDF file to write")
        parser.add_argument(
            "--final",
            action="store_true",
            help="Render for publication: no DRAFT marks although the run is still in review",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = TestRun.objects.get(pk=options["run_id"])
        except TestRun.DoesNotExist:
            raise CommandError(f"There is no run {options['run_id']}.") from None
        generated_at = self._moment(options["generated_at"])
        pdf = render_pdf(
            run,
            report_id=options["report_id"],
            verification_url=options["verification_url"] or None,
            generated_at=generated_at,
            final=options["final"],
        )
        output: Path = options["output"]
        # Written beside the target and renamed: a reader never sees half a PDF.
        partial = output.with_name(output.name + ".part")
        partial.write_bytes(pdf)
        partial.replace(output)
        self.stdout.write(f"{output}: {len(pdf)} bytes")

    @staticmethod
    def _moment(value: str | None) -> datetime.datetime:
        if not value:
            return timezone.now()
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--generated-at {value!r} is not an ISO 8601 time.") from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, datetime.UTC)
        return moment
