"""The FTP server chargers upload diagnostics to (many chargers only speak FTP).

Each diagnostics location has its own user and password (in the URL the portal gives the
charger in GetDiagnostics) and its own empty home directory, so a charger sees nothing of
other runs. A received file is taken into the portal's storage with its size and SHA-256,
recorded as evidence of the running step, and removed from the FTP directory.
"""

from __future__ import annotations

import datetime
import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import close_old_connections
from django.utils import timezone
from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

from chargers import transfers
from chargers.models import TransferLocation

log = logging.getLogger(__name__)


def ftp_root() -> Path:
    root = Path(settings.MEDIA_ROOT) / "ftp-incoming"
    root.mkdir(parents=True, exist_ok=True)
    return root


class LocationAuthorizer(DummyAuthorizer):
    """Users are the diagnostics locations of the database, checked at each login."""

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        close_old_connections()
        location = TransferLocation.objects.filter(
            kind=TransferLocation.Kind.DIAGNOSTICS, ftp_username=username
        ).first()
        if (
            location is None
            or location.is_expired()
            or not secrets.compare_digest(location.ftp_password, password)
        ):
            log.warning("ftp: refused login %r from %s", username, handler.remote_ip)
            raise AuthenticationFailed("Login incorrect.")
        home = ftp_root() / location.token
        home.mkdir(exist_ok=True)
        if self.has_user(username):
            self.remove_user(username)
        # e: change directory, l: list (its own empty home only), w: store files.
        self.add_user(username, "", str(home), perm="elw", msg_login="Diagnostics upload.")

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        # Writing is limited to files directly in the location's home: no subdirectories.
        if perm == "m":
            return False
        return bool(super().has_perm(username, perm, path))


class DiagnosticsHandler(FTPHandler):
    authorizer = LocationAuthorizer()
    banner = "OCPP Certification Portal: diagnostics upload."
    started_at: datetime.datetime | None = None

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        self.started_at = timezone.now()
        return super().ftp_STOR(file, mode)

    def _location(self) -> TransferLocation | None:
        close_old_connections()
        return TransferLocation.objects.filter(
            kind=TransferLocation.Kind.DIAGNOSTICS, ftp_username=self.username
        ).first()

    def on_file_received(self, file: str) -> None:
        location = self._location()
        path = Path(file)
        try:
            if location is None:
                return
            size = path.stat().st_size
            started = self.started_at or timezone.now()
            limit = settings.TRANSFER_MAX_UPLOAD_BYTES
            if size > limit:
                transfers.record_transfer(
                    location,
                    direction="upload",
                    protocol="ftp",
                    started_at=started,
                    finished_at=timezone.now(),
                    status="refused",
                    file_name=path.name,
                    detail=f"{size} bytes is over the limit of {limit}",
                    bytes_transferred=size,
                    remote_address=self.remote_ip,
                )
                return
            with path.open("rb") as handle:
                transfers.store_diagnostics(
                    location,
                    File(handle, name=path.name),
                    file_name=path.name,
                    protocol="ftp",
                    remote_address=f"{self.remote_ip}:{self.remote_port}",
                    started_at=started,
                )
        finally:
            path.unlink(missing_ok=True)

    def on_incomplete_file_received(self, file: str) -> None:
        location = self._location()
        path = Path(file)
        size = path.stat().st_size if path.exists() else 0
        if location is not None:
            transfers.record_transfer(
                location,
                direction="upload",
                protocol="ftp",
                started_at=self.started_at or timezone.now(),
                finished_at=timezone.now(),
                status="cut",
                detail="the connection closed before the end of the file",
                file_name=path.name,
                bytes_transferred=size,
                remote_address=self.remote_ip,
            )
        path.unlink(missing_ok=True)


def passive_ports(spec: str) -> range | None:
    if not spec:
        return None
    low, _, high = spec.partition("-")
    return range(int(low), int(high or low) + 1)


def build_server(host: str, port: int) -> FTPServer:
    handler = DiagnosticsHandler
    handler.passive_ports = passive_ports(settings.FTP_PASSIVE_PORTS)
    handler.permit_foreign_addresses = False
    handler.max_login_attempts = 3
    server = FTPServer((host, port), handler)
    server.max_cons = 256
    server.max_cons_per_ip = 16
    return server


def clear_incoming() -> None:
    """Half-received files of a previous run of the server are not evidence of anything."""
    root = ftp_root()
    for child in root.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            os.unlink(child)
