"""``manage.py run_plan``: play a whole plan on a charge point unattended, in the foreground,
and write the results as JUnit XML and JSON for a CI server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from certification import services, unattended
from certification.models import TestPlan, TestRun
from certification.reports.junit import junit_xml
from chargers.models import ChargePoint, User


class Command(BaseCommand):
    help = (
        "Play a plan unattended on a charge point (a new run, or --run N): each step started, "
        "its faults injected, its bench actions and commands performed, finished and judged. "
        "Exit status 0 when every step passed, 1 when one failed, 2 when it was stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--run", type=int, help="an open run to play")
        target.add_argument("--charge-point", help="chargePointId for a new run")
        parser.add_argument("--user", required=True, help="username the run is played as")
        parser.add_argument("--plan", type=int, help="plan id (default: the default plan)")
        parser.add_argument("--rehearsal", action="store_true", help="a rehearsal, never published")
        parser.add_argument("--strict", action="store_true", help="minor findings fail too")
        parser.add_argument(
            "--steps", default="", help="comma-separated step numbers (default: all)"
        )
        parser.add_argument("--junit", type=Path, help="write the JUnit XML here")
        parser.add_argument("--json", type=Path, help="write the JSON results here")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user {options['user']!r}.")
        run = self._run(options, user)
        try:
            steps = [int(n) for n in options["steps"].split(",") if n.strip()]
        except ValueError:
            raise CommandError("--steps takes numbers separated by commas.") from None
        try:
            queued = unattended.start_unattended(
                run, user, strict=options["strict"], steps=steps or None, background=False
            )
        except unattended.UnattendedError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Unattended run {queued.pk} of run {run.pk}")
        played = unattended.play(queued.pk)
        results = unattended.results(played)
        for step in results["steps"]:
            notes = f" ({'; '.join(step['notes'])})" if step["notes"] else ""
            self.stdout.write(f"{step['number']:>3}. {step['outcome']:<15} {step['title']}{notes}")
        if options["junit"]:
            options["junit"].write_bytes(junit_xml(results))
        if options["json"]:
            options["json"].write_text(json.dumps(results, indent=2))
        summary = results["summary"]
        self.stdout.write(
            f"{played.get_status_display()}: {summary['passed']} passed, {summary['failed']} "
            f"failed, {summary['not_applicable']} N/A, {summary['not_run']} not run"
        )
        if played.status != "passed":
            raise SystemExit(2 if played.status == "stopped" else 1)

    def _run(self, options: dict[str, Any], user: User) -> TestRun:
        if options["run"] is not None:
            run = TestRun.objects.filter(pk=options["run"]).first()
            if run is None:
                raise CommandError(f"No run {options['run']}.")
            return run
        charge_point = ChargePoint.objects.filter(charge_point_id=options["charge_point"]).first()
        if charge_point is None or charge_point.firmware_version is None:
            raise CommandError(
                f"No charge point {options['charge_point']!r} with a registered firmware."
            )
        plan = (
            TestPlan.objects.filter(pk=options["plan"]).first()
            if options["plan"]
            else services.default_plan()
        )
        if plan is None:
            raise CommandError("No such plan (load the default one with manage.py load_demo).")
        return services.create_run(
            charge_point=charge_point,
            plan=plan,
            tester=user,
            firmware_version=charge_point.firmware_version,
            rehearsal=options["rehearsal"],
        )
