"""Run the portal under Daphne with the settings chargers need, and the FTP server for
diagnostics uploads beside it."""

import asyncio
import io
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from daphne.cli import CommandLineInterface
from daphne.http_protocol import WebRequest
from daphne.server import Server
from daphne.server import twisted_loop as daphne_loop
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from chargers import security
from chargers.ocpp import tls
from chargers.services import (
    close_connections_of_dead_workers,
    close_connections_of_other_databases,
    fail_stale_commands,
)

# Close codes RFC 6455 defines for an endpoint to send, which the portal's consumer uses
# (no ocpp1.6 subprotocol, a binary frame, a frame over OCPP_MAX_FRAME_BYTES). Autobahn
# lets an application send only 1000 and 3000-4999 and raises on these, so Daphne would
# turn a deliberate close into a crashed connection.
PROTOCOL_CLOSE_CODES = frozenset({1002, 1003, 1007, 1008, 1009})


def adjust_daphne_websockets() -> None:
    """Daphne as chargers need it: the consumer may close with the RFC 6455 codes above, a
    message over Daphne's own size limit is refused with a close frame (1009, which the
    consumer then records) instead of a silently dropped TCP connection, and a connection
    Autobahn drops (ping timeout) tells the consumer why in the disconnect message's
    ``reason``, and each frame carries the time Daphne read it (``received_at``)."""
    if getattr(WebSocketProtocol.serverClose, "adjusted_for_chargers", False):
        return
    server_close = WebSocketProtocol.serverClose
    factory_init = WebSocketFactory.__init__

    def close(self: WebSocketProtocol, code: int | None = None) -> None:
        if code in PROTOCOL_CLOSE_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            server_close(self, code)

    def init(self: WebSocketFactory, *args: Any, **kwargs: Any) -> None:
        factory_init(self, *args, **kwargs)
        self.setProtocolOptions(failByDrop=False)

    def on_close(self: WebSocketProtocol, was_clean: bool, code: int, reason: str) -> None:
        # Daphne 4.2's onClose, with one addition: Daphne hands the application only the
        # close code, so a connection dropped because the charger left our pings unanswered
        # arrived as 1006 like any lost TCP connection. Autobahn's reason for dropping it
        # (wasNotCleanReason: "WebSocket ping timeout ...") now goes along as "reason".
        self.server.protocol_disconnected(self)
        if not self.muted and hasattr(self, "application_queue"):
            detail = "" if was_clean else (getattr(self, "wasNotCleanReason", None) or "")
            self.application_queue.put_nowait(
                {"type": "websocket.disconnect", "code": code, "reason": detail or reason or ""}
            )
        self.server.log_action(
            "websocket",
            "disconnected",
            {
                "path": self.request.path,
                "client": "%s:%s" % tuple(self.client_addr) if self.client_addr else None,  # noqa: UP031
            },
        )

    def on_message(self: WebSocketProtocol, payload: bytes, is_binary: bool) -> None:
        # Daphne 4.2's onMessage, with one addition: the time the frame was read goes along
        # as "received_at" (epoch seconds), the frame's capture time. The consumer may get
        # to the message later, after the previous frame's database work.
        received_at = time.time()
        if self.muted:
            return
        self.last_ping = received_at
        message: dict[str, Any] = {"type": "websocket.receive", "received_at": received_at}
        if is_binary:
            message["bytes"] = payload
        else:
            message["text"] = payload.decode("utf8")
        self.application_queue.put_nowait(message)

    close.adjusted_for_chargers = True  # type: ignore[attr-defined]
    WebSocketProtocol.serverClose = close
    WebSocketFactory.__init__ = init
    WebSocketProtocol.onClose = on_close
    WebSocketProtocol.onMessage = on_message


# Bytes of a request body handed to the application per message.
BODY_CHUNK_BYTES = 64 * 1024


