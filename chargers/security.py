"""Services of the OCPP 1.6 security whitepaper (edition 3): the lab PKI the portal keeps,
what a security profile demands of a connection, the server-side TLS faults of TC_078,
and the certificates chargers ask for or are given.

The consumer, the TLS layer (chargers/ocpp/tls.py), the central system, the views and the
API call these functions; the cryptography itself is in chargers/pki.py.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from cryptography import x509
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from chargers import pki
from chargers.models import (
    ChargePoint,
    ChargerModel,
    Command,
    LabCertificate,
    ManufacturerCertificate,
    TlsFault,
)

log = logging.getLogger(__name__)

Purpose = LabCertificate.Purpose

# --- The lab PKI -------------------------------------------------------------------------


def _store(purpose: str, issued: pki.Issued) -> LabCertificate:
    certificate = issued.certificate()
    row, _ = LabCertificate.objects.update_or_create(
        purpose=purpose,
        defaults={
            "certificate_pem": issued.certificate_pem,
            "private_key_pem": issued.private_key_pem,
            "subject": certificate.subject.rfc4514_string()[:300],
            "sha256": pki.fingerprint(certificate),
            "not_after": certificate.not_valid_after_utc,
            "created_at": timezone.now(),
        },
    )
    return row


def _issued(row: LabCertificate) -> pki.Issued:
    return pki.Issued(row.certificate_pem, row.private_key_pem)


def _host_names(row: LabCertificate) -> list[str]:
    try:
        names = pki.load_certificate(row.certificate_pem).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except x509.ExtensionNotFound:
        return []
    return [str(getattr(name, "value", name)) for name in names.value]


def ensure_lab_pki(host_names: list[str] | None = None) -> dict[str, pki.Issued]:
    """Create what is missing of the lab PKI and return all of it by purpose.

    The root is made once and kept (chargers pin it). The server certificates are issued
    again when the configured host names (``OCPP_TLS_HOST_NAMES``) change or they expire
    within a week; the fault certificates when they are missing. Safe to call from several
    workers at once: a row another worker created first is the one used."""
    host_names = host_names or list(settings.OCPP_TLS_HOST_NAMES)
    try:
        with transaction.atomic():
            return _ensure_lab_pki(host_names)
    except IntegrityError:
        with transaction.atomic():
            return _ensure_lab_pki(host_names)


def _ensure_lab_pki(host_names: list[str]) -> dict[str, pki.Issued]:
    rows = {row.purpose: row for row in LabCertificate.objects.select_for_update()}
    soon = timezone.now() + datetime.timedelta(days=7)

    def fresh(purpose: str) -> bool:
        row = rows.get(purpose)
        return row is not None and row.not_after > soon

    if not fresh(Purpose.ROOT):
        rows[Purpose.ROOT] = _store(Purpose.ROOT, pki.create_root("OCPP Portal Lab Root CA"))
    root = _issued(rows[Purpose.ROOT])
    for purpose, kind in ((Purpose.SERVER_RSA, "rsa"), (Purpose.SERVER_ECDSA, "ecdsa")):
        row = rows.get(purpose)
        if not fresh(purpose) or (row is not None and _host_names(row) != host_names):
            rows[purpose] = _store(purpose, pki.issue_server(root, host_names, kind))
    if not fresh(Purpose.FIRMWARE_SIGNING):
        rows[Purpose.FIRMWARE_SIGNING] = _store(
            Purpose.FIRMWARE_SIGNING, pki.issue_firmware_signing(root, "OCPP Portal Lab Firmware")
        )
    if not fresh(Purpose.UNKNOWN_CA_ROOT):
        rows[Purpose.UNKNOWN_CA_ROOT] = _store(
            Purpose.UNKNOWN_CA_ROOT, pki.create_root("Unknown Test CA (not trusted by chargers)")
        )
    unknown = _issued(rows[Purpose.UNKNOWN_CA_ROOT])
    row = rows.get(Purpose.FAULT_UNKNOWN_CA)
    if not fresh(Purpose.FAULT_UNKNOWN_CA) or (row and _host_names(row) != host_names):
        rows[Purpose.FAULT_UNKNOWN_CA] = _store(
            Purpose.FAULT_UNKNOWN_CA, pki.issue_server(unknown, host_names, "ecdsa")
        )
    row = rows.get(Purpose.FAULT_EXPIRED)
    if row is None or _host_names(row) != host_names:
        now = timezone.now()
        rows[Purpose.FAULT_EXPIRED] = _store(
            Purpose.FAULT_EXPIRED,
            pki.issue_server(
                root,
                host_names,
                "ecdsa",
                valid_from=now - datetime.timedelta(days=30),
                valid_until=now - datetime.timedelta(days=1),
            ),
        )
    if not fresh(Purpose.FAULT_WRONG_HOST):
        rows[Purpose.FAULT_WRONG_HOST] = _store(
            Purpose.FAULT_WRONG_HOST, pki.issue_server(root, ["wrong-host.invalid"], "ecdsa")
        )
    return {purpose: _issued(row) for purpose, row in rows.items()}


def lab_root_pem() -> str:
    """The lab root chargers install (whitepaper 3.1), PEM; created on first use."""
    pem = (
        LabCertificate.objects.filter(purpose=Purpose.ROOT)
        .values_list("certificate_pem", flat=True)
        .first()
    )
    return pem or ensure_lab_pki()[Purpose.ROOT].certificate_pem


def server_material() -> Any:
    """What a worker's TLS port serves (chargers.ocpp.tls.ServerMaterial)."""
    from chargers.ocpp.tls import ServerMaterial

    lab = ensure_lab_pki()
    return ServerMaterial(
        root_pem=lab[Purpose.ROOT].certificate_pem,
        server=[lab[Purpose.SERVER_RSA], lab[Purpose.SERVER_ECDSA]],
        faults={
            TlsFault.Kind.UNKNOWN_CA: [lab[Purpose.FAULT_UNKNOWN_CA]],
            TlsFault.Kind.EXPIRED: [lab[Purpose.FAULT_EXPIRED]],
            TlsFault.Kind.WRONG_HOST: [lab[Purpose.FAULT_WRONG_HOST]],
        },
    )


