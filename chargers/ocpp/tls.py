"""The portal's own TLS port for chargers (security profiles 2 and 3), inside Daphne.

Daphne listens on Twisted endpoints and puts nothing of TLS into the ASGI scope. This
module decides three things and leaves the rest to others:

- **The server side of the handshake.** A ``LabTlsServer`` (an
  ``IOpenSSLServerConnectionCreator``) makes each connection's OpenSSL object: TLS 1.2 or
  newer, the whitepaper's cipher suites (4.1.2), an RSA and an ECDSA certificate of the lab
  CA, and a request for a client certificate that OpenSSL does not judge (the identity,
  hence the profile and the trusted manufacturer CA, only arrive with the HTTP request
  after the handshake). An armed ``TlsFault`` swaps in an invalid certificate or
  TLS 1.0/1.1 only for the next handshakes (TC_078).
- **Handshakes that fail** (a TLS 1.1 client, a charger refusing the portal's certificate)
  never reach Daphne; ``RecordingTLSProtocol`` records them as refused connection events
  with OpenSSL's reason in words.
- **Evidence for the consumer.** ``handshake_evidence`` reads the negotiated version,
  cipher, SNI and both certificates from the connection, and ``install`` puts them into the
  websocket scope as the ASGI TLS extension (``scope["extensions"]["tls"]``), plus the
  portal's own keys (``version``, ``cipher``, ``server_name``, ``client_certificate``,
  ``fault``). chargers.services.authenticate_charge_point decides from them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from cryptography import x509
from OpenSSL import SSL, crypto
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from twisted.internet.protocol import connectionDone
from twisted.internet.task import LoopingCall
from twisted.protocols.tls import BufferingTLSTransport, TLSMemoryBIOFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from chargers import pki

log = logging.getLogger(__name__)

# Whitepaper 4.1.2: the central system supports these four suites (TLS 1.2), and this
# portal also offers ECDHE with RSA (forward secrecy for RSA-only chargers) and TLS 1.3.
WHITEPAPER_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "AES128-GCM-SHA256:AES256-GCM-SHA384"
)
CIPHERS = WHITEPAPER_CIPHERS + ":ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"
# The TLS 1.0/1.1 fault needs suites those versions have, and OpenSSL 3's security level 0
# (level 1 and up refuse TLS < 1.2 outright).
OLD_TLS_CIPHERS = "DEFAULT:@SECLEVEL=0"

# How often a worker looks for newly armed faults (seconds).
FAULT_POLL_SECONDS = 0.5


@dataclass
class ServerMaterial:
    """What a worker serves: PEM text loaded from the lab PKI at start-up."""

    root_pem: str
    server: list[pki.Issued]  # RSA and ECDSA
    faults: dict[str, list[pki.Issued]] = field(default_factory=dict)  # kind -> certificates


def _context(certificates: list[pki.Issued], *, old_tls: bool = False) -> SSL.Context:
    context = SSL.Context(SSL.TLS_METHOD)
    if old_tls:
        context.set_min_proto_version(SSL.TLS1_VERSION)
        context.set_max_proto_version(SSL.TLS1_1_VERSION)
        context.set_cipher_list(OLD_TLS_CIPHERS.encode())
    else:
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.set_cipher_list(CIPHERS.encode())
    context.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE)
    for issued in certificates:
        context.use_certificate(issued.certificate())
        context.use_privatekey(issued.private_key())
    context.check_privatekey()
    # Ask for a client certificate, accept whatever comes: the identity (and so its profile
    # and trusted CAs) is known only after the handshake; the consumer decides then.
    context.set_verify(SSL.VERIFY_PEER, _record_verification)
    # Each connection gets its own session: no resumption across a fault and a good cert.
    context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    return context


def _record_verification(
    connection: SSL.Connection, certificate: crypto.X509, errno: int, depth: int, ok: int
) -> bool:
    return True


@dataclass
class ArmedFault:
    fault_id: int
    kind: str
    charge_point_id: str
    remaining: int


@implementer(IOpenSSLServerConnectionCreator)
class LabTlsServer:
    """Makes the OpenSSL connection of each TLS handshake on the chargers' TLS port."""

    def __init__(self, material: ServerMaterial) -> None:
        self.material = material
        self.context = _context(material.server)
        self.fault_contexts = {
            kind: _context(certificates) for kind, certificates in material.faults.items()
        }
        self.fault_contexts["old-tls"] = _context(material.server, old_tls=True)
        self.armed: list[ArmedFault] = []

    def serverConnectionForTLS(self, protocol: RecordingTLSProtocol) -> SSL.Connection:
        fault = self._take_fault()
        context = self.context if fault is None else self.fault_contexts[fault.kind]
        protocol.fault = fault
        return SSL.Connection(context, None)

    def _take_fault(self) -> ArmedFault | None:
        for fault in self.armed:
            if fault.remaining > 0:
                fault.remaining -= 1
                # Counted in the database too, so that other workers stop presenting it.
                from chargers import security

                _in_background(security.count_tls_fault_presented, fault.fault_id)
                return fault
        return None

    def refresh_faults(self) -> Any:
        """Poll the armed faults (run every FAULT_POLL_SECONDS by a LoopingCall)."""
        from chargers import security

        def update(rows: list[tuple[int, str, str, int]]) -> None:
            self.armed = [ArmedFault(*row) for row in rows]

        def failed(failure: Failure) -> None:
            log.warning("tls: could not read armed faults: %s", failure.getErrorMessage())

        query = asyncio.ensure_future(database_sync_to_async(security.armed_tls_faults)())
        return Deferred.fromFuture(query).addCallbacks(update, failed)