class StreamedBody(asyncio.Queue[dict[str, Any]]):
    """The input queue of one HTTP request, handing the body to the application a chunk at
    a time as it asks for it.

    Daphne reads the whole body from Twisted's spool file into its queue at once, 8 KiB
    per message, before the application reads any: a 200 MB firmware image took a worker
    to 2.66 GB. Here the body stays in the spool file (Twisted keeps bodies over 100 kB,
    and every chunked one, in a temporary file) until ``get`` is called, so a request
    holds at most one chunk in memory, whatever its size. Other messages
    (``http.disconnect``) pass through unchanged."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self.source: BinaryIO | None = source
        self.skip_daphnes_body = True

    def put_nowait(self, item: dict[str, Any]) -> None:
        # Daphne's own loop now reads an empty file: its one empty body message is dropped.
        if self.skip_daphnes_body and item.get("type") == "http.request":
            if not item.get("more_body"):
                self.skip_daphnes_body = False
            return
        super().put_nowait(item)

    async def get(self) -> dict[str, Any]:
        if self.source is not None and self.empty():
            chunk = self.source.read(BODY_CHUNK_BYTES)
            more = len(chunk) == BODY_CHUNK_BYTES
            if not more:
                self.source.close()
                self.source = None
            return {"type": "http.request", "body": chunk, "more_body": more}
        return await super().get()


def leave_forms_to_django() -> None:
    """Twisted's ``Request`` without its own form parsing.

    Twisted parses every POST body of a form content type into ``request.args`` once the
    whole body is in (``Request.requestReceived``), for applications that read
    ``args``; Daphne never does. For ``multipart/form-data`` it reads the body into
    memory and builds an ``email`` message of it (``twisted.web.http._getMultiPartArgs``),
    several copies of the body at once: a 20 MiB firmware image took a worker from 143 to
    432 MiB, a 200 MiB one to 2.66 GB, before Django (which parses the form itself, a
    chunk at a time, to files on disk) saw a byte. ``parsePOSTFormSubmission=False`` is
    Twisted's switch for this."""
    if getattr(WebRequest.__init__, "leaves_forms_to_django", False):
        return
    original = WebRequest.__init__

    def init(self: WebRequest, *args: Any, **kwargs: Any) -> None:
        kwargs["parsePOSTFormSubmission"] = False
        original(self, *args, **kwargs)

    init.leaves_forms_to_django = True  # type: ignore[attr-defined]
    WebRequest.__init__ = init


def stream_request_bodies() -> None:
    """Daphne's ``Server.create_application`` with a ``StreamedBody`` queue for HTTP
    requests (the original's code otherwise: it makes the queue the application reads)."""
    if getattr(Server.create_application, "streams_bodies", False):
        return
    original = Server.create_application

    def create_application(self: Server, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") != "http" or not isinstance(protocol, WebRequest):
            return original(self, protocol, scope)
        assert "application_instance" not in self.connections[protocol]
        input_queue = StreamedBody(protocol.content)
        protocol.content = io.BytesIO()  # what Daphne's own loop reads: nothing
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope, receive=input_queue.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop()
        )
        return input_queue

    create_application.streams_bodies = True  # type: ignore[attr-defined]
    Server.create_application = create_application


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
        parser.add_argument(
            "--tls-port",
            type=int,
            default=settings.PORTAL_TLS_PORT,
            help="Also serve wss:// for chargers on this port with the lab CA's certificates "
            "(security profiles 2 and 3; PORTAL_TLS_PORT; 0: no TLS port).",
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
            # Daphne's own message limit sits above the portal's, so that an oversized frame
            # reaches the consumer and is recorded as refused instead of vanishing.
            "--websocket-max-message-size",
            str(settings.OCPP_TRANSPORT_MAX_BYTES),
            "--websocket-max-frame-size",
            str(settings.OCPP_TRANSPORT_MAX_BYTES),
        ]
        if options["fd"] is not None:
            argv += ["--fd", str(options["fd"])]
        else:
            argv += ["--bind", options["bind"], "--port", str(options["port"])]
            self.stdout.write(f"Portal: http://{options['bind']}:{options['port']}/")
            self.stdout.write(f"Chargers: ws://{options['bind']}:{options['port']}/ocpp/<id>")
        # The loop Daphne made when the apps were loaded (manage.py chose its kind).
        loop = type(daphne_loop).__module__.split(".")[0]
        self.stdout.write(f"Event loop: {loop} (PORTAL_EVENT_LOOP={settings.PORTAL_EVENT_LOOP})")
        closed = close_connections_of_other_databases()
        if closed:
            self.stdout.write(
                f"Closed {closed} connection(s) opened by workers of another database: "
                "this is a restored copy, whose channel layer does not reach them."
            )
        failed = fail_stale_commands()
        if failed:
            self.stdout.write(f"Failed {failed} command(s) left pending by stopped workers.")
        closed = close_connections_of_dead_workers()
        if closed:
            self.stdout.write(f"Closed {closed} connection(s) left open by stopped workers.")
        module, _, attribute = settings.ASGI_APPLICATION.rpartition(".")
        ftp = None
        if settings.FTP_PORT and not options["no_ftp"]:
            manage = Path(__file__).resolve().parents[3] / "manage.py"
            ftp = subprocess.Popen([sys.executable, str(manage), "ftpserver"])  # noqa: S603
        adjust_daphne_websockets()
        stream_request_bodies()
        leave_forms_to_django()
        if options["tls_port"]:
            # Created on first use and kept: chargers pin the lab root.
            tls.install(security.server_material(), options["tls_port"], options["bind"])
            self.stdout.write(
                f"Chargers over TLS (security profiles 2, 3): "
                f"wss://{options['bind']}:{options['tls_port']}/ocpp/<id> "
                f"(certificates for {', '.join(settings.OCPP_TLS_HOST_NAMES)})"
            )
        try:
            CommandLineInterface().run([*argv, f"{module}:{attribute}"])
        finally:
            if ftp is not None:
                ftp.terminate()
                try:
                    ftp.wait(5)
                except subprocess.TimeoutExpired:
                    ftp.kill()