def _lab(purpose: str) -> pki.Issued:
    row = LabCertificate.objects.filter(purpose=purpose).first()
    if row is None:
        return ensure_lab_pki()[purpose]
    return _issued(row)


def sign_certificate_request(charge_point_id: str, csr: str) -> str:
    """SignCertificate (whitepaper 4.1.7): the lab root signs the charger's CSR, whose
    subject must name it (CN = chargePointId, O = ``OCPP_CPO_NAME`` when set). Returns the
    chain for CertificateSigned; raises pki.CsrRefused."""
    return pki.sign_csr(csr, _lab(Purpose.ROOT), charge_point_id, settings.OCPP_CPO_NAME)


def firmware_signing() -> pki.Issued:
    """The lab's firmware-signing certificate and key (SignedUpdateFirmware)."""
    return _lab(Purpose.FIRMWARE_SIGNING)


def add_manufacturer_ca(
    charger_model: ChargerModel, pem: str, *, uploaded_by: Any = None
) -> ManufacturerCertificate:
    """Trust a manufacturer's CA for the security profile 3 certificates of a model's
    charge points. Raises ValueError for text that is not a CA certificate."""
    try:
        certificate = pki.load_certificate(pem.strip())
    except ValueError as error:
        raise ValueError(f"not a PEM certificate: {error}") from None
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        is_ca = constraints.value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise ValueError("this certificate is not a CA (basicConstraints CA:TRUE missing)")
    row = ManufacturerCertificate(
        charger_model=charger_model,
        certificate_pem=pki.pem(certificate),
        subject=certificate.subject.rfc4514_string()[:300],
        sha256=pki.fingerprint(certificate),
        not_after=certificate.not_valid_after_utc,
        uploaded_by=uploaded_by,
        uploaded_at=timezone.now(),
    )
    row.full_clean()
    row.save()
    return row


