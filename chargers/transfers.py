"""Files that travel between the portal and the charger under test: firmware images the
charger downloads (UpdateFirmware) and diagnostics it uploads (GetDiagnostics), over HTTP
or FTP, each recorded as evidence of the step that was running."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
import secrets
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.urls import reverse
from django.utils import timezone

from chargers import pki, runs
from chargers.models import ChargePoint, FirmwareImage, FirmwareVersion, Transfer, TransferLocation
from chargers.services import CommandPayloadError

UNREACHABLE_LOCATION = "http://127.0.0.1:9/firmware/unreachable.bin"

log = logging.getLogger(__name__)
T = TypeVar("T")

# Waits between the tries of a write the database refused for being locked or unreachable:
# with SQLite's busy timeout before each failure, about two minutes in all.
WRITE_RETRY_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


class TransferError(ValueError):
    """A file that cannot be taken; the message says why."""


class UploadTooLarge(TransferError):
    """More bytes arrived than the limit allows; raised as soon as they do."""

    def __init__(self, received: int, limit: int) -> None:
        self.received = received
        self.limit = limit
        super().__init__(f"more than the limit of {limit} bytes arrived ({received} so far)")


# Bytes read from a request or a file per step while a file is received.
CHUNK_BYTES = 64 * 1024


class _Spooled(File):
    """A received file in MEDIA_ROOT/incoming: storage moves it instead of copying it."""

    def temporary_file_path(self) -> str:
        return str(self.name)


def receive_file(
    field_file: Any, name: str, chunks: Iterable[bytes], limit: int
) -> tuple[str, int]:
    """Store ``chunks`` as ``name`` in ``field_file`` (a FileField of an unsaved model),
    counting and hashing the bytes as they arrive; returns (SHA-256 hex, size in bytes).

    Memory stays at one chunk whatever the size: the bytes go to a file in
    ``MEDIA_ROOT/incoming`` (the same disk as the storage, so keeping it is a rename).
    Past ``limit`` bytes, UploadTooLarge is raised at once and the partial file removed."""
    incoming = Path(settings.MEDIA_ROOT) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    spool = tempfile.NamedTemporaryFile(dir=incoming, prefix="upload-", delete=False)  # noqa: SIM115
    try:
        with spool:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(size, limit)
                digest.update(chunk)
                spool.write(chunk)
        field_file.save(name, _Spooled(None, spool.name), save=False)
    finally:
        Path(spool.name).unlink(missing_ok=True)
    return digest.hexdigest(), size


def read_in_chunks(stream: Any) -> Iterator[bytes]:
    """A request body or an open file, ``CHUNK_BYTES`` at a time."""
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def safe_file_name(name: str, default: str = "file.bin") -> str:
    """A file name without directories, traversal or odd characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")[:150]
    return base or default


def store_firmware_image(
    firmware_version: FirmwareVersion,
    upload: File,
    *,
    user: Any = None,
    purpose: str = FirmwareImage.Purpose.VALID,
) -> FirmwareImage:
    """Keep an image file of a firmware version, with its size and SHA-256, computed as
    the file is written (TransferError: empty, or over ``TRANSFER_MAX_IMAGE_BYTES``)."""
    name = safe_file_name(upload.name or "", "firmware.bin")
    image = FirmwareImage(
        firmware_version=firmware_version,
        purpose=purpose,
        original_name=name,
        uploaded_by=user,
        uploaded_at=timezone.now(),
    )
    limit = settings.TRANSFER_MAX_IMAGE_BYTES
    upload.seek(0)
    try:
        image.sha256, image.size = receive_file(image.file, name, upload.chunks(), limit)
    except UploadTooLarge:
        raise TransferError(
            f"The file is larger than the limit of {limit // (1024 * 1024)} MiB."
        ) from None
    if image.size == 0:
        image.file.delete(save=False)
        raise TransferError("The file is empty.")
    image.save()
    return image


