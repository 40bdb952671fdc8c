"""The security whitepaper's steps pinned whole (OCPP 1.6 Security Whitepaper edition 3;
TC_073, TC_074, TC_077..TC_081, TC_083, TC_084, TC_086, TC_087): verdicts, findings with
their frames and measurements, the connection events each rule reads, messages of another
requestId or before the command, and what the whitepaper allows beside the expected path."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import pytest

from certification.judge.security import (
    authorization_key_change,
    certificate_renewal,
    invalid_server_certificate,
    security_log,
    security_profile_downgrade,
    signed_firmware,
    tls_connection,
)
from certification.judge.types import ConnectionEvent, Finding, Frame, Judgement
from tests.judge.frames import Wire, cited, empty_step

TLS12 = {"version": "TLSv1.2", "cipher": "ECDHE-RSA-AES128-GCM-SHA256"}
CLIENT = {"subject": "CN=CP-1,O=Lab CPO", "sha256": "ab" * 32}
CSR = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB...\n-----END CERTIFICATE REQUEST-----"


def event(
    wire: Wire,
    kind: Literal["connected", "refused", "closed", "replaced"],
    tls: dict[str, Any] | None = None,
    connection_id: int | None = None,
    detail: str = "",
) -> ConnectionEvent:
    """A connection event now; the wire's clock moves on by a second."""
    recorded = ConnectionEvent(
        id=len(wire.events) + 1,
        at=wire.now,
        kind=kind,
        detail=detail,
        tls=tls,
        connection_id=connection_id,
    )
    wire.events.append(recorded)
    wire.wait(1)
    return recorded


def over(wire: Wire, connection_id: int, since: int) -> None:
    """The frames captured from index `since` on came over connection `connection_id`."""
    wire.frames[since:] = [replace(f, connection_id=connection_id) for f in wire.frames[since:]]


def findings(judgement: Judgement) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(f.severity, f.message, f.frame_ids) for f in judgement.findings]


def security_event(wire: Wire, kind: str) -> Frame:
    return wire.request(
        "SecurityEventNotification", {"type": kind, "timestamp": "2026-01-01T00:00:00Z"}, {}
    )


# tls_connection ----------------------------------------------------------------------------


def test_an_empty_step_names_the_connection_expected() -> None:
    assert tls_connection(empty_step()) == Judgement(
        "N", (Finding("fail", "No connection over TLS: the step recorded no frames"),), {}
    )


@pytest.mark.parametrize("profile", [None, 3, "3"])
def test_no_connection_in_the_step_fails_naming_the_profile(profile: Any) -> None:
    wire = Wire()
    event(wire, "refused", TLS12, detail="unknown identity CP-9")
    wire.heartbeat()

    params = {} if profile is None else {"profile": profile}
    judgement = tls_connection(wire.context(**params))

    assert judgement == Judgement(
        "N",
        judgement.findings,
        {},
    )
    assert findings(judgement) == [
        ("info", "A handshake was refused: unknown identity CP-9", ()),
        (
            "fail",
            f"No connection of the charger in the step: security profile {profile or 2} expected",
            (),
        ),
    ]


@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])
def test_profile_2_passes_over_tls_1_2_or_newer_without_a_client_certificate(
    version: str,
) -> None:
    wire = Wire()
    event(wire, "connected", None, 1)  # an earlier ws:// connection: only the last counts
    event(wire, "connected", {**TLS12, "version": version}, 2)
    wire.boot()

    judgement = tls_connection(wire.context())

    assert judgement == Judgement(
        "Y",
        (),
        {"tls_version": version, "cipher": TLS12["cipher"], "client_certificate": None},
    )


def test_profile_3_passes_with_the_client_certificate_and_measures_its_subject() -> None:
    wire = Wire()
    event(wire, "connected", {**TLS12, "client_certificate": CLIENT}, 1)
    wire.boot()

    judgement = tls_connection(wire.context(profile=3))

    assert judgement == Judgement(
        "Y",
        (),
        {
            "tls_version": "TLSv1.2",
            "cipher": TLS12["cipher"],
            "client_certificate": CLIENT["subject"],
        },
    )


