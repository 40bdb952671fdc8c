"""The FTP server chargers upload diagnostics to (many chargers only speak FTP).

Each diagnostics location has its own user and password (in the URL the portal gives the
charger in GetDiagnostics) and its own empty home directory, so a charger sees nothing of
other runs. The credentials work for one completed upload, and only while the step they
were given in runs (``transfers.upload_refusal``). A received file is taken into the
portal's storage with its size and SHA-256, recorded as evidence of the running step, and
removed from the FTP directory once that is committed; an upload passing
``TRANSFER_MAX_UPLOAD_BYTES`` is cut there and then, its partial file removed and the refusal
recorded. A database that refuses the record (locked by the portal's evidence writer, or
down) is retried; a file it never takes is kept in ``diagnostics-unrecorded/`` with a note,
shown on the step and on the connected charge points page.
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
from django.db import close_old_connections
from django.utils import timezone
from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
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
        if location is None or not secrets.compare_digest(location.ftp_password, password):
            log.warning("ftp: refused login %r from %s", username, handler.remote_ip)
            raise AuthenticationFailed("Login incorrect.")
        refusal = transfers.upload_refusal(location)
        if refusal is not None:
            log.warning("ftp: refused login %r from %s: %s", username, handler.remote_ip, refusal)
            raise AuthenticationFailed(f"Login refused: {refusal}.")
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


class LimitedDTPHandler(DTPHandler):
    """The data connection of an upload, cut as soon as it passes
    ``TRANSFER_MAX_UPLOAD_BYTES``: at most one read buffer over the limit reaches the disk,
    and the partial file is then removed and the refusal recorded
    (``DiagnosticsHandler.on_incomplete_file_received``)."""

    def handle_read(self) -> None:
        super().handle_read()
        limit = settings.TRANSFER_MAX_UPLOAD_BYTES
        if self.receive and self.tot_bytes_received > limit and not self._closed:
            self.cmd_channel.over_limit = self.tot_bytes_received
            self._resp = (
                f"552 Upload over the limit of {limit} bytes; transfer aborted.",
                log.warning,
            )
            self.close()

    # pyftpdlib's event loop calls this name, bound to DTPHandler's method otherwise.
    handle_read_event = handle_read


class DiagnosticsHandler(FTPHandler):
    authorizer = LocationAuthorizer()
    dtp_handler = LimitedDTPHandler
    banner = "OCPP Certification Portal: diagnostics upload."
    started_at: datetime.datetime | None = None
    over_limit: int | None = None

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        self.started_at = timezone.now()
        self.over_limit = None
        location = self._location()
        refusal = "no such location" if location is None else transfers.upload_refusal(location)
        if refusal is not None:
            # Used up by an upload of this session, or its step finished since the login.
            self.respond(f"550 Upload refused: {refusal}.")
            return None
        return super().ftp_STOR(file, mode)

    def _location(self) -> TransferLocation | None:
        close_old_connections()
        return TransferLocation.objects.filter(
            kind=TransferLocation.Kind.DIAGNOSTICS, ftp_username=self.username
        ).first()

    def on_file_received(self, file: str) -> None:
        """Record the file and take it into storage; the FTP copy goes only once that is
        committed. A write the database refuses is retried (transfers.with_database_retries);
        if every try fails, the file is kept with a note that the step and the connected
        charge points page show, never deleted."""
        path = Path(file)
        try:
            transfers.with_database_retries(
                lambda: self._record_received(path), f"recording the upload {path.name}"
            )
        except Exception as error:
            transfers.keep_unrecorded_upload(
                path, ftp_username=self.username or "", remote_address=self._remote(), error=error
            )
            return
        path.unlink(missing_ok=True)

    def _remote(self) -> str:
        return f"{self.remote_ip}:{self.remote_port}"

    def _record_received(self, path: Path) -> None:
        location = self._location()
        if location is None:
            return
        with path.open("rb") as handle:
            transfers.store_diagnostics(
                location,
                transfers.read_in_chunks(handle),
                file_name=path.name,
                protocol="ftp",
                remote_address=self._remote(),
                started_at=self.started_at or timezone.now(),
                keep_unrecorded=False,  # on_file_received retries from the FTP copy
            )

    def on_incomplete_file_received(self, file: str) -> None:
        path = Path(file)
        size = path.stat().st_size if path.exists() else 0
        path.unlink(missing_ok=True)  # a partial file is evidence of nothing but its size
        finished = timezone.now()
        if self.over_limit is not None:
            limit = settings.TRANSFER_MAX_UPLOAD_BYTES
            status = "refused"
            detail = f"over the limit of {limit} bytes: cut after {self.over_limit}"
            size = self.over_limit
        else:
            status, detail = "cut", "the connection closed before the end of the file"

        def record() -> None:
            location = self._location()
            if location is not None:
                transfers.record_transfer(
                    location,
                    direction="upload",
                    protocol="ftp",
                    started_at=self.started_at or finished,
                    finished_at=finished,
                    status=status,
                    detail=detail,
                    file_name=path.name,
                    bytes_transferred=size,
                    remote_address=self._remote(),
                )

        try:
            transfers.with_database_retries(record, f"recording the cut upload {path.name}")
        except Exception:
            log.exception("ftp: the cut upload %s could not be recorded", path.name)


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