def corrupt_image_for(firmware_version: FirmwareVersion) -> FirmwareImage:
    """The ready-made image for the installation-failed step: the model's file type (the
    extension and size of its latest real image), garbage content. The transfer succeeds;
    the installation must not."""
    existing = firmware_version.images.filter(purpose=FirmwareImage.Purpose.CORRUPT).first()
    if existing is not None:
        return existing
    model_image = (
        FirmwareImage.objects.filter(
            firmware_version__charger_model=firmware_version.charger_model_id,
            purpose=FirmwareImage.Purpose.VALID,
        )
        .order_by("-uploaded_at")
        .first()
    )
    extension = ".bin"
    size = 64 * 1024
    if model_image is not None:
        suffix = model_image.original_name.rpartition(".")[2]
        extension = f".{suffix}" if "." in model_image.original_name else ".bin"
        size = max(1024, min(model_image.size, 1024 * 1024))
    # Deterministic noise: the same corrupt image every time, obviously not firmware.
    seed = hashlib.sha256(f"corrupt:{firmware_version.pk}".encode()).digest()
    blocks: list[bytes] = []
    while len(blocks) * 32 < size:
        seed = hashlib.sha256(seed).digest()
        blocks.append(seed)
    content = b"".join(blocks)[:size]
    name = f"corrupt-{safe_file_name(firmware_version.version)}{extension}"
    return store_firmware_image(
        firmware_version, ContentFile(content, name=name), purpose=FirmwareImage.Purpose.CORRUPT
    )


def _expiry() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=settings.TRANSFER_LINK_HOURS)


def firmware_location(
    charge_point: ChargePoint, image: FirmwareImage, run: Any = None
) -> TransferLocation:
    """An unguessable, expiring download location of ``image`` for ``charge_point``."""
    return TransferLocation.objects.create(
        kind=TransferLocation.Kind.FIRMWARE,
        token=secrets.token_urlsafe(24),
        charge_point=charge_point,
        run=run,
        image=image,
        created_at=timezone.now(),
        expires_at=_expiry(),
    )


def diagnostics_location(charge_point: ChargePoint, run: Any = None) -> TransferLocation:
    """An upload location (HTTP and FTP) for one upload: it works until a completed upload
    uses it, ``TRANSFER_LINK_HOURS`` pass, or — given for a run — the step attempt that was
    running when it was made finishes or the run stops being the one in progress on the
    charge point (``upload_refusal``)."""
    return TransferLocation.objects.create(
        kind=TransferLocation.Kind.DIAGNOSTICS,
        token=secrets.token_urlsafe(24),
        charge_point=charge_point,
        run=run,
        step_result_id=_running_step(charge_point, run),
        ftp_username=f"diag-{secrets.token_hex(6)}",
        ftp_password=secrets.token_urlsafe(18),
        created_at=timezone.now(),
        expires_at=_expiry(),
    )


def _running_step(charge_point: ChargePoint, run: Any) -> int | None:
    """The step attempt of ``run`` running on ``charge_point`` now, if any."""
    if run is None:
        return None
    attempt = runs.current_attempt(charge_point.pk)
    return attempt.step_result_id if attempt.run_id == run.pk else None


def upload_refusal(location: TransferLocation) -> str | None:
    """Why an upload to ``location`` is refused now, or None: it was used by a completed
    upload, it expired, its run is no longer in progress on the charge point, or the step
    attempt it was given in has finished."""
    if location.used_at is not None:
        return "location already used by a completed upload"
    if location.is_expired():
        return "location expired"
    if location.run_id is not None:
        attempt = runs.current_attempt(location.charge_point_id)
        if attempt.run_id != location.run_id:
            return "the run it was given for is no longer in progress"
        step = location.step_result_id
        if step is not None and attempt.step_result_id != step:
            return "the step it was given in has finished"
    return None


def http_url(location: TransferLocation, base_url: str) -> str:
    if location.kind == TransferLocation.Kind.FIRMWARE:
        assert location.image is not None
        path = reverse(
            "chargers:firmware-download", args=[location.token, location.image.original_name]
        )
    else:
        path = reverse("chargers:diagnostics-upload", args=[location.token])
    return base_url.rstrip("/") + path


def ftp_url(location: TransferLocation) -> str:
    host = settings.FTP_PUBLIC_HOST or (
        urllib.parse.urlsplit(settings.PORTAL_PUBLIC_URL).hostname or "127.0.0.1"
    )
    user = urllib.parse.quote(location.ftp_username)
    password = urllib.parse.quote(location.ftp_password, safe="")
    return f"ftp://{user}:{password}@{host}:{settings.FTP_PORT}/"


def open_location(token: str, kind: str) -> TransferLocation | None:
    return (
        TransferLocation.objects.select_related("image", "charge_point")
        .filter(token=token, kind=kind)
        .first()
    )