@pytest.mark.parametrize(
    ("tls", "profile", "messages"),
    [
        (
            None,
            3,
            ["The charger connected over ws://, not TLS: security profile 3 expected"],
        ),
        (
            {},
            2,
            ["The charger connected over ws://, not TLS: security profile 2 expected"],
        ),
        (
            {**TLS12, "version": "TLSv1.1"},
            2,
            ["The charger negotiated TLSv1.1; TLS 1.2 or newer is required"],
        ),
        (
            TLS12,
            3,
            ["No client certificate in the handshake: security profile 3 requires one"],
        ),
        (
            {**TLS12, "version": "TLSv1", "fault": "expired"},
            3,
            [
                "The charger negotiated TLSv1; TLS 1.2 or newer is required",
                "No client certificate in the handshake: security profile 3 requires one",
                "The connection used the faulty server certificate (expired)",
            ],
        ),
    ],
)
def test_the_last_connection_fails_on_each_whitepaper_requirement_it_misses(
    tls: dict[str, Any] | None, profile: int, messages: list[str]
) -> None:
    wire = Wire()
    event(wire, "connected", {**TLS12, "client_certificate": CLIENT}, 1)
    event(wire, "connected", tls, 2)
    wire.boot()

    judgement = tls_connection(wire.context(profile=profile))

    assert findings(judgement) == [("fail", message, ()) for message in messages]
    assert judgement.verdict == "N"
    assert judgement.measurements == {
        "tls_version": (tls or {}).get("version"),
        "cipher": (tls or {}).get("cipher"),
        "client_certificate": None,
    }


def test_the_connection_not_a_read_back_shows_the_new_profile() -> None:
    """TC_083: ChangeConfiguration(SecurityProfile) Accepted, then Reset; the profile is the
    next connection's. A GetConfiguration before the reset may still read the old one: the
    connection rules judge the handshake, not the read-back."""
    wire = Wire()
    change(wire, "SecurityProfile", "2", "Accepted")
    wire.command(
        "GetConfiguration",
        {"key": ["SecurityProfile"]},
        {"configurationKey": [{"key": "SecurityProfile", "readonly": False, "value": "1"}]},
    )
    wire.command("Reset", {"type": "Hard"}, {"status": "Accepted"})
    event(wire, "refused", {**TLS12, "fault": "expired"}, detail="certificate expired")
    event(wire, "connected", TLS12, 2)
    wire.boot()
    security_event(wire, "InvalidCentralSystemCertificate")

    assert findings(tls_connection(wire.context())) == [
        ("info", "A handshake was refused: certificate expired", ())
    ]
    assert invalid_server_certificate(wire.context()).findings == ()


# invalid_server_certificate ----------------------------------------------------------------


def test_no_faulty_handshake_is_a_fail_saying_how_to_arm_it() -> None:
    wire = Wire()
    event(wire, "refused", None, detail="wrong AuthorizationKey")  # no certificate fault
    event(wire, "connected", TLS12, 1)
    wire.boot()

    assert invalid_server_certificate(wire.context()) == Judgement(
        "N",
        invalid_server_certificate(wire.context()).findings,
        {"faulty_handshakes": 0, "refused": 0},
    )
    assert findings(invalid_server_certificate(wire.context())) == [
        (
            "fail",
            "No handshake with a faulty server certificate was recorded: arm the fault, then "
            "make the charger reconnect",
            (),
        )
    ]


@pytest.mark.parametrize("fault", ["unknown-ca", "expired", "wrong-host"])
def test_each_refused_certificate_fault_is_reported_as_invalid_central_system_certificate(
    fault: str,
) -> None:
    wire = Wire()
    event(wire, "refused", {"fault": fault})
    event(wire, "refused", {"fault": "old-tls"})
    event(wire, "connected", TLS12, 2)
    wire.boot()
    security_event(wire, "StartupOfTheDevice")
    security_event(wire, "InvalidCentralSystemCertificate")

    judgement = invalid_server_certificate(wire.context())

    assert judgement == Judgement("Y", (), {"faulty_handshakes": 2, "refused": 2})