def trusted_roots(charge_point: ChargePoint) -> list[x509.Certificate]:
    """The CAs a charge point's client certificate may chain to: the lab root and the CAs
    uploaded for its model."""
    roots = [pki.load_certificate(lab_root_pem())]
    if charge_point.charger_model_id is not None:
        roots += [
            pki.load_certificate(pem)
            for pem in ManufacturerCertificate.objects.filter(
                charger_model_id=charge_point.charger_model_id
            ).values_list("certificate_pem", flat=True)
        ]
    return roots


# --- What a profile demands of a connection ----------------------------------------------


def transport_refusal(
    charge_point: ChargePoint, tls: dict[str, Any] | None, scheme: str = "ws"
) -> str | None:
    """Why this connection does not meet the charge point's security profile, or None.

    - Profiles 2 and 3 connect over TLS only; a plain ws:// connection is refused. Behind a
      TLS-terminating proxy in ``TRUSTED_PROXIES``, ``scheme`` is ``"wss"`` (the ASGI scope's,
      which config.proxy sets from that proxy's ``X-Forwarded-Proto: https`` and from no one
      else's): that counts as TLS for profile 2. Profile 3 needs the portal's own TLS port,
      the only place the client certificate is seen.
    - Profile 3: a client certificate that chains to the lab root or to a CA uploaded for
      the model, valid now, whose subject names the charge point (whitepaper 4.1.3: CN =
      the chargePointId, O = ``OCPP_CPO_NAME`` when set).
    Reasons are worded for the refusal's evidence: ``missing client certificate``,
    ``unknown CA``, ``expired certificate``, ``subject mismatch``."""
    profile = charge_point.security_profile
    if profile < ChargePoint.SecurityProfile.TLS_BASIC:
        return None
    if tls is None:
        if profile == ChargePoint.SecurityProfile.TLS_BASIC and scheme == "wss":
            return None
        return f"security profile {profile} requires TLS (wss://); the charger connected over ws://"
    if profile == ChargePoint.SecurityProfile.TLS_CLIENT_CERTIFICATE:
        chain = tls.get("client_cert_chain") or []
        if not chain:
            return "missing client certificate (security profile 3)"
        leaf, *intermediates = (pki.load_certificate(pem) for pem in chain)
        problem = pki.verify_chain(leaf, intermediates, trusted_roots(charge_point))
        if problem is None:
            problem = pki.subject_mismatch(
                leaf, charge_point.charge_point_id, settings.OCPP_CPO_NAME
            )
        if problem is not None:
            return f"client certificate refused: {problem}"
    return None


def set_security_profile(charge_point: ChargePoint, profile: int) -> None:
    """Change the profile the portal demands of the identity (the lab moves a charger from
    1 to 2 to 3 as TC_083 does). Profiles 1 and 2 need an AuthorizationKey already set."""
    profile = ChargePoint.SecurityProfile(profile)
    charge_point.security_profile = profile
    charge_point.full_clean()
    charge_point.save(update_fields=["security_profile", "updated_at"])


def follow_accepted(command: Command) -> None:
    """When a charger accepts ChangeConfiguration of AuthorizationKey or SecurityProfile
    (whitepaper 2.2 and 2.4; TC_073, TC_083), the portal expects the new setting from its
    next connection on: the new key's hash is stored, the new profile demanded. A change
    the identity cannot take (profile 2 without a key) is logged and left."""
    if command.action != "ChangeConfiguration" or not isinstance(command.response, dict):
        return
    if command.response.get("status") not in {"Accepted", "RebootRequired"}:
        return
    key, value = command.payload.get("key"), str(command.payload.get("value", ""))
    charge_point = command.charge_point
    if key == "AuthorizationKey" and value:
        from chargers.services import hash_authorization_key

        charge_point.auth_key_hash = hash_authorization_key(value)
        charge_point.save(update_fields=["auth_key_hash", "updated_at"])
    elif key == "SecurityProfile" and value.isdigit() and int(value) in ChargePoint.SecurityProfile:
        try:
            set_security_profile(charge_point, int(value))
        except ValidationError as error:
            log.warning("%s accepted SecurityProfile %s: %s", charge_point, value, error)


