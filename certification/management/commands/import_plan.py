"""Read a plan's JSON (plan_data.FORMAT) into a new draft version, optionally publishing it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from certification import plan_data, services


class Command(BaseCommand):
    help = "Import a test plan from JSON as a new draft version (--publish: offer it to runs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="A plan exported by export_plan")
        parser.add_argument(
            "--publish", action="store_true", help="Publish the imported version at once"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            document = json.loads(options["file"].read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(f"Cannot read {options['file']}: {error.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CommandError(f"{options['file']} is not JSON: {error}") from None
        try:
            plan = services.import_plan(document, None)
            if options["publish"]:
                plan = services.publish_plan(plan, None)
        except (plan_data.PlanDataError, services.WorkflowError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{plan} imported ({plan.get_status_display().lower()}), id {plan.pk}")