def test_old_tls_alone_expects_invalid_tls_version_and_another_type_is_minor() -> None:
    right = Wire()
    event(right, "refused", {"fault": "old-tls"})
    event(right, "connected", TLS12, 2)
    security_event(right, "InvalidTLSVersion")
    wrong = Wire()
    event(wrong, "refused", {"fault": "expired"})
    event(wrong, "connected", TLS12, 2)
    reported = security_event(wrong, "InvalidTLSVersion")

    assert invalid_server_certificate(right.context()) == Judgement(
        "Y", (), {"faulty_handshakes": 1, "refused": 1}
    )
    assert findings(invalid_server_certificate(wrong.context())) == [
        (
            "minor",
            "SecurityEventNotification InvalidTLSVersion where InvalidCentralSystemCertificate "
            "was expected",
            cited(reported),
        )
    ]


def test_no_connection_after_the_refusal_fails_and_so_does_the_missing_event() -> None:
    wire = Wire()
    event(wire, "connected", TLS12, 1)  # before the faulty handshake: not a reconnect
    wire.heartbeat()
    refused = event(wire, "refused", {"fault": "expired"})
    wire.events.append(
        ConnectionEvent(id=9, at=refused.at, kind="connected", tls=TLS12, connection_id=2)
    )  # at the same instant: not after it
    event(wire, "closed")  # not a connection

    judgement = invalid_server_certificate(wire.context())

    assert findings(judgement) == [
        ("fail", "The charger did not connect again after refusing the faulty certificate", ()),
        (
            "fail",
            "No SecurityEventNotification InvalidCentralSystemCertificate after the refused "
            "handshake",
            (),
        ),
    ]
    assert judgement.measurements == {"faulty_handshakes": 1, "refused": 1}


def test_a_connection_over_the_faulty_certificate_fails_citing_its_first_boot() -> None:
    wire = Wire()
    event(wire, "connected", TLS12, 1)
    wire.heartbeat()  # over connection 1
    event(wire, "connected", {**TLS12, "fault": "unknown-ca"}, 7)
    since = len(wire.frames)
    wire.status(1, "Available")
    boot = wire.boot()
    wire.boot()
    over(wire, 7, since)
    quiet = Wire()
    event(quiet, "connected", {**TLS12, "fault": "wrong-host"}, 8)
    quiet.heartbeat()

    judgement = invalid_server_certificate(wire.context())

    assert findings(judgement) == [
        (
            "fail",
            "The charger accepted the faulty server certificate (unknown-ca) and connected; it "
            "sent 6 frame(s) over it",
            cited(wire.frames[since + 2]),
        )
    ]
    assert cited(wire.frames[since + 2]) == cited(boot)
    assert judgement.measurements == {"faulty_handshakes": 1, "refused": 0}
    assert findings(invalid_server_certificate(quiet.context())) == [
        (
            "fail",
            "The charger accepted the faulty server certificate (wrong-host) and connected",
            (),
        )
    ]


# certificate_renewal -----------------------------------------------------------------------


def trigger(wire: Wire, status: str = "Accepted") -> Frame:
    return wire.command(
        "ExtendedTriggerMessage",
        {"requestedMessage": "SignChargePointCertificate"},
        {"status": status},
    )


def sign(wire: Wire, csr: Any = CSR) -> Frame:
    return wire.request(
        "SignCertificate", {} if csr is None else {"csr": csr}, {"status": "Accepted"}
    )


def signed(wire: Wire, answer: str | None = "Accepted") -> Frame:
    payload = {
        "certificateChain": "-----BEGIN CERTIFICATE-----\nMIIC...\n-----END CERTIFICATE-----"
    }
    if answer is None:
        return wire.call_out("CertificateSigned", payload)
    return wire.command("CertificateSigned", payload, {"status": answer})


