"""Everything that writes the central system's state. The consumer, the views, the API and
the management commands call these functions; none of them saves such rows on its own."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime
import functools
import logging
import os
import secrets
import socket
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, _validate_payload

from chargers import faults, runs, security
from chargers.channel_layer import database_key
from chargers.models import (
    STORED_IDENTITY,
    CapabilityDeclaration,
    ChargePoint,
    Command,
    Connection,
    ConnectionEvent,
    Connector,
    FirmwareVersion,
    Frame,
    IdTag,
    InjectedFault,
    Transaction,
    User,
)


class AuthorizationKeyHasher(PBKDF2PasswordHasher):
    """AuthorizationKeys are checked at every (re)connect of every charger: a lighter work
    factor than login passwords keeps a reconnect storm of hundreds of chargers cheap, while
    the stored value is still a salted, stretched hash."""

    algorithm = "ocpp_pbkdf2_sha256"
    iterations = 20_000


_hasher = AuthorizationKeyHasher()


def hash_authorization_key(key: str) -> str:
    return _hasher.encode(key, _hasher.salt())


def generate_authorization_key() -> str:
    """A key for security profile 1: 32 characters, within OCPP's 16..40."""
    return secrets.token_urlsafe(24)


@transaction.atomic
def create_charge_point(
    charge_point_id: str,
    *,
    authorization_key: str | None = None,
    no_auth: bool = False,
    **fields: Any,
) -> tuple[ChargePoint, str | None]:
    """Create an identity. Returns it and the AuthorizationKey in clear, which is shown once
    and never stored (None for security profile 0)."""
    charge_point = ChargePoint(charge_point_id=charge_point_id, **fields)
    key: str | None = None
    if no_auth:
        charge_point.security_profile = ChargePoint.SecurityProfile.NONE
    else:
        charge_point.security_profile = ChargePoint.SecurityProfile.BASIC
        key = authorization_key or generate_authorization_key()
        charge_point.auth_key_hash = hash_authorization_key(key)
    charge_point.full_clean()
    charge_point.save()
    return charge_point, key


def rotate_authorization_key(charge_point: ChargePoint, key: str | None = None) -> str:
    """Give the identity a new AuthorizationKey (security profile 1 from now on)."""
    key = key or generate_authorization_key()
    charge_point.auth_key_hash = hash_authorization_key(key)
    charge_point.security_profile = ChargePoint.SecurityProfile.BASIC
    charge_point.save(update_fields=["auth_key_hash", "security_profile", "updated_at"])
    return key


@dataclass(frozen=True)
class AuthResult:
    charge_point: ChargePoint | None
    refused: str | None = None


def authenticate_charge_point(
    identity: str,
    authorization: bytes | None,
    remote_address: str = "",
    *,
    tls: dict[str, Any] | None = None,
    scheme: str = "ws",
) -> AuthResult:
    """Decide whether a websocket handshake for ``identity`` may be upgraded.

    An (identity, address) pair or an address with too many recent refusals is refused
    first, before its key is hashed: see refusal_throttle. An unknown identity costs the
    same key hash as a known one, so that registered identities cannot be told by timing.
    ``tls`` is the handshake of a wss:// connection (chargers.ocpp.tls.handshake_evidence;
    None for ws://) and ``scheme`` the scope's (``"wss"`` behind a trusted TLS proxy): what
    the identity's security profile demands of them is chargers.security.transport_refusal.
    Profiles 1 and 2 then check the AuthorizationKey; profile 3 authenticates by its
    certificate alone."""
    if throttled := refusal_throttle(identity, remote_address):
        return AuthResult(None, throttled)
    user, key, malformed = _basic_credentials(authorization, identity)
    charge_point = (
        ChargePoint.objects.select_related("charger_model").filter(charge_point_id=identity).first()
        if STORED_IDENTITY.fullmatch(identity)
        else None
    )
    if charge_point is None or not charge_point.enabled:
        _hasher.verify(key, _DUMMY_KEY_HASH)
        if charge_point is None:
            return AuthResult(None, "unknown chargePointId")
        return AuthResult(charge_point, "identity is disabled")
    if refused := security.transport_refusal(charge_point, tls, scheme):
        return AuthResult(charge_point, refused)
    if charge_point.uses_basic_auth():
        if malformed:
            if not authorization:
                malformed = (
                    f"no HTTP Basic credentials (security profile {charge_point.security_profile})"
                )
            return AuthResult(charge_point, malformed)
        if user != identity:
            return AuthResult(charge_point, f"Basic user {user!r} differs from the chargePointId")
        if not _hasher.verify(key, charge_point.auth_key_hash):
            return AuthResult(charge_point, "wrong AuthorizationKey")
    # The charger itself, once authenticated, refused on purpose during an injected
    # disconnect's window (chargers.faults).
    if refused := fault_refusal(charge_point):
        return AuthResult(charge_point, refused)
    return AuthResult(charge_point)


# Verified against when the identity is unknown or disabled: the same work as a real key.
_DUMMY_KEY_HASH = hash_authorization_key(secrets.token_urlsafe(24))


def _basic_credentials(authorization: bytes | None, identity: str) -> tuple[str, str, str]:
    """(user, key, why they are unusable or "") of an ``Authorization`` header."""
    if not authorization:
        return "", "", "no HTTP Basic credentials (security profile 1)"
    scheme, _, encoded = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return "", "", f"authorization scheme {scheme!r} is not Basic"
    try:
        credentials = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", "", "malformed HTTP Basic credentials"
    if ":" in identity and credentials.startswith(f"{identity}:"):
        # An identity stored before ':' was refused (validate_charge_point_id): RFC 7617
        # ends the user-id at the first ':', so its credentials are matched as a whole.
        return identity, credentials[len(identity) + 1 :], ""
    user, _, key = credentials.partition(":")
    return user, key, ""


def _run_context(charge_point: ChargePoint | None) -> dict[str, int | None]:
    """The run and step attempt a connection event of this charge point belongs to."""
    if charge_point is None:
        return {"run_id": None, "step_result_id": None}
    attempt = runs.current_attempt(charge_point.pk)
    return {"run_id": attempt.run_id, "step_result_id": attempt.step_result_id}