def record_transfer(location: TransferLocation | None, **fields: Any) -> Transfer:
    """Store what crossed the wire, attached to the step that was running."""
    charge_point = location.charge_point if location is not None else None
    attempt = runs.current_attempt(charge_point.pk) if charge_point is not None else runs.NO_ATTEMPT
    transfer = Transfer(
        location=location,
        charge_point=charge_point,
        run_id=attempt.run_id,
        step_result_id=attempt.step_result_id,
        **fields,
    )
    transfer.save()
    return transfer


def store_diagnostics(
    location: TransferLocation,
    chunks: Iterable[bytes],
    *,
    file_name: str,
    protocol: str,
    remote_address: str,
    started_at: datetime.datetime,
    keep_unrecorded: bool = True,
) -> Transfer:
    """Receive an uploaded diagnostics file as its bytes arrive, with its size and SHA-256,
    and use the location up. Past ``TRANSFER_MAX_UPLOAD_BYTES`` the reading stops, nothing
    is kept, and the refusal is the evidence (status ``refused``).

    The bytes of an HTTP upload cannot be read twice, so its record is what is retried
    (``with_database_retries``): when the database refuses it on every try, the received
    file is kept with a note and UploadNotRecorded raised. A caller that keeps its own copy
    and retries the whole upload (the FTP server) passes ``keep_unrecorded=False``: the
    stored copy is then removed and the database error raised."""
    name = safe_file_name(file_name, "diagnostics.bin")
    charge_point = location.charge_point
    attempt = runs.current_attempt(charge_point.pk)
    transfer = Transfer(
        location=location,
        charge_point=charge_point,
        run_id=attempt.run_id,
        step_result_id=attempt.step_result_id,
        direction=Transfer.Direction.UPLOAD,
        protocol=protocol,
        started_at=started_at,
        file_name=name,
        remote_address=remote_address,
    )
    limit = settings.TRANSFER_MAX_UPLOAD_BYTES
    try:
        transfer.sha256, transfer.bytes_transferred = receive_file(
            transfer.file, name, chunks, limit
        )
    except UploadTooLarge as error:
        transfer.status = Transfer.Status.REFUSED
        transfer.bytes_transferred = error.received
        transfer.detail = f"over the limit of {limit} bytes: stopped after {error.received}"
    else:
        transfer.status = Transfer.Status.COMPLETED
    transfer.finished_at = timezone.now()

    def write() -> None:
        with transaction.atomic():
            transfer.save()
            if transfer.status == Transfer.Status.COMPLETED:
                TransferLocation.objects.filter(pk=location.pk).update(used_at=transfer.finished_at)

    if not keep_unrecorded:
        try:
            write()
        except Exception:
            if transfer.file:  # the caller keeps its own copy and retries from it
                transfer.file.delete(save=False)
            raise
        return transfer
    try:
        with_database_retries(write, f"recording the upload {name}")
    except (OperationalError, InterfaceError) as error:
        if not transfer.file:
            raise
        kept = keep_unrecorded_upload(
            Path(transfer.file.path),
            ftp_username=location.ftp_username,
            remote_address=remote_address,
            error=error,
            file_name=name,
        )
        raise UploadNotRecorded(kept, error) from error
    return transfer


class UploadNotRecorded(Exception):
    """A received upload whose record the database refused on every try: the file was kept
    with a note (``keep_unrecorded_upload``), which the step console and the connected
    charge points page show until an engineer deals with it."""

    def __init__(self, kept: Path, error: Exception) -> None:
        super().__init__(f"received and kept as {kept.name}, but not recorded: {error}")
        self.kept = kept
        self.error = error


# --- Placeholders in step payloads ----------------------------------------------------------

PLACEHOLDERS = {
    "{firmware:valid}": "the newest image of the model that is not the firmware under test",
    "{firmware:corrupt}": "a corrupt image of the model's file type",
    "{firmware:unreachable}": "a location nothing answers at",
    "{diagnostics:http}": "the run's diagnostics upload location over HTTP",
    "{diagnostics:ftp}": "the run's diagnostics upload location over FTP",
    "{transaction:ongoing}": "the transactionId of the transaction running on the charge "
    "point when the command is sent ({transaction:ongoing:N}: on connector N)",
    "{lab:root}": "the lab root CA certificate (PEM) the portal's TLS port chains to",
    "{firmware:signing-certificate}": "the lab's firmware-signing certificate (PEM)",
    "{firmware:signature}": "the lab's signature (base64) over the {firmware:valid} image",
    "{firmware:bad-signature}": "a well-formed signature that does not match the image",
    "{time:+30s}": "the time the command is sent plus 30 s (also m, h: {time:+1h}), as an "
    "OCPP dateTime in UTC: a reservation's expiryDate",
}
TRANSACTION_PLACEHOLDER = re.compile(r"^\{transaction:ongoing(?::(\d+))?\}$")
TIME_PLACEHOLDER = re.compile(r"^\{time:\+(\d{1,6})([smh])\}$")
TIME_UNITS = {"s": 1, "m": 60, "h": 3600}


