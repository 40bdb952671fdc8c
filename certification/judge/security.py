"""The OCPP 1.6 security whitepaper (edition 3) steps: TLS connections of profiles 2 and 3,
invalid server certificates, certificate renewal, the security log and signed firmware.

Connection events carry the TLS handshake the portal recorded (``ConnectionEvent.tls``:
version, cipher, the client certificate, the server certificate fault presented), so these
rules judge the handshake as the OCA's compliance tool does, from evidence alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from certification.judge.outcome import Findings, step_rule
from certification.judge.sequence import (
    Exchange,
    between,
    calls,
    exchange_of,
    exchanges,
    first,
    payload_of,
    portal_call,
)
from certification.judge.types import CALL, ConnectionEvent, Frame, Judgement, StepContext

# Whitepaper 4.1.1: TLS 1.2 or newer.
ACCEPTABLE_TLS = ("TLSv1.2", "TLSv1.3")


def _fault_of(event: ConnectionEvent) -> str | None:
    fault = (event.tls or {}).get("fault")
    return fault if isinstance(fault, str) else None


def security_events(frames: Sequence[Frame], kind: str | None = None) -> list[Frame]:
    """SecurityEventNotification CALLs of the charger (of ``kind`` when given)."""
    return [
        frame
        for frame in calls(frames, "SecurityEventNotification")
        if kind is None or payload_of(frame).get("type") == kind
    ]


@step_rule("connection over TLS", read_back=False)
def tls_connection(context: StepContext) -> Judgement:
    """Security profiles 2 and 3 (TC_083, TC_086, TC_087): the charger connects over TLS.

    Whitepaper 4.1.1: "The Charge Point and Central System SHALL only use TLS v1.2 or
    above"; 2.3 (profile 3): "the Charge Point SHALL present its Charge Point certificate"
    during the handshake. The step's last connection must be TLS 1.2+ and, for profile 3
    (param ``profile``, default 2), carry a client certificate; a plain ws:// connection is
    a fail (a profile 2/3 identity connecting over ws:// was refused by the portal).

    Measures the TLS version, cipher and client certificate of that connection.
    """
    findings = Findings()
    measurements: dict[str, Any] = {}
    profile = int(context.params.get("profile", 2))
    connected = [e for e in context.events if e.kind == "connected"]
    refused = [e for e in context.events if e.kind == "refused"]
    for event in refused:
        findings.info(f"A handshake was refused: {event.detail}")
    if not connected:
        findings.fail(
            f"No connection of the charger in the step: security profile {profile} expected"
        )
        return findings.judgement(measurements)
    last = connected[-1]
    tls = last.tls or {}
    measurements.update(
        tls_version=tls.get("version"),
        cipher=tls.get("cipher"),
        client_certificate=(tls.get("client_certificate") or {}).get("subject"),
    )
    if not last.tls:
        findings.fail(
            f"The charger connected over ws://, not TLS: security profile {profile} expected"
        )
    elif tls.get("version") not in ACCEPTABLE_TLS:
        findings.fail(f"The charger negotiated {tls.get('version')}; TLS 1.2 or newer is required")
    if profile >= 3 and last.tls and not tls.get("client_certificate"):
        findings.fail("No client certificate in the handshake: security profile 3 requires one")
    if _fault_of(last):
        findings.fail(f"The connection used the faulty server certificate ({_fault_of(last)})")
    return findings.judgement(measurements)


@step_rule("handshake with the faulty server certificate", read_back=False)
def invalid_server_certificate(context: StepContext) -> Judgement:
    """TC_078: the charger refuses an invalid central system certificate.

    Whitepaper 4.1.4: "If the Charge Point detects that the Central System certificate is
    not valid, it SHALL NOT connect [...] and SHALL trigger an InvalidCentralSystemCertificate
    security event" (InvalidTLSVersion when only TLS 1.0/1.1 was offered). The portal
    presented a faulty certificate (unknown CA, expired, another host name) or old TLS for
    the handshakes the engineer armed; expected: every such handshake refused by the
    charger, no BootNotification (no frame at all) over it, and, once connected properly
    again, a SecurityEventNotification of that type.
    """
    findings = Findings()
    measurements: dict[str, Any] = {}
    faulty = [e for e in context.events if _fault_of(e)]
    refused = [e for e in faulty if e.kind == "refused"]
    accepted = [e for e in faulty if e.kind == "connected"]
    measurements.update(faulty_handshakes=len(faulty), refused=len(refused))
    if not faulty:
        findings.fail(
            "No handshake with a faulty server certificate was recorded: arm the fault, then "
            "make the charger reconnect"
        )
        return findings.judgement(measurements)
    for event in accepted:
        fault = _fault_of(event)
        over_it = [f for f in context.frames if f.connection_id == event.connection_id]
        boots = [f for f in over_it if f.action == "BootNotification" and f.message_type == CALL]
        findings.fail(
            f"The charger accepted the faulty server certificate ({fault}) and connected"
            + (f"; it sent {len(over_it)} frame(s) over it" if over_it else ""),
            *boots[:1],
        )
    kinds = {_fault_of(e) for e in faulty}
    expected = "InvalidTLSVersion" if kinds == {"old-tls"} else "InvalidCentralSystemCertificate"
    later = [e for e in context.events if e.kind == "connected" and not _fault_of(e)]
    if refused and not any(e.at > refused[-1].at for e in later):
        findings.fail("The charger did not connect again after refusing the faulty certificate")
    reported = [
        f
        for f in security_events(context.frames)
        if payload_of(f).get("type") in {"InvalidCentralSystemCertificate", "InvalidTLSVersion"}
    ]
    if refused and not reported:
        findings.fail(f"No SecurityEventNotification {expected} after the refused handshake")
    elif reported and payload_of(reported[0]).get("type") != expected:
        findings.minor(
            f"SecurityEventNotification {payload_of(reported[0]).get('type')} where {expected} "
            "was expected",
            reported[0],
        )
    return findings.judgement(measurements)


@step_rule("SignCertificate received")
def certificate_renewal(context: StepContext) -> Judgement:
    """TC_074: renewing the charge point certificate.

    Whitepaper 4.1.7 (A02): ExtendedTriggerMessage(SignChargePointCertificate) -> Accepted
    -> SignCertificate.req with a CSR -> Accepted -> CertificateSigned.req with the chain
    the CA signed -> Accepted. With param ``expect_rejected`` (TC_077, an invalid
    certificate sent on purpose) the charger must answer CertificateSigned Rejected and
    send SecurityEventNotification InvalidChargePointCertificate.
    """
    frames, findings = context.frames, Findings()
    trigger = exchange_of(
        frames,
        first(
            frames,
            portal_call("ExtendedTriggerMessage", requestedMessage="SignChargePointCertificate"),
        ),
    )
    if trigger is not None:
        findings.expect_reply(trigger, ("Accepted",), "ExtendedTriggerMessage")
    signing = [
        Exchange(c, e.reply)
        for c in calls(frames, "SignCertificate")
        if (e := exchange_of(frames, c))
    ]
    if not signing:
        findings.fail("No SignCertificate from the charger")
        return findings.judgement({})
    if not str(payload_of(signing[0].call).get("csr", "")).startswith(
        "-----BEGIN CERTIFICATE REQUEST"
    ):
        findings.fail(
            "The SignCertificate csr is not a PEM certificate signing request", signing[0].call
        )
    signed = exchanges(between(frames, signing[0].call, None), "CertificateSigned")
    if not signed:
        findings.fail("No CertificateSigned sent after the SignCertificate")
        return findings.judgement({})
    if context.params.get("expect_rejected"):
        findings.expect_reply(signed[-1], ("Rejected",), "CertificateSigned (invalid certificate)")
        if not security_events(
            between(frames, signed[-1].call, None), "InvalidChargePointCertificate"
        ):
            findings.fail("No SecurityEventNotification InvalidChargePointCertificate")
    else:
        findings.expect_reply(signed[-1], ("Accepted",), "CertificateSigned")
    return findings.judgement({"csr_signed": len(signed)})


def _log_statuses(frames: Sequence[Frame], request_id: Any) -> list[str]:
    return [
        str(payload_of(f).get("status"))
        for f in calls(frames, "LogStatusNotification")
        if payload_of(f).get("requestId") == request_id
    ]


@step_rule("GetLog sent to the charger")
def security_log(context: StepContext) -> Judgement:
    """TC_079: the security log is uploaded.

    Whitepaper 4.4 (N01): GetLog(SecurityLog) -> Accepted -> LogStatusNotification
    Uploading -> Uploaded, both with the GetLog's requestId.
    """
    frames, findings = context.frames, Findings()
    get_log = exchange_of(frames, first(frames, portal_call("GetLog")))
    if get_log is None:
        findings.fail("No GetLog sent to the charger")
        return findings.judgement({})
    if not findings.expect_reply(get_log, ("Accepted", "AcceptedCanceled"), "GetLog"):
        return findings.judgement({})
    request_id = get_log.request.get("requestId")
    statuses = _log_statuses(between(frames, get_log.last, None), request_id)
    if statuses[:1] != ["Uploading"] or "Uploaded" not in statuses:
        findings.fail(
            f"LogStatusNotification Uploading then Uploaded with requestId {request_id} was "
            f"expected; the charger sent {', '.join(statuses) or 'none'}"
        )
    return findings.judgement({"log_statuses": statuses})


def _firmware_statuses(frames: Sequence[Frame], request_id: Any) -> list[str]:
    return [
        str(payload_of(f).get("status"))
        for f in calls(frames, "SignedFirmwareStatusNotification")
        if payload_of(f).get("requestId") == request_id
    ]


@step_rule("SignedUpdateFirmware sent to the charger")
def signed_firmware(context: StepContext) -> Judgement:
    """TC_080 (valid signature) and TC_081 (param ``invalid_signature``).

    Whitepaper 5.3 (L01): SignedUpdateFirmware -> Accepted -> SignedFirmwareStatusNotification
    Downloading -> Downloaded -> SignatureVerified -> Installing -> Installed, with the
    request's requestId, in that order with any others between them: the scheduled and
    rebooting statuses, and a download tried again after DownloadFailed (SignedUpdateFirmware
    retries: "how many times Charge Point must try to download the firmware before giving
    up"). With an invalid signature: "the Charge Point SHALL NOT install the
    firmware", report InvalidSignature and send SecurityEventNotification
    InvalidFirmwareSignature.
    """
    frames, findings = context.frames, Findings()
    update = exchange_of(frames, first(frames, portal_call("SignedUpdateFirmware")))
    if update is None:
        findings.fail("No SignedUpdateFirmware sent to the charger")
        return findings.judgement({})
    if not findings.expect_reply(update, ("Accepted",), "SignedUpdateFirmware"):
        return findings.judgement({})
    request_id = update.request.get("requestId")
    after = between(frames, update.last, None)
    statuses = _firmware_statuses(after, request_id)
    said = ", ".join(statuses) or "none"
    if context.params.get("invalid_signature"):
        if "InvalidSignature" not in statuses:
            findings.fail(f"SignedFirmwareStatusNotification InvalidSignature expected; got {said}")
        if {"Installing", "Installed"} & set(statuses):
            findings.fail(f"The charger installed firmware whose signature is invalid ({said})")
        if not security_events(after, "InvalidFirmwareSignature"):
            findings.fail("No SecurityEventNotification InvalidFirmwareSignature")
    else:
        expected = ["Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed"]
        reported = iter(statuses)  # each expected status found after the one before it
        if not all(status in reported for status in expected):
            findings.fail(
                f"SignedFirmwareStatusNotification {' → '.join(expected)} expected; got {said}"
            )
    return findings.judgement({"firmware_statuses": statuses})


@step_rule("ChangeConfiguration SecurityProfile sent to the charger")
def security_profile_downgrade(context: StepContext) -> Judgement:
    """TC_084: a lower security profile is refused.

    Whitepaper 2.4: "the Charge Point SHALL NOT allow [...] a lower security profile"; a
    ChangeConfiguration(SecurityProfile) to a value below ``current_profile`` (param,
    default 2) must be answered Rejected.
    """
    frames, findings = context.frames, Findings()
    current = int(context.params.get("current_profile", 2))
    changes = [
        e
        for e in exchanges(frames, "ChangeConfiguration")
        if e.request.get("key") == "SecurityProfile"
    ]
    downgrades = [
        e
        for e in changes
        if str(e.request.get("value", "")).isdigit() and int(e.request["value"]) < current
    ]
    if not downgrades:
        findings.fail(f"No ChangeConfiguration SecurityProfile below {current} sent")
    for exchange in downgrades:
        findings.expect_reply(
            exchange,
            ("Rejected",),
            f"ChangeConfiguration SecurityProfile={exchange.request.get('value')}",
        )
    return findings.judgement({})


@step_rule("ChangeConfiguration AuthorizationKey sent to the charger")
def authorization_key_change(context: StepContext) -> Judgement:
    """TC_073: updating the AuthorizationKey.

    Whitepaper 2.2: ChangeConfiguration(AuthorizationKey) -> Accepted; the charger then
    reconnects with the new key, which the portal stored when the answer was Accepted: a
    later connection without a "wrong AuthorizationKey" refusal after it.
    """
    frames, findings = context.frames, Findings()
    change = next(
        (
            e
            for e in exchanges(frames, "ChangeConfiguration")
            if e.request.get("key") == "AuthorizationKey"
        ),
        None,
    )
    if change is None:
        findings.fail("No ChangeConfiguration AuthorizationKey sent")
        return findings.judgement({})
    if not findings.expect_reply(change, ("Accepted",), "ChangeConfiguration AuthorizationKey"):
        return findings.judgement({})
    after = [e for e in context.events if e.at > change.last.at]
    wrong = [e for e in after if e.kind == "refused" and "AuthorizationKey" in e.detail]
    if wrong:
        findings.fail(f"The charger reconnected with a wrong key: {wrong[0].detail}")
    if not any(e.kind == "connected" for e in after):
        findings.fail("The charger did not reconnect with the new AuthorizationKey")
    return findings.judgement({})