def test_the_renewal_passes_with_or_without_the_trigger() -> None:
    triggered = Wire()
    trigger(triggered)
    sign(triggered)
    signed(triggered)
    by_itself = Wire()  # the charger renews on its own when its certificate nears expiry
    sign(by_itself)
    signed(by_itself)

    assert certificate_renewal(triggered.context()) == Judgement("Y", (), {"csr_signed": 1})
    assert certificate_renewal(by_itself.context()) == Judgement("Y", (), {"csr_signed": 1})


def test_a_refused_trigger_and_no_sign_certificate_are_both_named() -> None:
    wire = Wire()
    call = trigger(wire, "Rejected")
    wire.command(
        "ExtendedTriggerMessage", {"requestedMessage": "BootNotification"}, {"status": "Accepted"}
    )

    assert certificate_renewal(wire.context()) == Judgement(
        "N",
        certificate_renewal(wire.context()).findings,
        {},
    )
    assert findings(certificate_renewal(wire.context())) == [
        (
            "fail",
            "ExtendedTriggerMessage answered Rejected where Accepted was expected",
            wire.exchange_ids(call),
        ),
        ("fail", "No SignCertificate from the charger", ()),
    ]


@pytest.mark.parametrize(
    "csr",
    [None, "", "MIIB...", " -----BEGIN CERTIFICATE REQUEST-----", "-----BEGIN CERTIFICATE-----"],
)
def test_a_csr_that_is_no_pem_certificate_request_fails(csr: Any) -> None:
    wire = Wire()
    request = sign(wire, csr)
    sign(wire)  # a later, good one does not make up for the first
    signed(wire)

    judgement = certificate_renewal(wire.context())

    assert findings(judgement) == [
        ("fail", "The SignCertificate csr is not a PEM certificate signing request", cited(request))
    ]
    assert judgement.measurements == {"csr_signed": 1}


def test_no_certificate_signed_after_the_sign_certificate_fails() -> None:
    wire = Wire()
    signed(wire)  # before the request: not its answer
    sign(wire)

    assert certificate_renewal(wire.context()) == Judgement(
        "N",
        certificate_renewal(wire.context()).findings,
        {},
    )
    assert findings(certificate_renewal(wire.context())) == [
        ("fail", "No CertificateSigned sent after the SignCertificate", ())
    ]


def test_the_last_certificate_signed_is_judged() -> None:
    fixed = Wire()
    sign(fixed)
    signed(fixed, "Rejected")
    signed(fixed, "Accepted")
    broken = Wire()
    sign(broken)
    signed(broken, "Accepted")
    last = signed(broken, "Rejected")
    silent = Wire()
    sign(silent)
    unanswered = signed(silent, None)

    assert certificate_renewal(fixed.context()) == Judgement("Y", (), {"csr_signed": 2})
    assert findings(certificate_renewal(broken.context())) == [
        (
            "fail",
            "CertificateSigned answered Rejected where Accepted was expected",
            broken.exchange_ids(last),
        )
    ]
    assert findings(certificate_renewal(silent.context())) == [
        (
            "fail",
            "CertificateSigned got no reply from the charger; Accepted was expected",
            cited(unanswered),
        )
    ]


def test_an_invalid_certificate_must_be_rejected_and_reported() -> None:
    """TC_077 (whitepaper A02): an invalid certificate is discarded, CertificateSigned
    answered Rejected, and SecurityEventNotification InvalidChargePointCertificate sent."""
    good = Wire()
    sign(good)
    signed(good, "Rejected")
    security_event(good, "InvalidChargePointCertificate")
    accepting = Wire()
    security_event(accepting, "InvalidChargePointCertificate")  # before: not about it
    sign(accepting)
    call = signed(accepting, "Accepted")
    security_event(accepting, "InvalidFirmwareSignature")

    assert certificate_renewal(good.context(expect_rejected=True)) == Judgement(
        "Y", (), {"csr_signed": 1}
    )
    assert findings(certificate_renewal(accepting.context(expect_rejected=True))) == [
        (
            "fail",
            "CertificateSigned (invalid certificate) answered Accepted where Rejected was expected",
            accepting.exchange_ids(call),
        ),
        ("fail", "No SecurityEventNotification InvalidChargePointCertificate", ()),
    ]