class PlaceholderError(CommandPayloadError):
    """A placeholder the run cannot resolve now (no ongoing transaction); says what to do.
    Callers answer it like any payload the charger cannot be sent."""


def is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and (
        value in PLACEHOLDERS
        or TRANSACTION_PLACEHOLDER.match(value) is not None
        or TIME_PLACEHOLDER.match(value) is not None
    )


def placeholder_example(payload: Any) -> Any:
    """The payload with its placeholders replaced by values of the right type, so that a
    plan step's command can be checked against the OCPP 1.6 schema before any run."""
    if isinstance(payload, dict):
        return {key: placeholder_example(value) for key, value in payload.items()}
    if isinstance(payload, list):
        return [placeholder_example(value) for value in payload]
    if isinstance(payload, str) and TRANSACTION_PLACEHOLDER.match(payload):
        return 1
    if isinstance(payload, str) and TIME_PLACEHOLDER.match(payload):
        return "2030-01-01T00:00:00Z"
    return payload


def resolve_placeholders(run: Any, payload: Any, base_url: str) -> Any:
    """Replace the placeholders of a step's default payload with this run's values when the
    command is sent, so that the plan stays data: each run gets its own unguessable,
    expiring links, and `{transaction:ongoing}` the transactionId of the session running
    now. Raises PlaceholderError when there is no such session."""
    if isinstance(payload, dict):
        return {key: resolve_placeholders(run, value, base_url) for key, value in payload.items()}
    if isinstance(payload, list):
        return [resolve_placeholders(run, value, base_url) for value in payload]
    if not is_placeholder(payload):
        return payload
    charge_point = run.charge_point
    time_placeholder = TIME_PLACEHOLDER.match(payload)
    if time_placeholder is not None:
        ahead = int(time_placeholder.group(1)) * TIME_UNITS[time_placeholder.group(2)]
        moment = timezone.now() + datetime.timedelta(seconds=ahead)
        return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    transaction_placeholder = TRANSACTION_PLACEHOLDER.match(payload)
    if transaction_placeholder is not None:
        connector = transaction_placeholder.group(1)
        ongoing = charge_point.ongoing_transaction(int(connector) if connector else None)
        if ongoing is None:
            where = f"connector {connector} of " if connector else ""
            raise PlaceholderError(
                f"{payload}: no transaction is running on {where}{charge_point}; start the "
                "session first."
            )
        return ongoing.pk
    if payload == "{firmware:unreachable}":
        return UNREACHABLE_LOCATION
    if payload in {"{lab:root}", "{firmware:signing-certificate}"}:
        from chargers import security

        if payload == "{lab:root}":
            return security.lab_root_pem()
        return security.firmware_signing().certificate_pem
    if payload in {"{firmware:signature}", "{firmware:bad-signature}"}:
        from chargers import security

        target = target_image(run)
        if target is None:
            return payload  # the console says to upload one first
        with target.file.open("rb") as stored:
            content = stored.read()
        if payload == "{firmware:bad-signature}":
            # Signed by the right key over other bytes: well-formed, and wrong (TC_081).
            content += b"\x00tampered"
        return pki.sign_firmware(content, security.firmware_signing())
    if payload == "{firmware:corrupt}":
        image = corrupt_image_for(run.firmware_version)
        return http_url(firmware_location(charge_point, image, run), base_url)
    if payload == "{firmware:valid}":
        target = target_image(run)
        if target is None:
            return payload  # the console says to upload one first
        return http_url(firmware_location(charge_point, target, run), base_url)
    # HTTP and FTP name the same location within one step attempt, until it is used.
    location = TransferLocation.objects.filter(
        run=run,
        kind=TransferLocation.Kind.DIAGNOSTICS,
        step_result_id=_running_step(charge_point, run),
        used_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).first() or diagnostics_location(charge_point, run)
    return http_url(location, base_url) if payload == "{diagnostics:http}" else ftp_url(location)


def target_image(run: Any) -> FirmwareImage | None:
    """The image step 19 installs: the newest valid image of the run's charger model other
    than the firmware under test (falling back to the firmware under test itself)."""
    images = FirmwareImage.objects.filter(
        firmware_version__charger_model=run.charger_model_id,
        purpose=FirmwareImage.Purpose.VALID,
    ).order_by("-uploaded_at")
    return images.exclude(firmware_version=run.firmware_version_id).first() or images.first()


