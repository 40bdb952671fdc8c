"""Run the portal under Daphne with the settings chargers need, and the FTP server for
diagnostics uploads beside it."""

import subprocess
import sys
from pathlib import Path
from typing import Any

from daphne.cli import CommandLineInterface
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from chargers.services import close_connections_of_dead_workers


class Command(BaseCommand):
    help = "Serve HTTP and websockets (chargers, live pages) with Daphne."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=settings.PORTAL_BIND)
        parser.add_argument("--port", type=int, default=settings.PORTAL_PORT)
        parser.add_argument(
            "--fd", type=int, default=None, help="Serve on an inherited socket descriptor."
        )
        parser.add_argument(
            "--no-ftp", action="store_true", help="Do not start the FTP server (FTP_PORT=0 too)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        argv = [
            # Chargers stay connected for days: never close an idle websocket.
            "--websocket_timeout",
            "-1",
            "--ping-interval",
            str(settings.OCPP_WS_PING_INTERVAL),
            "--ping-timeout",
            str(settings.OCPP_WS_PING_TIMEOUT),
            "--proxy-headers",
        ]
        if options["fd"] is not None:
            argv += ["--fd", str(options["fd"])]
        else:
            argv += ["--bind", options["bind"], "--port", str(options["port"])]
            self.stdout.write(f"Portal: http://{options['bind']}:{options['port']}/")
            self.stdout.write(f"Chargers: ws://{options['bind']}:{options['port']}/ocpp/<id>")
        closed = close_connections_of_dead_workers()
        if closed:
            self.stdout.write(f"Closed {closed} connection(s) left open by stopped workers.")
        module, _, attribute = settings.ASGI_APPLICATION.rpartition(".")
        ftp = None
        if settings.FTP_PORT and not options["no_ftp"]:
            manage = Path(__file__).resolve().parents[3] / "manage.py"
            ftp = subprocess.Popen([sys.executable, str(manage), "ftpserver"])  # noqa: S603
        try:
            CommandLineInterface().run([*argv, f"{module}:{attribute}"])
        finally:
            if ftp is not None:
                ftp.terminate()
                try:
                    ftp.wait(5)
                except subprocess.TimeoutExpired:
                    ftp.kill()