def record_refusal(
    identity: str,
    reason: str,
    remote_address: str = "",
    tls: dict[str, Any] | None = None,
    at: datetime.datetime | None = None,
) -> None:
    """Record a refused handshake, aggregated: one ConnectionEvent per identity, client
    host and reason per ``OCPP_THROTTLE_WINDOW``, its ``count`` raised by each further
    refusal and ``last_at`` set to the latest (``at`` stays the first). A flood of refused
    handshakes (500 in 3.4 s were 500 rows) is a few rows. The identity is stored with its
    control characters escaped (``stored_identity``). ``tls``: the handshake of a wss://
    connection, kept with the first refusal of a row. ``at``: when the handshake arrived
    (default now; the consumer passes the time it took before any await)."""
    now = at or timezone.now()
    identity = stored_identity(identity)
    host = client_host(remote_address)
    reason = reason[:300]
    window_start = now - datetime.timedelta(seconds=max(settings.OCPP_THROTTLE_WINDOW, 1))
    same = ConnectionEvent.objects.filter(
        kind=ConnectionEvent.Kind.REFUSED,
        charge_point_identity=identity,
        remote_address=host,
        detail=reason,
        at__gte=window_start,
    )
    latest = same.order_by("-at").values_list("pk", flat=True).first()
    # A refusal of an injected disconnect is the test itself: the judge measures the
    # charger's reconnect attempts one by one, so the first ones are rows of their own.
    each_own_row = reason.startswith(FAULT_REFUSAL) and same.count() < FAULT_REFUSALS_KEPT_APART
    if (
        latest is not None
        and not each_own_row
        and ConnectionEvent.objects.filter(pk=latest).update(count=F("count") + 1, last_at=now)
    ):
        return
    charge_point = (
        ChargePoint.objects.filter(charge_point_id=identity).first()
        if STORED_IDENTITY.fullmatch(identity)
        else None
    )
    ConnectionEvent.objects.create(
        tls=tls,
        **_run_context(charge_point),
        charge_point=charge_point,
        charge_point_identity=identity,
        at=now,
        last_at=now,
        kind=ConnectionEvent.Kind.REFUSED,
        detail=reason,
        remote_address=host,
    )


def stored_identity(identity: str) -> str:
    """A chargePointId as presented in the URL, fit to store and show: a backslash and
    every control character (NUL included, which PostgreSQL cannot store and spreadsheets
    refuse) written as ``\\xNN`` escapes, cut to 200 characters. Legal identities are
    unchanged."""
    escaped = "".join(
        f"\\x{ord(c):02x}" if c == "\\" or unicodedata.category(c) == "Cc" else c for c in identity
    )
    return escaped[:200]


def client_host(remote_address: str) -> str:
    """The host of a "host:port" remote address (IPv6 hosts keep their colons)."""
    return remote_address.rpartition(":")[0] if ":" in remote_address else remote_address


@transaction.atomic
def open_connection(
    charge_point: ChargePoint,
    *,
    remote_address: str,
    subprotocol: str,
    worker: str,
    tls: dict[str, Any] | None = None,
    at: datetime.datetime | None = None,
) -> Connection:
    """Record an accepted connection; ``tls`` (the handshake of a wss:// connection) is
    kept on its connected event, and named in the event's detail. ``at``: when the
    handshake arrived (default now)."""
    now = at or timezone.now()
    # A charger has one connection: any other still recorded as open (its worker is
    # replacing it right now, or died without a word) is over.
    for previous in Connection.objects.filter(
        charge_point=charge_point, closed_at__isnull=True
    ).values_list("pk", flat=True):
        close_connection(previous, close_code=None, replaced=True, at=now)
    connection = Connection.objects.create(
        charge_point=charge_point,
        opened_at=now,
        remote_address=remote_address,
        subprotocol=subprotocol,
        worker=worker,
        database_key=database_key(),
    )
    detail = f"subprotocol {subprotocol}" if subprotocol else "no acceptable subprotocol offered"
    if tls is not None:
        detail = f"{describe_tls(tls)}; {detail}"
    ConnectionEvent.objects.create(
        tls=tls,
        **_run_context(charge_point),
        charge_point=charge_point,
        charge_point_identity=charge_point.charge_point_id,
        connection=connection,
        at=now,
        kind=ConnectionEvent.Kind.CONNECTED,
        detail=detail[:300],
        remote_address=remote_address,
    )
    return connection


def describe_tls(tls: dict[str, Any]) -> str:
    """One line of a TLS handshake for an event's detail: version, cipher, SNI, the client
    certificate's subject, and a server certificate fault the charger accepted."""
    parts = [f"{tls.get('version') or 'TLS'} {tls.get('cipher') or ''}".strip()]
    if tls.get("server_name"):
        parts.append(f"SNI {tls['server_name']}")
    client = tls.get("client_certificate")
    parts.append(f"client certificate {client['subject']}" if client else "no client certificate")
    if tls.get("fault"):
        parts.append(f"the charger ACCEPTED the faulty server certificate ({tls['fault']})")
    return ", ".join(parts)


@transaction.atomic
def close_connection(
    connection_id: int,
    *,
    close_code: int | None,
    replaced: bool = False,
    detail: str = "",
    at: datetime.datetime | None = None,
) -> None:
    """Record the end of a connection; ``at``: when it closed (default now)."""
    connection = Connection.objects.select_related("charge_point").get(pk=connection_id)
    if connection.closed_at is not None:
        return
    now = at or timezone.now()
    connection.closed_at = now
    connection.close_code = close_code
    connection.save(update_fields=["closed_at", "close_code"])
    kind = ConnectionEvent.Kind.REPLACED if replaced else ConnectionEvent.Kind.CLOSED
    if replaced and not detail:
        detail = "replaced by a newer connection of the same identity"
    ConnectionEvent.objects.create(
        **_run_context(connection.charge_point),
        charge_point=connection.charge_point,
        charge_point_identity=connection.charge_point.charge_point_id,
        connection=connection,
        at=now,
        kind=kind,
        detail=detail[:300],
        close_code=close_code,
        remote_address=connection.remote_address,
    )


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def close_connections_of_dead_workers(host: str | None = None) -> int:
    """Close the connections that a worker process of this host recorded as open and that
    no longer runs (killed, crashed): otherwise the portal would show their chargers
    connected and wait a whole response timeout on every command. Run when a worker
    starts (``manage.py serve``)."""
    host = host or socket.gethostname()
    count = 0
    for connection_id, worker in Connection.objects.filter(
        closed_at__isnull=True, worker__startswith=f"{host}:"
    ).values_list("pk", "worker"):
        pid = worker.rpartition(":")[2]
        if pid.isdigit() and not _process_alive(int(pid)):
            close_connection(
                connection_id,
                close_code=None,
                detail=f"the worker process {worker} that held it stopped",
            )
            count += 1
    return count