# --- Nothing lost to a locked database --------------------------------------------------------


def with_database_retries(write: Callable[[], T], what: str) -> T:
    """Run ``write`` (one transaction), and again after a pause when the database refused it
    as locked or unreachable (OperationalError, InterfaceError): a second process writing
    the evidence must not cost a charger's upload. Raises the last error when every try
    failed."""
    for attempt, delay in enumerate((*WRITE_RETRY_DELAYS, None), start=1):
        try:
            return write()
        except (OperationalError, InterfaceError) as error:
            if delay is None:
                raise
            log.warning(
                "transfers: %s failed (%s), try %d; retrying in %.2f s", what, error, attempt, delay
            )
            if not connection.in_atomic_block:  # a broken connection is reopened
                close_old_connections()
            time.sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises


def unrecorded_root() -> Path:
    """Where an upload the database could not record is kept, beside a note saying why."""
    return Path(settings.MEDIA_ROOT) / "diagnostics-unrecorded"


@dataclass(frozen=True)
class UnrecordedUpload:
    """A received diagnostics file the database refused to record, kept on disk."""

    path: Path
    file_name: str
    size: int
    sha256: str
    ftp_username: str
    remote_address: str
    received_at: datetime.datetime
    error: str
    location: TransferLocation | None = None

    @property
    def run_id(self) -> int | None:
        return self.location.run_id if self.location is not None else None


def keep_unrecorded_upload(
    path: Path,
    *,
    ftp_username: str,
    remote_address: str,
    error: Exception,
    file_name: str = "",
) -> Path:
    """Move a received file that could not be recorded (out of the FTP directory, or a
    temporary file of an HTTP upload) to ``unrecorded_root``, with a JSON note beside it
    (what, from where, when, why). ``ftp_username`` names the location. The pages list these
    notes (unrecorded_uploads) until an engineer deals with the file."""
    folder = unrecorded_root() / safe_file_name(ftp_username, "unknown")
    folder.mkdir(parents=True, exist_ok=True)
    received = timezone.now()
    stamp = received.strftime("%Y%m%dT%H%M%S%fZ")
    file_name = file_name or path.name
    kept = folder / f"{stamp}-{safe_file_name(file_name, 'diagnostics.bin')}"
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    size = path.stat().st_size
    shutil.move(str(path), kept)
    note = {
        "file_name": file_name,
        "size": size,
        "sha256": digest.hexdigest(),
        "ftp_username": ftp_username,
        "remote_address": remote_address,
        "received_at": received.isoformat(),
        "error": f"{type(error).__name__}: {error}"[:500],
    }
    kept.with_name(kept.name + ".json").write_text(json.dumps(note, indent=2))
    log.error(
        "transfers: diagnostics upload %s from %s could not be recorded (%s); kept as %s",
        file_name,
        remote_address,
        note["error"],
        kept,
    )
    return kept


def unrecorded_uploads(run_id: int | None = None) -> list[UnrecordedUpload]:
    """The kept uploads, newest first; with ``run_id`` only those of that run's locations."""
    root = unrecorded_root()
    if not root.is_dir():
        return []
    uploads = []
    for note_path in root.glob("*/*.json"):
        try:
            note = json.loads(note_path.read_text())
            received = datetime.datetime.fromisoformat(note["received_at"])
        except (OSError, ValueError, KeyError):
            continue
        uploads.append(
            UnrecordedUpload(
                path=note_path.with_name(note_path.name.removesuffix(".json")),
                file_name=str(note.get("file_name", "")),
                size=int(note.get("size", 0)),
                sha256=str(note.get("sha256", "")),
                ftp_username=str(note.get("ftp_username", "")),
                remote_address=str(note.get("remote_address", "")),
                received_at=received,
                error=str(note.get("error", "")),
            )
        )
    locations = {
        location.ftp_username: location
        for location in TransferLocation.objects.filter(
            ftp_username__in={upload.ftp_username for upload in uploads}
        ).select_related("charge_point")
    }
    uploads = [
        UnrecordedUpload(**{**upload.__dict__, "location": locations.get(upload.ftp_username)})
        for upload in uploads
    ]
    if run_id is not None:
        uploads = [upload for upload in uploads if upload.run_id == run_id]
    return sorted(uploads, key=lambda upload: upload.received_at, reverse=True)