class RecordingTLSProtocol(BufferingTLSTransport):
    """Twisted's TLS protocol, which also records a handshake that failed: it never becomes
    an HTTP request, so nothing else in the portal would know it happened."""

    fault: ArmedFault | None = None

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        handshake_done = self._handshakeDone
        # Twisted keeps the TLS error in _reason and passes it on, like the public argument.
        failure = self._reason or reason
        tls_connection = self._tlsConnection
        super().connectionLost(reason)
        if handshake_done:
            return
        error = failure.value if failure is not None else None
        if not isinstance(error, SSL.Error) and self.fault is None:
            return  # a TCP connection closed before any TLS (a port probe): not a charger
        transport: Any = self.transport
        peer = transport.getPeer() if transport is not None else None
        remote = f"{peer.host}:{peer.port}" if peer is not None and hasattr(peer, "host") else ""
        evidence: dict[str, Any] = {"error": _openssl_reason(error) if error else "closed"}
        if tls_connection is not None:
            evidence["server_name"] = _server_name(tls_connection)
        if self.fault is not None:
            evidence["fault"] = self.fault.kind
        identity = self.fault.charge_point_id if self.fault is not None else ""
        reason_text = refusal_reason(error, self.fault.kind if self.fault else None)
        _record_soon(identity, reason_text, remote, evidence)


def _record_soon(identity: str, reason: str, remote: str, evidence: dict[str, Any]) -> None:
    from chargers import security

    log.warning("tls: handshake from %s failed: %s", remote, reason)
    _in_background(security.record_tls_refusal, identity, reason, remote, evidence)


_pending: set[asyncio.Future[Any]] = set()


def _in_background(function: Any, *args: Any) -> None:
    """Run a database write off the event loop (the reactor calls TLS code synchronously)."""
    task = asyncio.ensure_future(database_sync_to_async(function)(*args))
    _pending.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Future[Any]) -> None:
    _pending.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("tls: a database write failed", exc_info=task.exception())


def _openssl_reason(error: BaseException) -> str:
    """OpenSSL's reason string (``unsupported protocol``, ``tlsv1 alert unknown ca``)."""
    if isinstance(error, SSL.Error) and error.args and isinstance(error.args[0], list):
        reasons = [entry[2] for entry in error.args[0] if len(entry) > 2 and entry[2]]
        if reasons:
            return "; ".join(str(r) for r in reasons)
    return str(error) or type(error).__name__


# OpenSSL's reasons for a client that refused the server's certificate (the alert it sent).
_CLIENT_ALERTS = {
    "alert unknown ca": "unknown CA",
    "alert certificate expired": "certificate expired",
    "alert bad certificate": "bad certificate",
    "alert certificate unknown": "certificate unknown",
    "alert unsupported certificate": "unsupported certificate",
    "alert handshake failure": "handshake failure",
    "alert protocol version": "protocol version",
    "alert decrypt error": "decrypt error",
}


def refusal_reason(error: BaseException | None, fault: str | None) -> str:
    """A failed handshake in the words of a refusal: who refused what, and why."""
    text = _openssl_reason(error) if error is not None else ""
    prefix = f"server certificate fault {fault!r}: " if fault else ""
    for alert, words in _CLIENT_ALERTS.items():
        if alert in text:
            return f"{prefix}the charger refused the TLS handshake ({words}: {text})"
    if "unsupported protocol" in text or "version too low" in text:
        if fault == "old-tls":
            return f"{prefix}the charger refused TLS 1.0/1.1 ({text})"
        return f"TLS below 1.2 refused: the client offered only older versions ({text})"
    if "no shared cipher" in text:
        return f"{prefix}no cipher suite in common ({text})"
    if "http request" in text or "wrong version number" in text:
        return f"not a TLS client (plain HTTP on the TLS port: {text})"
    if error is None or not isinstance(error, SSL.Error):
        # asyncio's TLS (Python chargers, the simulator) drops the connection without
        # sending its alert: a refusal all the same.
        return f"{prefix}the client closed the connection during the TLS handshake"
    return f"{prefix}TLS handshake failed ({text})"


