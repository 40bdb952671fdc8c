"""Transport between a charge station's websocket and the central system.

Authenticates before the upgrade (a refused handshake is answered HTTP 403 by Daphne and
logged as a connection event), accepts ``ocpp1.6``, hands every text frame to the central
system, and runs the commands other processes send through the channel layer. Decisions
about the domain are made by chargers.services and the central system, not here.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import socket
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer, WebsocketConsumer
from django.conf import settings

from chargers import runs, services
from chargers.models import ChargePoint, charge_point_group
from chargers.ocpp.central_system import CentralSystem, cancel_quietly

log = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
WORKER = f"{socket.gethostname()}:{os.getpid()}"[:80]

# Close codes the portal uses (4000-4999 are for applications).
CLOSE_NO_SUBPROTOCOL = 1002
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_MESSAGE_TOO_BIG = 1009
CLOSE_REPLACED = 4000
CLOSE_DISABLED = 4001
# An injected disconnect (the portal closes on purpose and refuses reconnects for a while).
# Not 1001 Going Away: Daphne's websocket library lets a server close with 1000 or 3000-4999.
CLOSE_INJECTED_FAULT = 4002

# How much of a refused frame (binary, oversized) is kept as evidence.
KEPT_OF_REFUSED_FRAME = 4096


class OcppConsumer(AsyncWebsocketConsumer):
    charge_point: ChargePoint | None = None
    central_system: CentralSystem | None = None
    connection_id: int | None = None
    close_detail = ""
    replaced = False
    # When the handshake, the frame being handled, and the close arrived (see dispatch).
    connect_received_at: datetime.datetime | None = None
    received_at: datetime.datetime | None = None
    closed_at: datetime.datetime | None = None

    async def connect(self) -> None:
        self.identity = self.scope["url_route"]["kwargs"]["charge_point_id"]
        self.remote = _remote_address(self.scope)
        self.command_tasks: set[asyncio.Task[None]] = set()
        headers = dict(self.scope.get("headers", []))
        # The handshake of a wss:// connection to the portal's own TLS port (chargers/ocpp/
        # tls.py puts it into the scope as the ASGI TLS extension); None over ws://.
        self.tls = self.scope.get("extensions", {}).get("tls")
        result = await database_sync_to_async(services.authenticate_charge_point)(
            self.identity,
            headers.get(b"authorization"),
            self.remote,
            tls=self.tls,
            # "wss" over the portal's TLS port, or behind a trusted TLS proxy (config.proxy).
            scheme=str(self.scope.get("scheme") or "ws"),
        )
        if result.refused:
            log.warning("ocpp: refused %r from %s: %s", self.identity, self.remote, result.refused)
            await database_sync_to_async(services.record_refusal)(
                self.identity,
                result.refused,
                self.remote,
                _kept(self.tls),
                self.connect_received_at,
            )
            await self.close()  # before accept: Daphne answers HTTP 403
            return
        assert result.charge_point is not None
        self.charge_point = result.charge_point
        offered = self.scope.get("subprotocols") or []
        subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered else ""

        # A newer connection replaces any older one of the same identity, in any worker.
        self.group = charge_point_group(self.charge_point.pk)
        await self.channel_layer.group_send(
            self.group, {"type": "ocpp.replace", "by": self.channel_name}
        )
        connection = await database_sync_to_async(services.open_connection)(
            self.charge_point,
            remote_address=self.remote,
            subprotocol=subprotocol,
            worker=WORKER,
            tls=_kept(self.tls),
            at=self.connect_received_at,
        )
        self.connection_id = connection.pk
        if not subprotocol:
            # OCPP-J: with no acceptable subprotocol, close right after the handshake.
            await self.accept()
            self.close_detail = (
                f"no acceptable subprotocol (offered: {', '.join(offered) or 'none'})"
            )
            await self.close(code=CLOSE_NO_SUBPROTOCOL)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.central_system = CentralSystem(
            charge_point_pk=self.charge_point.pk,
            charge_point_id=self.charge_point.charge_point_id,
            connection_id=connection.pk,
            transport_send=self._send_text,
            response_timeout=settings.OCPP_RESPONSE_TIMEOUT,
            connectors=model.connectors if (model := self.charge_point.charger_model) else None,
        )
        attempt = await database_sync_to_async(runs.current_attempt)(self.charge_point.pk)
        self.central_system.set_context(attempt.run_id, attempt.step_result_id)
        self.central_system.set_faults(
            await database_sync_to_async(services.fault_rules)(self.charge_point.pk)
        )
        await self.accept(subprotocol=SUBPROTOCOL)

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """A charger's frame goes straight to ``websocket_receive``.

        Channels' own dispatch first hops to the database thread to close stale connections
        (``aclose_old_connections``), for every message: for a charger that is a thread hop
        per frame, queued behind the evidence batch the thread is writing, before the frame
        is even parsed. Nothing here touches the database on the event loop; every database
        call of the consumer, the central system and the evidence writer is a
        ``database_sync_to_async`` call, which closes stale connections before and after
        itself. Other messages (connect, disconnect, channel-layer events) keep the hop.

        Times are taken here, before any await: a frame's capture time is when Daphne read
        it (``received_at``, epoch seconds, which ``manage.py serve`` adds to the message),
        else now; a handshake's and a close's are now, before the database hop above. Taken
        later they would carry the wait for the database thread (behind the evidence
        writer's batch) into every interval the judge measures.
        """
        kind = message["type"]
        if kind == "websocket.receive":
            self.received_at = _arrival(message)
            await self.websocket_receive(message)
            return
        if kind == "websocket.connect":
            self.connect_received_at = _arrival(message)
        elif kind == "websocket.disconnect" and self.closed_at is None:
            self.closed_at = _arrival(message)
        await super().dispatch(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.central_system is None:
            return
        if text_data is None:
            # OCPP-J frames are text; a binary frame is recorded and the socket closed.
            raw = (bytes_data or b"")[:KEPT_OF_REFUSED_FRAME].decode("utf-8", errors="replace")
            await self.central_system.record_unreadable(
                raw,
                f"binary frame of {len(bytes_data or b'')} bytes; OCPP-J frames are text",
                received_at=self.received_at,
            )
            self.close_detail = "binary frame received"
            await self.close(code=CLOSE_UNSUPPORTED_DATA)
            return
        limit = settings.OCPP_MAX_FRAME_BYTES
        # Encoding costs a copy: only a text that could be over the limit is measured.
        if len(text_data) * 4 > limit and (size := _utf8_size(text_data)) > limit:
            await self.central_system.record_unreadable(
                text_data[:KEPT_OF_REFUSED_FRAME],
                f"frame of {size} bytes refused: over the limit of {limit} bytes "
                f"(OCPP_MAX_FRAME_BYTES); stored cut to its first "
                f"{min(len(text_data), KEPT_OF_REFUSED_FRAME)} characters",
                received_at=self.received_at,
            )
            self.close_detail = f"frame of {size} bytes over the limit of {limit} bytes"
            await self.close(code=CLOSE_MESSAGE_TOO_BIG)
            return
        await self.central_system.route_message(text_data, received_at=self.received_at)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        # Why the server dropped the connection, when it says (manage.py serve passes
        # Autobahn's reason along: a ping left unanswered, a closing handshake timed out).
        reason = message.get("reason")
        if reason and not self.close_detail:
            self.close_detail = str(reason)
        await super().websocket_disconnect(message)

    async def disconnect(self, code: int) -> None:
        for task in list(self.command_tasks):
            await cancel_quietly(task)
        if self.central_system is not None:
            await self.central_system.stop()
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if code == CLOSE_MESSAGE_TOO_BIG and not self.close_detail:
            # Daphne refused a message over its own limit before the portal saw it.
            self.close_detail = (
                f"Daphne refused a message over {settings.OCPP_TRANSPORT_MAX_BYTES} bytes"
            )
        if self.connection_id is not None:
            await database_sync_to_async(services.close_connection)(
                self.connection_id,
                close_code=code if isinstance(code, int) else None,
                replaced=self.replaced,
                detail=self.close_detail,
                at=self.closed_at,
            )

    # --- channel-layer events ------------------------------------------------------------

    async def ocpp_replace(self, event: dict[str, Any]) -> None:
        if event["by"] == self.channel_name:
            return
        self.replaced = True
        await self.close(code=CLOSE_REPLACED)

    async def ocpp_context(self, event: dict[str, Any]) -> None:
        """A step started or finished: later frames belong to it (or to no step)."""
        if self.central_system is not None:
            self.central_system.set_context(event["run_id"], event["step_result_id"])

    async def ocpp_disconnect(self, event: dict[str, Any]) -> None:
        self.close_detail = event["reason"]
        await self.close(code=CLOSE_DISABLED)

    async def ocpp_faults(self, event: dict[str, Any]) -> None:
        """The charge point's injected faults changed (chargers.services.inject_fault)."""
        if self.central_system is not None:
            self.central_system.set_faults(event["faults"])
            await self._acknowledge(event)

    async def ocpp_fault_close(self, event: dict[str, Any]) -> None:
        """An injected disconnect: close; its handshakes are refused for a while."""
        self.close_detail = event["reason"][:300]
        await self.close(code=CLOSE_INJECTED_FAULT)
        if self.central_system is not None:
            await self._acknowledge(event)

    async def _acknowledge(self, event: dict[str, Any]) -> None:
        """Tell the injecting service the fault is in force (chargers.services.ask_group).
        Only a consumer holding an accepted socket answers: one still connecting reads the
        faults from the database before it accepts."""
        if event.get("reply_channel"):
            await self.channel_layer.send(
                event["reply_channel"],
                {"type": "ocpp.fault.applied", "connection_id": self.connection_id},
            )

    async def ocpp_command(self, event: dict[str, Any]) -> None:
        """Run a command as a task: awaiting the charger's answer here would block this
        consumer's dispatch loop, and with it the very frame that carries the answer."""
        task = asyncio.get_running_loop().create_task(self._run_command(event))
        self.command_tasks.add(task)
        task.add_done_callback(self.command_tasks.discard)

    async def _run_command(self, event: dict[str, Any]) -> None:
        assert self.central_system is not None
        outcome = await self.central_system.send_command(
            event["action"],
            event["payload"],
            deliberately_invalid=event["invalid"],
            evidence_of=(event.get("run_id"), event.get("step_result_id")),
            command_id=event["command_id"],
        )
        await database_sync_to_async(services.complete_command)(event["command_id"], outcome)
        if event.get("reply_channel"):
            await self.channel_layer.send(
                event["reply_channel"],
                {"type": "ocpp.command.done", "command_id": event["command_id"]},
            )


def _arrival(message: dict[str, Any]) -> datetime.datetime:
    """When a message reached the portal: Daphne's receipt time when the message carries
    one (``received_at``, epoch seconds), else now."""
    received = message.get("received_at")
    if isinstance(received, float):
        return datetime.datetime.fromtimestamp(received, datetime.UTC)
    return datetime.datetime.now(datetime.UTC)


def _kept(tls: dict[str, Any] | None) -> dict[str, Any] | None:
    """What connection evidence keeps of a handshake: the portal's summary keys and the
    client's certificate chain (PEM), not the server certificate's PEM (its description
    and fingerprint identify it)."""
    if tls is None:
        return None
    kept = ("version", "cipher", "server_name", "server_certificate", "client_certificate")
    evidence = {key: tls.get(key) for key in kept}
    evidence["client_cert_chain"] = tls.get("client_cert_chain") or []
    if tls.get("fault"):
        evidence["fault"] = tls["fault"]
    return evidence


class UnroutedConsumer(WebsocketConsumer):
    """A websocket handshake for a path no route takes (``/ocpp/`` with no identity,
    ``/ocpp/CP1/extra``, ``/anything``): refused before the upgrade, which Daphne answers
    with HTTP 403, and logged. Without it Channels' router raises, and Daphne answers 500
    with a traceback in the log. A path under ``/ocpp/`` is a charger with a wrong
    central-system URL: the refusal is recorded as a connection event engineers see."""

    def connect(self) -> None:
        path = str(self.scope.get("path", ""))
        remote = _remote_address(self.scope)
        log.warning("ocpp: refused a websocket to %r from %s: no such route", path, remote)
        if path.lstrip("/").startswith("ocpp/"):
            identity = path.lstrip("/").removeprefix("ocpp/")
            services.record_refusal(
                identity,
                f"no route for the path {path[:200]!r}: chargers connect to /ocpp/<chargePointId>",
                remote,
            )
        self.close()


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def _remote_address(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    if not client:
        return ""
    host, port = client[0], client[1]
    return f"{host}:{port}"[:64]
