"""Write a plan version as JSON (plan_data.FORMAT), to share it with another lab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from certification import plan_data
from certification.models import TestPlan


class Command(BaseCommand):
    help = "Export a test plan version as JSON (to a file, or to standard output)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("plan_id", type=int, help="The plan version's id (see the plans page)")
        parser.add_argument("--output", type=Path, help="The file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            plan = TestPlan.objects.get(pk=options["plan_id"])
        except TestPlan.DoesNotExist:
            raise CommandError(f"There is no plan {options['plan_id']}.") from None
        text = json.dumps(plan_data.export_plan(plan), indent=2, ensure_ascii=False) + "\n"
        if options["output"] is None:
            self.stdout.write(text, ending="")
        else:
            options["output"].write_text(text, encoding="utf-8")
            self.stderr.write(f"{plan} written to {options['output']}")