# Whitepaper edition 3, appendix 1: the security events whose "Critical" column is yes
# (the charger pushes them at once; the portal highlights them).
CRITICAL_SECURITY_EVENTS = frozenset(
    {
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "MemoryExhaustion",
        "TamperDetectionActivated",
    }
)


def security_events(charge_point: ChargePoint) -> list[dict[str, Any]]:
    """The charger's SecurityEventNotifications, newest first, each with ``at``, ``type``,
    ``tech_info`` and ``critical`` (CRITICAL_SECURITY_EVENTS)."""
    from chargers.models import Frame

    events = []
    for at, payload in (
        Frame.objects.filter(
            charge_point=charge_point,
            action="SecurityEventNotification",
            message_type=Frame.MessageType.CALL,
            direction=Frame.Direction.IN,
        )
        .order_by("-captured_at")
        .values_list("captured_at", "payload")[:100]
    ):
        payload = payload if isinstance(payload, dict) else {}
        kind = str(payload.get("type", ""))
        events.append(
            {
                "at": at,
                "type": kind,
                "tech_info": str(payload.get("techInfo", "")),
                "critical": kind in CRITICAL_SECURITY_EVENTS,
            }
        )
    return events


# --- Handshakes that never became a connection -------------------------------------------


def record_tls_refusal(
    identity: str, reason: str, remote_address: str, evidence: dict[str, Any]
) -> None:
    """A TLS handshake that failed on the portal's TLS port: recorded as a refusal (through
    chargers.services.record_refusal, so a flood of them is a few rows) with its reason and
    what is known of the handshake. ``identity`` is the charge point a fault was armed
    for, or empty (a TLS handshake carries no chargePointId)."""
    from chargers.services import record_refusal

    record_refusal(identity, reason, remote_address, tls=evidence)


# --- Server-side faults (TC_078) ---------------------------------------------------------


def arm_tls_fault(
    charge_point: ChargePoint, kind: str, *, handshakes: int = 1, armed_by: Any = None
) -> TlsFault:
    """Make the TLS port present ``kind`` (TlsFault.Kind) to the next ``handshakes``
    handshakes; any fault still armed is disarmed first. Workers pick it up within
    ``chargers.ocpp.tls.FAULT_POLL_SECONDS``."""
    kind = TlsFault.Kind(kind)
    if handshakes < 1:
        raise ValueError("a fault is armed for at least one handshake")
    with transaction.atomic():
        disarm_tls_faults()
        return TlsFault.objects.create(
            charge_point=charge_point,
            kind=kind,
            handshakes=handshakes,
            armed_by=armed_by,
            armed_at=timezone.now(),
        )


def disarm_tls_faults() -> int:
    return TlsFault.objects.filter(presented__lt=F("handshakes")).update(presented=F("handshakes"))


def armed_tls_faults() -> list[tuple[int, str, str, int]]:
    """(id, kind, chargePointId, handshakes left) of the faults still armed, oldest first."""
    return [
        (pk, kind, charge_point_id, handshakes - presented)
        for pk, kind, charge_point_id, handshakes, presented in TlsFault.objects.filter(
            presented__lt=F("handshakes")
        )
        .order_by("armed_at")
        .values_list("pk", "kind", "charge_point__charge_point_id", "handshakes", "presented")
    ]


def count_tls_fault_presented(fault_id: int) -> None:
    TlsFault.objects.filter(pk=fault_id, presented__lt=F("handshakes")).update(
        presented=F("presented") + 1
    )