# security_log ------------------------------------------------------------------------------


def get_log(wire: Wire, status: str = "Accepted", request_id: int = 3) -> Frame:
    return wire.command(
        "GetLog",
        {
            "logType": "SecurityLog",
            "requestId": request_id,
            "log": {"remoteLocation": "ftp://lab/"},
        },
        {"status": status},
    )


def log_status(wire: Wire, status: str, request_id: int = 3) -> Frame:
    return wire.request("LogStatusNotification", {"status": status, "requestId": request_id}, {})


@pytest.mark.parametrize(
    ("answer", "statuses"),
    [
        ("Accepted", ["Uploading", "Uploaded"]),
        ("AcceptedCanceled", ["Uploading", "Uploaded"]),
        ("Accepted", ["Uploading", "UploadFailure", "Uploading", "Uploaded"]),  # GetLog.retries
    ],
)
def test_the_security_log_passes_with_uploading_then_uploaded(
    answer: str, statuses: list[str]
) -> None:
    wire = Wire()
    log_status(wire, "Uploaded")  # before the GetLog: not its answer
    get_log(wire, answer)
    log_status(wire, statuses[0])
    log_status(wire, "Uploading", request_id=4)
    for status in statuses[1:]:
        log_status(wire, status)

    assert security_log(wire.context()) == Judgement("Y", (), {"log_statuses": statuses})


def test_no_get_log_or_a_refused_one_fails_alone() -> None:
    none = Wire()
    none.heartbeat()
    refused = Wire()
    call = get_log(refused, "Rejected")
    log_status(refused, "Uploading")

    assert security_log(none.context()) == Judgement("N", security_log(none.context()).findings, {})
    assert findings(security_log(none.context())) == [("fail", "No GetLog sent to the charger", ())]
    assert security_log(refused.context()).measurements == {}
    assert findings(security_log(refused.context())) == [
        (
            "fail",
            "GetLog answered Rejected where Accepted or AcceptedCanceled was expected",
            refused.exchange_ids(call),
        )
    ]


@pytest.mark.parametrize(
    ("statuses", "said"),
    [
        ([], "none"),
        (["Uploading"], "Uploading"),
        (["Uploaded"], "Uploaded"),
        (["Uploading", "UploadFailure"], "Uploading, UploadFailure"),
        (["Uploaded", "Uploading"], "Uploaded, Uploading"),
    ],
)
def test_anything_but_uploading_first_then_uploaded_fails_listing_the_statuses(
    statuses: list[str], said: str
) -> None:
    wire = Wire()
    get_log(wire, request_id=11)
    for status in statuses:
        log_status(wire, status, request_id=11)
    log_status(wire, "Uploaded", request_id=12)

    judgement = security_log(wire.context())

    assert findings(judgement) == [
        (
            "fail",
            "LogStatusNotification Uploading then Uploaded with requestId 11 was expected; the "
            f"charger sent {said}",
            (),
        )
    ]
    assert judgement.measurements == {"log_statuses": statuses}


# signed_firmware ---------------------------------------------------------------------------

INSTALLED = ["Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed"]


def update(wire: Wire, status: str = "Accepted", request_id: int = 5) -> Frame:
    return wire.command(
        "SignedUpdateFirmware",
        {
            "requestId": request_id,
            "retries": 2,
            "firmware": {
                "location": "ftp://lab/fw.bin",
                "retrieveDateTime": "2026-01-01T00:00:00Z",
                "signingCertificate": "-----BEGIN CERTIFICATE-----",
                "signature": "c2ln",
            },
        },
        {"status": status},
    )


def firmware_status(wire: Wire, *statuses: str, request_id: int = 5) -> None:
    for status in statuses:
        wire.request(
            "SignedFirmwareStatusNotification", {"status": status, "requestId": request_id}, {}
        )