def close_connections_of_other_databases() -> int:
    """Close the open connections that workers of another database recorded: in a copy of
    the database restored from a dump, every open row belongs to the original's chargers,
    which this portal cannot reach (its channel layer is its own,
    ``chargers.channel_layer``). Without this, the copy would show them connected and
    wait a response timeout on every command. Run when a worker starts (``manage.py
    serve``)."""
    key = database_key()
    count = 0
    for connection_id, worker in (
        Connection.objects.filter(closed_at__isnull=True)
        .exclude(database_key=key)
        .values_list("pk", "worker")
    ):
        close_connection(
            connection_id,
            close_code=None,
            detail=f"opened by {worker or 'a worker'} of another database (a restored copy)",
        )
        count += 1
    return count


def is_connected(charge_point: ChargePoint) -> bool:
    return charge_point.connections.filter(closed_at__isnull=True).exists()


# --- Answers of the central system --------------------------------------------------------


def record_boot(charge_point_id: int, payload: dict[str, Any]) -> tuple[str, int]:
    """Remember what the charger reported; return the configured (status, interval)."""
    charge_point = ChargePoint.objects.get(pk=charge_point_id)
    charge_point.reported_vendor = payload.get("chargePointVendor", "")[:20]
    charge_point.reported_model = payload.get("chargePointModel", "")[:20]
    charge_point.reported_serial = (
        payload.get("chargePointSerialNumber") or payload.get("chargeBoxSerialNumber") or ""
    )[:25]
    charge_point.reported_firmware = payload.get("firmwareVersion", "")[:50]
    charge_point.reported_iccid = payload.get("iccid", "")[:20]
    charge_point.last_boot_at = timezone.now()
    charge_point.save(
        update_fields=[
            "reported_vendor",
            "reported_model",
            "reported_serial",
            "reported_firmware",
            "reported_iccid",
            "last_boot_at",
            "updated_at",
        ]
    )
    return charge_point.boot_answer, charge_point.heartbeat_interval


def data_transfer_answer(charge_point_id: int) -> str:
    return ChargePoint.objects.values_list("data_transfer_answer", flat=True).get(
        pk=charge_point_id
    )


def id_tag_info(charge_point_id: int, id_tag: str) -> dict[str, str]:
    """The idTagInfo for a tag: as configured, Expired past its expiry date, Invalid when
    unknown. idTags are CiString20Type, compared without regard to case (OCPP 1.6 §7)."""
    tag = IdTag.objects.filter(charge_point_id=charge_point_id, id_tag__iexact=id_tag).first()
    if tag is None:
        return {"status": IdTag.Status.INVALID}
    info = tag.id_tag_info()
    if tag.expiry_date and tag.expiry_date < timezone.now():
        info["status"] = IdTag.Status.EXPIRED
    return info


@dataclass(frozen=True)
class StartedTransaction:
    """The StartTransaction answer and what the evidence notes about the request."""

    transaction_id: int
    id_tag_info: dict[str, str]
    notes: tuple[str, ...] = ()


def start_transaction(charge_point_id: int, payload: dict[str, Any]) -> StartedTransaction:
    """Assign a transactionId; a StartTransaction resent (the same connector, idTag, meterStart
    and timestamp) gets the same one.

    ``payload`` as validation.check_call returns it (``timestamp`` a datetime). A transaction
    becomes its connector's current one only when it is ongoing: its idTag was answered
    Accepted (a charger told Invalid stops, OCPP 1.6 §5.11) and no StopTransaction closed it.
    A StartTransaction replayed after its StopTransaction is answered with the same
    transactionId and noted as a replay; it never re-opens the transaction."""
    info = id_tag_info(charge_point_id, payload["idTag"])
    fields = {
        "charge_point_id": charge_point_id,
        "connector_id": payload["connectorId"],
        "id_tag": payload["idTag"],
        "started_at": payload["timestamp"],
        "meter_start": payload["meterStart"],
    }
    defaults = {"reservation_id": payload.get("reservationId"), "id_tag_status": info["status"]}
    with transaction.atomic():
        try:
            with transaction.atomic():
                tx, created = Transaction.objects.get_or_create(**fields, defaults=defaults)
        except IntegrityError:  # the same start raced in from two connections
            tx, created = Transaction.objects.get(**fields), False
        notes: tuple[str, ...] = ()
        if not created and tx.stopped_at is not None:
            notes = (
                f"replay: StartTransaction of transaction {tx.pk}, which StopTransaction "
                f"closed at {tx.stopped_at.isoformat()}; answered with its transactionId, "
                "not re-opened",
            )
        elif not created and tx.id_tag_status != IdTag.Status.ACCEPTED:
            info = {**info, "status": tx.id_tag_status}
        if tx.is_ongoing():
            Connector.objects.filter(
                charge_point_id=charge_point_id, connector_id=payload["connectorId"]
            ).update(current_transaction=tx)
    return StartedTransaction(tx.pk, info, notes)


@dataclass(frozen=True)
class StoppedTransaction:
    """The StopTransaction answer and what the evidence notes about the request."""

    id_tag_info: dict[str, str] | None
    notes: tuple[str, ...] = ()


def stop_transaction(charge_point_id: int, payload: dict[str, Any]) -> StoppedTransaction:
    """Close the transaction once; a resent StopTransaction is acknowledged and counted as a
    repeat, not as a second stop. ``payload`` as validation.check_call returns it.

    A transactionId the central system never gave this charge point stops nothing; it is
    acknowledged (OCPP 1.6 §4.10: the Central System answers every StopTransaction, else the
    charger resends it) and noted (StopTransaction.req: transactionId "as received by the
    StartTransaction.conf")."""
    id_tag = payload.get("idTag")
    notes: tuple[str, ...] = ()
    with transaction.atomic():
        tx = (
            Transaction.objects.select_for_update()
            .filter(charge_point_id=charge_point_id, pk=payload["transactionId"])
            .first()
        )
        if tx is not None:
            if tx.stopped_at is None:
                tx.meter_stop = payload["meterStop"]
                tx.stopped_at = payload["timestamp"]
                tx.stop_reason = payload.get("reason", "Local")
                tx.stop_id_tag = id_tag or ""
                tx.save(update_fields=["meter_stop", "stopped_at", "stop_reason", "stop_id_tag"])
                Connector.objects.filter(current_transaction=tx).update(current_transaction=None)
            else:
                tx.stop_repeats += 1
                tx.save(update_fields=["stop_repeats"])
        else:
            notes = (unknown_transaction_note(payload["transactionId"]) + "; nothing stopped",)
    return StoppedTransaction(id_tag_info(charge_point_id, id_tag) if id_tag else None, notes)


