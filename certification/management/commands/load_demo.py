from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from certification.demo.catalog import load_demo_catalog


class Command(BaseCommand):
    help = (
        "Load the demo data (the seed report's charger, its published run and the demo logins)."
        " Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--without-seed-run",
            action="store_true",
            help="Only the catalog and the logins (the seed run renders a PDF: seconds).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        demo = load_demo_catalog(seed_run=not options["without_seed_run"])
        self.stdout.write(self.style.SUCCESS("Demo data is loaded."))
        if demo.seed_run is not None:
            seed_run = demo.seed_run.describe()
            self.stdout.write(
                self.style.SUCCESS(seed_run)
                if demo.seed_run.published
                else self.style.WARNING(seed_run)
            )
        self.stdout.write("Demo logins (a password you changed since stays changed):")
        for login in demo.logins:
            state = "created" if login.created else "already there"
            self.stdout.write(
                f"  {login.role:<24} user {login.username:<10} password {login.password:<15}"
                f" ({state})"
            )