@pytest.mark.parametrize(
    "statuses",
    [
        INSTALLED,
        [
            "DownloadScheduled",
            *INSTALLED[:3],
            "InstallScheduled",
            "Installing",
            "InstallRebooting",
            "Installed",
        ],
        ["Downloading", "DownloadFailed", *INSTALLED],  # a retry of the download
    ],
)
def test_a_valid_signature_passes_through_the_whitepapers_statuses(statuses: list[str]) -> None:
    """Whitepaper L01: the statuses of a signed update, with the scheduled and rebooting
    ones it allows between them, and a download retried (SignedUpdateFirmware.retries)."""
    wire = Wire()
    firmware_status(wire, "Installed")  # before the request: not its answer
    update(wire)
    firmware_status(wire, *statuses)
    firmware_status(wire, "InvalidSignature", request_id=6)

    assert signed_firmware(wire.context()) == Judgement("Y", (), {"firmware_statuses": statuses})


@pytest.mark.parametrize(
    "statuses",
    [
        [],
        ["Downloading", "Downloaded", "Installing", "Installed"],
        ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallationFailed"],
        ["Downloading", "Downloaded", "SignatureVerified", "Installed", "Installing"],
    ],
)
def test_a_valid_signature_without_every_status_in_order_fails(statuses: list[str]) -> None:
    wire = Wire()
    update(wire)
    firmware_status(wire, *statuses)

    judgement = signed_firmware(wire.context())

    assert findings(judgement) == [
        (
            "fail",
            "SignedFirmwareStatusNotification Downloading → Downloaded → SignatureVerified → "
            f"Installing → Installed expected; got {', '.join(statuses) or 'none'}",
            (),
        )
    ]
    assert judgement.measurements == {"firmware_statuses": statuses}


def test_no_update_or_a_refused_one_fails_alone() -> None:
    none = Wire()
    none.heartbeat()
    refused = Wire()
    call = update(refused, "InvalidCertificate")
    firmware_status(refused, *INSTALLED)

    assert signed_firmware(none.context()) == Judgement(
        "N", signed_firmware(none.context()).findings, {}
    )
    assert findings(signed_firmware(none.context())) == [
        ("fail", "No SignedUpdateFirmware sent to the charger", ())
    ]
    assert signed_firmware(refused.context()) == Judgement(
        "N", signed_firmware(refused.context()).findings, {}
    )
    assert findings(signed_firmware(refused.context())) == [
        (
            "fail",
            "SignedUpdateFirmware answered InvalidCertificate where Accepted was expected",
            refused.exchange_ids(call),
        )
    ]


def test_an_invalid_signature_is_reported_and_not_installed() -> None:
    good = Wire()
    update(good)
    firmware_status(good, "Downloading", "Downloaded", "InvalidSignature")
    security_event(good, "InvalidFirmwareSignature")

    assert signed_firmware(good.context(invalid_signature=True)) == Judgement(
        "Y", (), {"firmware_statuses": ["Downloading", "Downloaded", "InvalidSignature"]}
    )


@pytest.mark.parametrize("installed", ["Installing", "Installed"])
def test_an_invalid_signature_installed_and_unreported_fails_three_times(installed: str) -> None:
    wire = Wire()
    security_event(wire, "InvalidFirmwareSignature")  # before the request: not about it
    update(wire)
    firmware_status(wire, "Downloading", "Downloaded", installed)
    firmware_status(wire, "InvalidSignature", request_id=6)
    security_event(wire, "InvalidChargePointCertificate")

    judgement = signed_firmware(wire.context(invalid_signature=True))

    said = f"Downloading, Downloaded, {installed}"
    assert findings(judgement) == [
        ("fail", f"SignedFirmwareStatusNotification InvalidSignature expected; got {said}", ()),
        ("fail", f"The charger installed firmware whose signature is invalid ({said})", ()),
        ("fail", "No SecurityEventNotification InvalidFirmwareSignature", ()),
    ]
    assert judgement.measurements == {"firmware_statuses": said.split(", ")}


# security_profile_downgrade ----------------------------------------------------------------


def change(wire: Wire, key: str, value: Any, answer: str = "Rejected") -> Frame:
    return wire.command("ChangeConfiguration", {"key": key, "value": value}, {"status": answer})