class RecordingTLSFactory(TLSMemoryBIOFactory):
    protocol = RecordingTLSProtocol


def _server_name(connection: SSL.Connection) -> str:
    name = connection.get_servername()
    return name.decode("ascii", "replace") if name else ""


def _certificate(pem_or_x509: Any) -> x509.Certificate:
    if isinstance(pem_or_x509, x509.Certificate):
        return pem_or_x509
    return pem_or_x509.to_cryptography()


def handshake_evidence(transport: Any) -> dict[str, Any] | None:
    """The ASGI TLS extension (plus the portal's keys) for a connection's transport, or
    None when it is not TLS. Keys: ``tls_version`` (int, e.g. 0x0304), ``cipher_suite``
    (None: OpenSSL does not expose the IANA number through pyOpenSSL), ``server_cert``,
    ``client_cert_chain`` (PEM list, leaf first), ``client_cert_name`` (RFC 4514),
    ``client_cert_error`` (None: the portal, not OpenSSL, verifies clients);
    ``version`` (``TLSv1.3``), ``cipher`` (OpenSSL's name), ``server_name`` (SNI),
    ``server_certificate`` and ``client_certificate`` (chargers.pki.describe) and
    ``fault`` (the TlsFault kind presented, or None)."""
    get_handle = getattr(transport, "getHandle", None)
    connection = get_handle() if get_handle is not None else None
    if not isinstance(connection, SSL.Connection):
        return None
    server = connection.get_certificate()
    server_certificate = _certificate(server) if server is not None else None
    leaf = connection.get_peer_certificate(as_cryptography=True)
    chain = connection.get_peer_cert_chain(as_cryptography=True) or []
    client_chain = [leaf] if leaf is not None else []
    client_chain += [c for c in chain if leaf is None or c != leaf]
    fault = getattr(transport, "fault", None)
    return {
        "tls_version": TLS_VERSION_NUMBERS.get(connection.get_protocol_version_name()),
        "cipher_suite": None,
        "server_cert": pki.pem(server_certificate) if server_certificate else None,
        "client_cert_chain": [pki.pem(c) for c in client_chain],
        "client_cert_name": leaf.subject.rfc4514_string() if leaf is not None else None,
        "client_cert_error": None,
        "version": connection.get_protocol_version_name(),
        "cipher": connection.get_cipher_name() or "",
        "server_name": _server_name(connection),
        "server_certificate": pki.describe(server_certificate) if server_certificate else None,
        "client_certificate": pki.describe(leaf) if leaf is not None else None,
        "fault": fault.kind if fault is not None else None,
    }


TLS_VERSION_NUMBERS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def listen(
    server: LabTlsServer, factory: Any, port: int, interface: str, reactor: Any = None
) -> Any:
    """Listen for TLS on ``interface:port`` with ``factory`` (Daphne's HTTP factory)."""
    reactor = reactor or _reactor
    endpoint = TCP4ServerEndpoint(reactor, port, interface=interface)
    poll = LoopingCall(server.refresh_faults)
    poll.start(FAULT_POLL_SECONDS, now=True)
    creator: Any = server  # provides IOpenSSLServerConnectionCreator (zope, not a base class)
    return endpoint.listen(RecordingTLSFactory(creator, False, factory))


def install(material: ServerMaterial, port: int, interface: str) -> None:
    """Make Daphne serve the TLS port beside its plain one, and put the handshake into
    websocket scopes. Called by ``manage.py serve`` before Daphne starts."""
    from daphne import server as daphne_server

    if getattr(daphne_server.Server, "portal_tls", None) is None:  # not yet wrapped
        create_application = daphne_server.Server.create_application

        def with_tls(self: Any, protocol: Any, scope: dict[str, Any]) -> Any:
            if scope.get("type") == "websocket":
                evidence = handshake_evidence(getattr(protocol, "transport", None))
                if evidence is not None:
                    scope.setdefault("extensions", {})["tls"] = evidence
            return create_application(self, protocol, scope)

        daphne_server.Server.create_application = with_tls
    tls_server = LabTlsServer(material)
    run = daphne_server.Server.run

    def run_with_tls(self: Any) -> None:
        # Daphne builds its HTTP factory in run(); listen once the reactor starts.
        def start() -> None:
            listen(tls_server, self.http_factory, port, interface).addErrback(cannot_listen, self)

        reactor: Any = _reactor
        reactor.callWhenRunning(start)
        run(self)

    server_class: Any = daphne_server.Server
    server_class.portal_tls = tls_server
    server_class.run = run_with_tls


def cannot_listen(failure: Failure, server: Any) -> None:
    log.critical("tls: cannot listen for TLS: %s", failure.getErrorMessage())
    server.stop()
