"""Create a portal account with its role: engineers (who run and review certifications),
administrators, and manufacturer users (who see their own manufacturer's published
reports).

    manage.py add_user wei --role engineer --email wei@lab.example
    manage.py add_user xc-anna --role manufacturer --manufacturer "Xcharge"
    printf '%s' "$PASSWORD" | manage.py add_user ops --role admin --password-stdin

Without ``--password-stdin`` the password is asked for twice on the terminal. Passwords go
through the project's validators (AUTH_PASSWORD_VALIDATORS).
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chargers.models import Manufacturer, User


class Command(BaseCommand):
    help = "Create a portal user with a role (engineer, manufacturer, admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.value for r in User.Role])
        parser.add_argument("--manufacturer", help="a manufacturer user's manufacturer (name)")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user {username!r} exists already.")
        manufacturer = None
        if options["role"] == User.Role.MANUFACTURER:
            if not options["manufacturer"]:
                raise CommandError("A manufacturer user needs --manufacturer NAME.")
            manufacturer = Manufacturer.objects.filter(name=options["manufacturer"]).first()
            if manufacturer is None:
                raise CommandError(f"No manufacturer named {options['manufacturer']!r}.")
        elif options["manufacturer"]:
            raise CommandError("--manufacturer is for manufacturer users only.")
        if options["password_stdin"]:
            password = sys.stdin.read().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise CommandError("The passwords differ.")
        user = User(
            username=username,
            email=options["email"],
            role=options["role"],
            manufacturer=manufacturer,
        )
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        user.set_password(password)
        user.save()
        self.stdout.write(f"Created {user.get_role_display().lower()} {username}.")
