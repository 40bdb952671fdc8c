"""The FTP server for diagnostics uploads (started by ``manage.py serve``)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from chargers.ftp import build_server, clear_incoming


class Command(BaseCommand):
    help = "Serve FTP for diagnostics uploads (per-location users, one directory each)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=settings.FTP_BIND)
        parser.add_argument("--port", type=int, default=settings.FTP_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        clear_incoming()
        server = build_server(options["bind"], options["port"])
        self.stdout.write(f"FTP for diagnostics: ftp://{options['bind']}:{options['port']}/")
        try:
            server.serve_forever(handle_exit=True)
        finally:
            server.close_all()