def unknown_transaction_note(transaction_id: int) -> str:
    """The note on a request naming a transactionId the central system did not give."""
    return (
        f"transactionId {transaction_id} is no transaction the central system gave this charge "
        "point (OCPP 1.6: the transactionId is the one received in StartTransaction.conf)"
    )


def transaction_connector(charge_point_id: int, transaction_id: int) -> int | None:
    """The connector of this charge point's transaction ``transaction_id``, or None when
    the central system gave it no such transaction."""
    return (
        Transaction.objects.filter(charge_point_id=charge_point_id, pk=transaction_id)
        .values_list("connector_id", flat=True)
        .first()
    )


def note_frames(connection_id: int, notes: list[tuple[int, str]]) -> None:
    """Give frames already written (by connection and sequence number) their full note."""
    for seq, note in notes:
        Frame.objects.filter(connection_id=connection_id, seq=seq).update(validation_error=note)


_STATUS_COLUMNS = ("status", "error_code", "info", "vendor_error_code", "status_at")


def record_status(charge_point_id: int, payload: dict[str, Any]) -> None:
    """A connector's last status. Runs inside the evidence writer's transaction on the hot
    path (one in five frames of a busy charger), so it is one prepared UPDATE rather than
    a compiled queryset, and an INSERT only the first time a connector reports."""
    status_at = payload.get("timestamp") or timezone.now()
    state = (
        payload["status"],
        payload.get("errorCode", "NoError"),
        payload.get("info", "")[:50],
        payload.get("vendorErrorCode", "")[:50],
    )
    connection.ensure_connection()
    # Straight to the driver: Django's SQLite cursor would rewrite the placeholders each time.
    with (
        connection.wrap_database_errors,
        contextlib.closing(connection.connection.cursor()) as cursor,
    ):
        cursor.execute(
            _update_status_sql(connection.vendor),
            [
                *state,
                connection.ops.adapt_datetimefield_value(status_at),
                charge_point_id,
                payload["connectorId"],
            ],
        )
        updated = cursor.rowcount
    if not updated:
        # A StartTransaction may come before the connector's first status (start_transaction
        # finds no row to point at it): the new row takes the transaction ongoing on it.
        ongoing = next(
            (
                tx
                for tx in Transaction.objects.filter(
                    charge_point_id=charge_point_id,
                    connector_id=payload["connectorId"],
                    stopped_at__isnull=True,
                ).order_by("-pk")
                if tx.is_ongoing()
            ),
            None,
        )
        Connector.objects.create(
            charge_point_id=charge_point_id,
            connector_id=payload["connectorId"],
            current_transaction=ongoing,
            **dict(zip(_STATUS_COLUMNS, (*state, status_at), strict=True)),
        )


@functools.cache
def _update_status_sql(vendor: str) -> str:
    """The UPDATE in the driver's own placeholder style."""
    quote = connection.ops.quote_name
    placeholder = "?" if vendor == "sqlite" else "%s"
    assignments = ", ".join(f"{quote(column)} = {placeholder}" for column in _STATUS_COLUMNS)
    # Names from the model, values as parameters.
    return (
        f"UPDATE {quote(Connector._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE charge_point_id = {placeholder} AND connector_id = {placeholder}"
    )


# --- Commands: CSMS-initiated calls, from any process -------------------------------------

# Every CSMS-initiated OCPP 1.6 call, with a valid example payload that the command forms
# start from (an engineer edits it; the test plan's steps carry their own defaults).
COMMAND_EXAMPLES: dict[str, dict[str, Any]] = {
    "ChangeAvailability": {"connectorId": 1, "type": "Inoperative"},
    "ChangeConfiguration": {"key": "MeterValueSampleInterval", "value": "30"},
    "ClearCache": {},
    "DataTransfer": {"vendorId": "OCPPCertificationPortal", "messageId": "Ping"},
    "GetConfiguration": {},
    "RemoteStartTransaction": {"connectorId": 1, "idTag": "CERT-TAG-1"},
    "RemoteStopTransaction": {"transactionId": 1},
    "Reset": {"type": "Hard"},
    "UnlockConnector": {"connectorId": 1},
    "GetDiagnostics": {"location": "ftp://user:password@127.0.0.1/diagnostics/", "retries": 0},
    "UpdateFirmware": {
        "location": "http://127.0.0.1:8000/firmware/image.bin",
        "retrieveDate": "2026-01-01T00:00:00Z",
        "retries": 0,
    },
    "TriggerMessage": {"requestedMessage": "StatusNotification", "connectorId": 1},
    "SendLocalList": {
        "listVersion": 1,
        "updateType": "Full",
        "localAuthorizationList": [{"idTag": "CERT-TAG-1", "idTagInfo": {"status": "Accepted"}}],
    },
    "GetLocalListVersion": {},
    "ReserveNow": {
        "connectorId": 1,
        "expiryDate": "2030-01-01T00:00:00Z",
        "idTag": "CERT-TAG-1",
        "reservationId": 1,
    },
    "CancelReservation": {"reservationId": 1},
    "SetChargingProfile": {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
            },
        },
    },
    "ClearChargingProfile": {"id": 1},
    "GetCompositeSchedule": {"connectorId": 1, "duration": 3600, "chargingRateUnit": "A"},
    # The security extension (whitepaper edition 3).
    "ExtendedTriggerMessage": {"requestedMessage": "SignChargePointCertificate"},
    "CertificateSigned": {"certificateChain": "-----BEGIN CERTIFICATE-----\n..."},
    "InstallCertificate": {
        "certificateType": "CentralSystemRootCertificate",
        "certificate": "-----BEGIN CERTIFICATE-----\n...",
    },
    "GetInstalledCertificateIds": {"certificateType": "CentralSystemRootCertificate"},
    "DeleteCertificate": {
        "certificateHashData": {
            "hashAlgorithm": "SHA256",
            "issuerNameHash": "0" * 64,
            "issuerKeyHash": "0" * 64,
            "serialNumber": "1",
        }
    },
    "GetLog": {
        "logType": "SecurityLog",
        "requestId": 1,
        "log": {"remoteLocation": "ftp://user:password@127.0.0.1/diagnostics/"},
    },
    "SignedUpdateFirmware": {
        "requestId": 1,
        "firmware": {
            "location": "http://127.0.0.1:8000/firmware/image.bin",
            "retrieveDateTime": "2026-01-01T00:00:00Z",
            "signingCertificate": "-----BEGIN CERTIFICATE-----\n...",
            "signature": "MEUCIQ...",
        },
    },
}
CSMS_ACTIONS = tuple(COMMAND_EXAMPLES)


