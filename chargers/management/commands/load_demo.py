from typing import Any

from django.core.management.base import BaseCommand

from chargers.demo import load_demo_catalog


class Command(BaseCommand):
    help = "Load the demo data (the seed report's charger and the demo logins). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = load_demo_catalog()
        self.stdout.write(self.style.SUCCESS("Demo data is loaded."))
        self.stdout.write("Demo logins (a password you changed since stays changed):")
        for login in logins:
            state = "created" if login.created else "already there"
            self.stdout.write(
                f"  {login.role:<24} user {login.username:<10} password {login.password:<15}"
                f" ({state})"
            )