def test_every_downgrade_below_the_current_profile_must_be_rejected() -> None:
    wire = Wire()
    change(wire, "SecurityProfile", "3", "Accepted")  # an upgrade: not judged here
    change(wire, "SecurityProfile", "2", "Accepted")  # the current one: not a downgrade
    change(wire, "SecurityProfile", "one", "Accepted")
    change(wire, "AuthorizationKey", "1", "Accepted")
    change(wire, "SecurityProfile", "1")
    accepted = change(wire, "SecurityProfile", "0", "Accepted")

    judgement = security_profile_downgrade(wire.context())

    assert judgement == Judgement("N", judgement.findings, {})
    assert findings(judgement) == [
        (
            "fail",
            "ChangeConfiguration SecurityProfile=0 answered Accepted where Rejected was expected",
            wire.exchange_ids(accepted),
        )
    ]


@pytest.mark.parametrize(
    ("current", "value", "downgrade"),
    [(3, "2", True), (3, "3", False), (2, "1", True), (1, "1", False)],
)
def test_a_downgrade_is_below_the_current_profile_param(
    current: int, value: str, downgrade: bool
) -> None:
    wire = Wire()
    change(wire, "SecurityProfile", value)

    judgement = security_profile_downgrade(wire.context(current_profile=current))

    assert findings(judgement) == (
        []
        if downgrade
        else [("fail", f"No ChangeConfiguration SecurityProfile below {current} sent", ())]
    )


def test_no_downgrade_sent_names_the_default_profile_2() -> None:
    wire = Wire()
    change(wire, "SecurityProfile", "2")

    assert findings(security_profile_downgrade(wire.context())) == [
        ("fail", "No ChangeConfiguration SecurityProfile below 2 sent", ())
    ]


# authorization_key_change ------------------------------------------------------------------

KEY = "0123456789abcdef0123"


def test_the_new_key_passes_with_a_reconnect_after_the_accepted_change() -> None:
    wire = Wire()
    change(wire, "AuthorizationKey", KEY, "Accepted")
    wire.wait(1)
    event(wire, "closed")
    event(wire, "refused", None, detail="unknown identity")  # not about the key
    event(wire, "connected", TLS12, 2)

    assert authorization_key_change(wire.context()) == Judgement("Y", (), {})


def test_a_wrong_key_or_no_reconnect_after_the_change_fails() -> None:
    wrong = Wire()
    event(wrong, "refused", None, detail="wrong AuthorizationKey")  # before: the old key
    change(wrong, "AuthorizationKey", KEY, "Accepted")
    wrong.wait(1)
    event(wrong, "refused", None, detail="wrong AuthorizationKey for CP-1")
    event(wrong, "connected", TLS12, 2)
    never = Wire()
    event(never, "connected", TLS12, 1)  # before the change
    call = change(never, "AuthorizationKey", KEY, "Accepted")
    never.events.append(
        ConnectionEvent(id=5, at=never.frames[-1].at, kind="connected", tls=TLS12)
    )  # at the instant of the answer: not after it

    assert findings(authorization_key_change(wrong.context())) == [
        ("fail", "The charger reconnected with a wrong key: wrong AuthorizationKey for CP-1", ())
    ]
    assert findings(authorization_key_change(never.context())) == [
        ("fail", "The charger did not reconnect with the new AuthorizationKey", ())
    ]
    assert cited(call)


def test_no_key_change_or_a_refused_one_fails_alone() -> None:
    none = Wire()
    change(none, "SecurityProfile", "3", "Accepted")
    refused = Wire()
    call = change(refused, "AuthorizationKey", "short", "Rejected")
    refused.wait(1)
    event(refused, "connected", TLS12, 2)

    assert findings(authorization_key_change(none.context())) == [
        ("fail", "No ChangeConfiguration AuthorizationKey sent", ())
    ]
    assert findings(authorization_key_change(refused.context())) == [
        (
            "fail",
            "ChangeConfiguration AuthorizationKey answered Rejected where Accepted was expected",
            refused.exchange_ids(call),
        )
    ]
    assert authorization_key_change(refused.context()).measurements == {}