class CommandPayloadError(ValueError):
    """The payload does not match the action's OCPP 1.6 schema."""


def validate_command(action: str, payload: Any) -> None:
    """Raise CommandPayloadError with a sentence an engineer can act on."""
    if action not in CSMS_ACTIONS:
        raise CommandPayloadError(f"{action} is not a command a central system sends.")
    if not isinstance(payload, dict):
        raise CommandPayloadError("The payload must be a JSON object.")
    try:
        _validate_payload(Call("validation", action, payload), "1.6")
    except OCPPError as error:
        cause = error.details.get("cause") if isinstance(error.details, dict) else None
        raise CommandPayloadError(
            f"{action} payload is not valid OCPP 1.6: {cause or error.description}"
        ) from None


def record_late_answer(command_id: int, outcome: Any) -> None:
    """The answer to a command that had timed out arrived after all: the command shows it
    ("answered after N s"). Runs in the evidence writer's transaction with the answer, which
    may come before or after complete_command stored the timeout."""
    Command.objects.filter(
        pk=command_id, status__in=(Command.Status.PENDING, Command.Status.TIMEOUT)
    ).update(
        status=Command.Status.LATE,
        unique_id=outcome.unique_id,
        answered_at=timezone.now(),
        response=outcome.response,
        error=outcome.error,
        round_trip_ms=outcome.round_trip_ms,
    )


def complete_command(command_id: int, outcome: Any) -> None:
    """Store what became of a command (outcome: central_system.CommandOutcome), and follow
    an accepted change of the charger's security configuration (security.follow_accepted);
    a late answer recorded first is kept."""
    Command.objects.filter(pk=command_id).exclude(status=Command.Status.LATE).update(
        status=outcome.status,
        unique_id=outcome.unique_id,
        response=outcome.response,
        error=outcome.error,
        round_trip_ms=outcome.round_trip_ms,
        answered_at=timezone.now(),
    )
    if outcome.status == Command.Status.ANSWERED:
        security.follow_accepted(Command.objects.select_related("charge_point").get(pk=command_id))


async def _deliver_command(
    command: Command,
    charge_point: ChargePoint,
    action: str,
    payload: dict[str, Any],
    deliberately_invalid: bool,
    evidence_of: runs.Attempt,
) -> None:
    """Hand a stored command to the worker holding the charger and wait for its answer
    (the consumer stores it); a timeout is stored here."""
    layer = get_channel_layer()
    assert layer is not None
    reply_channel = await layer.new_channel()
    await layer.group_send(
        charge_point.group_name(),
        {
            "type": "ocpp.command",
            "command_id": command.pk,
            "action": action,
            "payload": payload,
            "invalid": deliberately_invalid,
            "reply_channel": reply_channel,
            "run_id": evidence_of.run_id,
            "step_result_id": evidence_of.step_result_id,
        },
    )
    try:
        await asyncio.wait_for(layer.receive(reply_channel), settings.OCPP_RESPONSE_TIMEOUT + 5)
    except TimeoutError:
        await database_sync_to_async(_finish_command)(
            command.pk,
            Command.Status.TIMEOUT,
            "no worker answered: the connection may have dropped while the command was sent",
        )


async def send_command_async(
    charge_point: ChargePoint,
    action: str,
    payload: dict[str, Any],
    *,
    requested_by_id: int | None = None,
    deliberately_invalid: bool = False,
    origin: str = Command.Origin.OTHER,
    evidence_of: runs.Attempt | None = None,
) -> Command:
    """Send a CSMS-initiated call to a connected charger, whichever worker holds its
    websocket, and wait for the answer. Always returns the stored Command row.

    The command and its frames are evidence of ``evidence_of`` (the run it was sent through
    and that run's running step attempt); by default of the run holding the charge point
    (chargers.runs.current_attempt), so that a command from the charge point page during a
    run is that run's evidence, its ``origin`` recorded."""
    if not deliberately_invalid:
        validate_command(action, payload)
    await database_sync_to_async(fail_stale_commands)()
    if evidence_of is None:
        evidence_of = await database_sync_to_async(runs.current_attempt)(charge_point.pk)
    command = await database_sync_to_async(Command.objects.create)(
        charge_point=charge_point,
        action=action,
        payload=payload,
        deliberately_invalid=deliberately_invalid,
        requested_by_id=requested_by_id,
        requested_at=timezone.now(),
        origin=origin,
        run_id=evidence_of.run_id,
        step_result_id=evidence_of.step_result_id,
    )
    if not await database_sync_to_async(is_connected)(charge_point):
        await database_sync_to_async(_finish_command)(
            command.pk, Command.Status.NOT_CONNECTED, f"{charge_point} is not connected"
        )
        return await database_sync_to_async(Command.objects.get)(pk=command.pk)
    try:
        await _deliver_command(
            command, charge_point, action, payload, deliberately_invalid, evidence_of
        )
    except asyncio.CancelledError:
        # The request that sent it went away (the client left, the worker is stopping).
        await asyncio.shield(
            database_sync_to_async(_finish_command)(
                command.pk, Command.Status.FAILED, "the request that sent it was cancelled"
            )
        )
        raise
    except CHANNEL_LAYER_ERRORS as error:
        await database_sync_to_async(_finish_command)(
            command.pk, Command.Status.FAILED, f"the channel layer is unreachable: {error}"
        )
    return await database_sync_to_async(Command.objects.get)(pk=command.pk)


