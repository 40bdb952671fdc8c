"""The thinnest OCPP 1.6-J central system: the ocpp library on a bare websockets server.

It stores nothing and decides nothing, so it is the yardstick for the portal's throughput (the
same charger traffic against both shows what transport, Django and evidence recording cost),
and a peer for the simulator's own tests.

    python bench/baseline_csms.py 9000      # ws://127.0.0.1:9000/ocpp/<chargePointId>
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

logger = logging.getLogger(__name__)

SUBPROTOCOL = Subprotocol("ocpp1.6")
HEARTBEAT_INTERVAL = 300


def ocpp_now() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BaselineCentralSystem(ChargePoint):
    """Accepts every charger and every card; one handler per charger-initiated action."""

    def __init__(
        self,
        charge_point_id: str,
        connection: ServerConnection,
        transaction_ids: Iterator[int] | None = None,
    ) -> None:
        super().__init__(charge_point_id, connection)
        self.transaction_ids = (
            transaction_ids if transaction_ids is not None else itertools.count(1)
        )

    @on(Action.boot_notification)
    def on_boot_notification(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(
            current_time=ocpp_now(), interval=HEARTBEAT_INTERVAL, status="Accepted"
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=ocpp_now())

    @on(Action.status_notification)
    def on_status_notification(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info={"status": "Accepted"})

    @on(Action.start_transaction)
    def on_start_transaction(self, **_: Any) -> call_result.StartTransaction:
        return call_result.StartTransaction(
            transaction_id=next(self.transaction_ids), id_tag_info={"status": "Accepted"}
        )

    @on(Action.stop_transaction)
    def on_stop_transaction(
        self, id_tag: str | None = None, **_: Any
    ) -> call_result.StopTransaction:
        return call_result.StopTransaction(
            id_tag_info={"status": "Accepted"} if id_tag is not None else None
        )

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status="Accepted")

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status_notification(
        self, **_: Any
    ) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    def on_firmware_status_notification(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()


CentralSystemFactory = Callable[[str, ServerConnection], BaselineCentralSystem]


def charge_point_id_of(connection: ServerConnection) -> str:
    """The last path segment of ``/ocpp/<chargePointId>`` (query string ignored)."""
    path = connection.request.path if connection.request is not None else "/"
    return path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


async def serve(
    host: str = "127.0.0.1", port: int = 0, *, factory: CentralSystemFactory | None = None
) -> Server:
    """Start serving; port 0 picks a free one (read it from ``server.sockets``).

    ``factory`` builds the central system for each connection; tests pass a subclass that
    records frames or answers differently. The default shares one transactionId sequence.
    """
    transaction_ids = itertools.count(1)

    def default_factory(
        charge_point_id: str, connection: ServerConnection
    ) -> BaselineCentralSystem:
        return BaselineCentralSystem(charge_point_id, connection, transaction_ids)

    make = factory or default_factory

    async def handle(connection: ServerConnection) -> None:
        if connection.subprotocol != SUBPROTOCOL:
            await connection.close(1002, "subprotocol ocpp1.6 required")
            return
        central_system = make(charge_point_id_of(connection), connection)
        with contextlib.suppress(ConnectionClosed):
            await central_system.start()

    return await websockets_serve(handle, host, port, subprotocols=[SUBPROTOCOL])


async def main(port: int) -> None:
    server = await serve("127.0.0.1", port)
    print(f"baseline CSMS: ws://127.0.0.1:{port}/ocpp/<chargePointId>")
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("port", type=int)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(arguments.port))
