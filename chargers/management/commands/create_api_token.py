"""Make an API token for a user and print it once (it is stored only as a hash)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chargers.api_tokens import create_api_token
from chargers.models import User


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print it (shown once, stored as a hash; it "
        "expires after API_TOKEN_HOURS and dies with a password change)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        instance, token = create_api_token(user)
        self.stdout.write(token)
        self.stderr.write(f"expires {instance.expiry:%Y-%m-%d %H:%M %Z}")