def send_command(
    charge_point: ChargePoint,
    action: str,
    payload: dict[str, Any],
    *,
    requested_by_id: int | None = None,
    deliberately_invalid: bool = False,
    origin: str = Command.Origin.OTHER,
    evidence_of: runs.Attempt | None = None,
) -> Command:
    """Synchronous face of send_command_async, for views and management commands."""
    return async_to_sync(send_command_async)(
        charge_point,
        action,
        payload,
        requested_by_id=requested_by_id,
        deliberately_invalid=deliberately_invalid,
        origin=origin,
        evidence_of=evidence_of,
    )


# What a channel layer raises when its backend (Redis) cannot be reached.
CHANNEL_LAYER_ERRORS: tuple[type[BaseException], ...] = (OSError, redis.RedisError)


def fail_stale_commands() -> int:
    """Fail the commands still pending after any wait for them has ended (their worker
    stopped while waiting): a command always reaches a final state. Run when a worker
    starts and before each new command."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.OCPP_RESPONSE_TIMEOUT + 30)
    return Command.objects.filter(status=Command.Status.PENDING, requested_at__lt=cutoff).update(
        status=Command.Status.FAILED,
        error="no answer was recorded: the worker that sent it stopped while waiting",
        answered_at=timezone.now(),
    )


def _finish_command(command_id: int, status: str, error: str) -> None:
    Command.objects.filter(pk=command_id, status=Command.Status.PENDING).update(
        status=status, error=error, answered_at=timezone.now()
    )


def set_enabled(charge_point: ChargePoint, enabled: bool) -> None:
    """Enable or disable an identity; disabling also closes its live connection."""
    charge_point.enabled = enabled
    charge_point.save(update_fields=["enabled", "updated_at"])
    if not enabled:
        layer = get_channel_layer()
        if layer is not None:
            group_send_from_sync(
                layer,
                charge_point.group_name(),
                {"type": "ocpp.disconnect", "reason": "identity disabled by an engineer"},
            )


# --- Throttling: brute force on AuthorizationKeys ----------------------------------------

log = logging.getLogger(__name__)

THROTTLED = "too many failed attempts"
FAULT_REFUSAL = faults.FAULT_REFUSAL
# Refused reconnects of one injected disconnect recorded apart (with their own times) before
# further ones are counted on the last row, as every other refusal is.
FAULT_REFUSALS_KEPT_APART = 200


def refusal_throttle(identity: str, remote_address: str = "") -> str | None:
    """Refuse a handshake, before its key is hashed, when its (identity, client host) pair
    collected ``OCPP_THROTTLE_FAILURES`` refusals, or its client host
    ``OCPP_THROTTLE_ADDRESS_FAILURES`` (any identity), within ``OCPP_THROTTLE_WINDOW``
    seconds. Returns the reason, or None to go on checking.

    Never per identity alone: anyone could then lock a charger out by failing in its name.
    A charger presenting its key from another host is not refused for someone else's
    failures (hosts behind one NAT address share the address's count).

    The counts are the recorded refusals themselves (aggregated ConnectionEvent rows, see
    record_refusal), so every worker sees the same ones; a row counts while its latest
    refusal is inside the window. A correct key is refused too while throttled: otherwise
    a guesser would only need to tell the two answers apart. Refusals for being throttled
    do not count, so the lock lifts once the failures that caused it leave the window,
    even if the charger keeps retrying. Every port of a host counts."""
    pair_limit = settings.OCPP_THROTTLE_FAILURES
    address_limit = settings.OCPP_THROTTLE_ADDRESS_FAILURES
    host = client_host(remote_address)
    if pair_limit <= 0 and address_limit <= 0:
        return None
    since = timezone.now() - datetime.timedelta(seconds=settings.OCPP_THROTTLE_WINDOW)
    by_pair = Q(charge_point_identity=stored_identity(identity))
    counts = (
        ConnectionEvent.objects.filter(
            kind=ConnectionEvent.Kind.REFUSED, remote_address=host, last_at__gte=since
        )
        .exclude(detail=THROTTLED)
        .exclude(detail__startswith=FAULT_REFUSAL)
        .aggregate(pair=Sum("count", filter=by_pair), address=Sum("count"))
    )
    pair, address = counts["pair"] or 0, counts["address"] or 0
    if 0 < pair_limit <= pair:
        log.warning(
            "ocpp: throttling %r from %s: %d refused handshakes in %d s",
            identity,
            host or "an unknown address",
            pair,
            settings.OCPP_THROTTLE_WINDOW,
        )
        return THROTTLED
    if host and 0 < address_limit <= address:
        log.warning(
            "ocpp: throttling %s (as %r): %d refused handshakes in %d s",
            host,
            identity,
            address,
            settings.OCPP_THROTTLE_WINDOW,
        )
        return THROTTLED
    return None


def group_send_from_sync(layer: Any, group: str, message: dict[str, Any]) -> None:
    """``group_send`` from synchronous code, also when that code runs in a thread whose
    event loop is busy (a test driver's loop, for one), where async_to_sync refuses: then
    the message leaves from a short-lived helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(layer.group_send)(group, message)
        return
    sender = threading.Thread(target=async_to_sync(layer.group_send), args=(group, message))
    sender.start()
    sender.join(10)


async def ask_group(
    layer: Any,
    group: str,
    message: dict[str, Any],
    within: float,
    accept: Callable[[dict[str, Any]], bool] = lambda _reply: True,
) -> bool:
    """``group_send`` ``message`` with a ``reply_channel`` and wait until a member of the
    group answers on it with a reply ``accept`` takes: True when one did within ``within``
    seconds (other replies are read and ignored)."""
    reply_channel = await layer.new_channel()
    await layer.group_send(group, {**message, "reply_channel": reply_channel})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (left := deadline - loop.time()) > 0:
        try:
            reply = await asyncio.wait_for(layer.receive(reply_channel), left)
        except TimeoutError:
            return False
        if accept(reply):
            return True
    return False


def ask_group_from_sync(
    layer: Any,
    group: str,
    message: dict[str, Any],
    timeout: float,
    accept: Callable[[dict[str, Any]], bool] = lambda _reply: True,
) -> bool:
    """``ask_group`` from synchronous code (in a helper thread when this thread's event loop
    is busy, as group_send_from_sync)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return bool(async_to_sync(ask_group)(layer, group, message, timeout, accept))
    answered: list[bool] = []

    def ask() -> None:
        answered.append(async_to_sync(ask_group)(layer, group, message, timeout, accept))

    asker = threading.Thread(target=ask)
    asker.start()
    asker.join(timeout + 10)
    return bool(answered and answered[0])


# --- Faults injected on purpose ------------------------------------------------------------


class FaultError(ValueError):
    """A fault that cannot be injected as asked; the message says why."""


class FaultNotAcknowledged(FaultError):
    """The charger is connected but no worker holding its socket confirmed the fault within
    OCPP_FAULT_ACK_TIMEOUT: the fault was ended unapplied (end_reason NOT_ACKNOWLEDGED)."""


NOT_ACKNOWLEDGED = "not acknowledged by the worker holding the connection"


def inject_fault(
    charge_point: ChargePoint,
    kind: str,
    *,
    action: str = "",
    seconds: float | None = None,
    error_code: str = "",
    boot_status: str = "",
    interval: int | None = None,
    times: int | None = None,
    created_by_id: int | None = None,
) -> InjectedFault:
    """Start a fault on ``charge_point`` (see InjectedFault.Kind) and tell the worker that
    holds its socket, through the channel layer. It belongs to the run and step attempt
    running now, if any.

    ``disconnect``: the connection is closed (close code 4002) and handshakes are refused
    (HTTP 403) for ``seconds``. ``delay``: answers to ``action`` leave ``seconds`` late.
    ``withhold``: answers to ``action`` are not sent. ``call_error``: ``action`` is answered
    with CALLERROR ``error_code``. ``boot_status``: BootNotification is answered
    ``boot_status`` (Pending or Rejected) with ``interval``. ``times`` limits how many answers
    it changes (None: until it is ended, or its step finishes).

    Returns once the fault is in force: when the charger is connected, only after the
    consumer holding its socket (in whichever worker) has applied it and answered on a reply
    channel, so a frame the charger sends afterwards cannot overtake it; when it is not, at
    once (the next connection reads it at connect). Raises FaultError, and its subclass
    FaultNotAcknowledged when no consumer answered within OCPP_FAULT_ACK_TIMEOUT."""
    now = timezone.now()
    fault = InjectedFault(
        charge_point=charge_point,
        kind=kind,
        times=times,
        started_at=now,
        created_by_id=created_by_id,
        **_run_context(charge_point),
    )
    if kind not in InjectedFault.Kind.values:
        raise FaultError(f"{kind!r} is not a fault: use one of {', '.join(InjectedFault.Kind)}.")
    if times is not None and times < 1:
        raise FaultError("times is at least 1 (leave it empty for: until the fault ends).")
    if kind in {InjectedFault.Kind.DISCONNECT, InjectedFault.Kind.DELAY}:
        if seconds is None or not 0 < seconds <= 3600:
            raise FaultError("Say for how many seconds (more than 0, at most 3600).")
        fault.seconds = float(seconds)
    if kind in {InjectedFault.Kind.DELAY, InjectedFault.Kind.WITHHOLD}:
        fault.action = _charger_action(action)
    if kind == InjectedFault.Kind.DISCONNECT:
        fault.ends_at = now + datetime.timedelta(seconds=fault.seconds or 0)
        fault.times = None
    elif kind == InjectedFault.Kind.CALL_ERROR:
        fault.action = _charger_action(action)
        if error_code not in faults.CALL_ERROR_CODES:
            raise FaultError(f"{error_code!r} is not an OCPP-J 1.6 errorCode.")
        fault.error_code = error_code
    elif kind == InjectedFault.Kind.BOOT_STATUS:
        if boot_status not in {"Pending", "Rejected"}:
            raise FaultError("BootNotification is answered Pending or Rejected.")
        if interval is None or not 0 <= interval <= 86_400:
            raise FaultError("Give the interval of the answer in seconds (0 to 86400).")
        fault.action, fault.boot_status, fault.interval = "BootNotification", boot_status, interval
    fault.save()
    layer = get_channel_layer()
    if layer is None:
        return fault
    message: dict[str, Any]
    if kind == InjectedFault.Kind.DISCONNECT:
        message = {
            "type": "ocpp.fault.close",
            "reason": f"injected fault #{fault.pk}: {fault.describe()}",
        }
    else:
        message = {"type": "ocpp.faults", "faults": fault_rules(charge_point.pk)}
    group = charge_point.group_name()
    newest = (
        Connection.objects.filter(charge_point=charge_point, closed_at__isnull=True)
        .order_by("-opened_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if newest is None:
        # No socket: the consumer that accepts the next one joins the group before it reads
        # the active faults (OcppConsumer.connect), so it holds this one from its first frame.
        group_send_from_sync(layer, group, message)
        return fault
    # Acknowledged: the consumer holding the newest socket (not an older one being replaced)
    # applies the fault between two frames and answers; a frame the charger sends after
    # this returns is answered with the fault in force.
    if ask_group_from_sync(
        layer,
        group,
        message,
        settings.OCPP_FAULT_ACK_TIMEOUT,
        accept=lambda reply: reply.get("connection_id") == newest,
    ):
        return fault
    now = timezone.now()
    InjectedFault.objects.filter(pk=fault.pk, ended_at__isnull=True).update(
        ended_at=now, end_reason=NOT_ACKNOWLEDGED
    )
    if kind != InjectedFault.Kind.DISCONNECT:
        _send_fault_rules(layer, charge_point)  # a late consumer drops it again
    raise FaultNotAcknowledged(
        f"Fault #{fault.pk} was not applied: the charger has an open connection but no "
        f"worker holding it confirmed the fault within {settings.OCPP_FAULT_ACK_TIMEOUT:g} s "
        "(a worker stopped, or Redis is slow). The fault is ended; inject it again."
    )


def _charger_action(action: str) -> str:
    if action not in faults.CHARGER_ACTIONS:
        raise FaultError(f"{action!r} is not an action a charge point sends.")
    return action


def end_fault(fault: InjectedFault, reason: str = "ended by an engineer") -> InjectedFault:
    """End a fault now (a refusal window ends early); an ended one stays as it was."""
    now = timezone.now()
    updated = (
        InjectedFault.objects.filter(pk=fault.pk, ended_at__isnull=True)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .update(ended_at=now, end_reason=reason[:120])
    )
    fault.refresh_from_db()
    if updated:
        layer = get_channel_layer()
        if layer is not None:
            _send_fault_rules(layer, fault.charge_point)
    return fault


def end_faults_of_step(step_result_id: int, at: datetime.datetime) -> None:
    """A finished step attempt ends the faults it started (not the refusal windows that
    already ran out)."""
    started = InjectedFault.objects.filter(step_result_id=step_result_id, ended_at__isnull=True)
    changed = started.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
    charge_point_ids = set(changed.values_list("charge_point_id", flat=True))
    changed.update(ended_at=at, end_reason="the step finished")
    layer = get_channel_layer()
    if layer is not None:
        for charge_point in ChargePoint.objects.filter(pk__in=charge_point_ids):
            _send_fault_rules(layer, charge_point)


def active_faults(charge_point_id: int) -> list[InjectedFault]:
    now = timezone.now()
    return list(
        InjectedFault.objects.filter(charge_point_id=charge_point_id, ended_at__isnull=True)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .order_by("started_at", "pk")
    )


def fault_rules(charge_point_id: int) -> list[dict[str, Any]]:
    """The active answer-changing faults of a charge point, as the central system holds them
    (chargers.faults.FaultRule messages)."""
    return [
        faults.FaultRule(
            id=f.pk,
            kind=f.kind,
            action=f.action,
            seconds=f.seconds,
            error_code=f.error_code,
            boot_status=f.boot_status,
            interval=f.interval,
            remaining=None if f.times is None else max(0, f.times - f.applied),
            ends_at=f.ends_at,
        ).as_message()
        for f in active_faults(charge_point_id)
        if f.kind in faults.ANSWER_KINDS
    ]


def _send_fault_rules(layer: Any, charge_point: ChargePoint) -> None:
    group_send_from_sync(
        layer,
        charge_point.group_name(),
        {"type": "ocpp.faults", "faults": fault_rules(charge_point.pk)},
    )


def record_fault_applied(fault_id: int) -> None:
    """The central system changed one more answer because of the fault; a fault for N
    answers ends with the N-th."""
    now = timezone.now()
    with transaction.atomic():
        fault = InjectedFault.objects.select_for_update().filter(pk=fault_id).first()
        if fault is None:
            return
        fault.applied += 1
        fields = ["applied"]
        if fault.times is not None and fault.applied >= fault.times and fault.ended_at is None:
            fault.ended_at, fault.end_reason = now, f"applied {fault.applied} times"
            fields += ["ended_at", "end_reason"]
        fault.save(update_fields=fields)


def fault_refusal(charge_point: ChargePoint) -> str | None:
    """The reason to refuse a handshake of ``charge_point`` while a disconnect fault's
    refusal window is open, else None."""
    fault = (
        InjectedFault.objects.filter(
            charge_point=charge_point,
            kind=InjectedFault.Kind.DISCONNECT,
            ended_at__isnull=True,
            ends_at__gt=timezone.now(),
        )
        .order_by("-ends_at")
        .first()
    )
    if fault is None or fault.ends_at is None:
        return None
    return f"{FAULT_REFUSAL}: reconnects refused until {fault.ends_at:%H:%M:%S} (fault #{fault.pk})"


# --- Capability declarations ---------------------------------------------------------------


class DeclarationError(Exception):
    """A change the declaration's state does not allow; the message says what to do."""


DECLARATION_FIELDS = (
    "feature_profiles",
    "connectors",
    "outlet",
    "current_type",
    "phases",
    "rfid_reader",
    "sim",
    "energy_meter",
    "measurands",
    "firmware_protocols",
    "diagnostics_protocols",
    "firmware_format",
    "offline_behaviour",
    "configuration_keys",
    "notes",
)


@transaction.atomic
def new_declaration(firmware_version: FirmwareVersion, user: User | None) -> CapabilityDeclaration:
    """A new draft version of the firmware's declaration, with the answers of its latest
    version (or of the charger model's catalog entry for a first one). A draft already open
    is returned as it is: there is one draft at a time."""
    latest = (
        CapabilityDeclaration.objects.select_for_update()
        .filter(firmware_version=firmware_version)
        .order_by("-version")
        .first()
    )
    if latest is not None and not latest.is_locked():
        return latest
    declaration = CapabilityDeclaration(
        firmware_version=firmware_version,
        version=(latest.version + 1) if latest is not None else 1,
        created_by=user,
    )
    if latest is not None:
        for name in DECLARATION_FIELDS:
            setattr(declaration, name, getattr(latest, name))
    else:
        model = firmware_version.charger_model
        declaration.connectors = model.connectors
        declaration.outlet = model.outlet
        declaration.current_type = model.current_type
        declaration.feature_profiles = ["Core"]
    declaration.save()
    return declaration


@transaction.atomic
def save_declaration(
    declaration: CapabilityDeclaration, answers: dict[str, Any], user: User | None
) -> CapabilityDeclaration:
    """Store a draft's answers. A locked version never changes: start a new version."""
    declaration = CapabilityDeclaration.objects.select_for_update().get(pk=declaration.pk)
    if declaration.is_locked():
        raise DeclarationError(
            f"{declaration} is locked for runs: start a new version to change it."
        )
    for name, value in answers.items():
        if name not in DECLARATION_FIELDS:
            raise DeclarationError(f"{name!r} is not part of a declaration.")
        setattr(declaration, name, value)
    declaration.created_by = user or declaration.created_by
    declaration.save()
    return declaration


@transaction.atomic
def lock_declaration(declaration: CapabilityDeclaration, user: User) -> CapabilityDeclaration:
    """An engineer has reviewed the draft: freeze it, so that runs can pin it."""
    declaration = CapabilityDeclaration.objects.select_for_update().get(pk=declaration.pk)
    if declaration.is_locked():
        raise DeclarationError(f"{declaration} is already locked.")
    if not declaration.feature_profiles or "Core" not in declaration.feature_profiles:
        raise DeclarationError("Every OCPP 1.6 charge point supports Core: declare it first.")
    declaration.status = CapabilityDeclaration.Status.LOCKED
    declaration.locked_by = user
    declaration.locked_at = timezone.now()
    declaration.save(update_fields=["status", "locked_by", "locked_at", "updated_at"])
    return declaration


def locked_declaration(firmware_version: FirmwareVersion) -> CapabilityDeclaration | None:
    """The newest locked declaration of a firmware version: what a new run pins."""
    return (
        CapabilityDeclaration.objects.filter(
            firmware_version=firmware_version, status=CapabilityDeclaration.Status.LOCKED
        )
        .order_by("-version")
        .first()
    )
