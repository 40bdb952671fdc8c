"""The database unavailable for a few seconds while a charger talks: the charger is not
dropped, its calls are answered once the database is back, every frame is stored, and the
outage is on record for the engineer.

SQLite: another connection holds the write lock (``BEGIN EXCLUSIVE``) longer than the
portal's busy timeout. PostgreSQL: Daphne reaches the server through a TCP proxy in this
test, which cuts every connection and refuses new ones for the outage."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import urllib.request
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from chargers import services
from chargers.models import ChargePoint, Connection, ConnectionEvent, User
from chargers.ocpp.consumer import WORKER
from chargers.ocpp.evidence import EvidenceWriter
from tests.faults.charger import Charger, connect, ocpp_now
from tests.faults.evidence import NO_FTP, missing_evidence
from tests.live import LiveServer, daphne_server, eventually

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "outage-key-0123456789"
OUTAGE = 3.0  # seconds
DURING_OUTAGE = 3  # calls the charger sends while the database is away


class CuttableProxy:
    """A TCP proxy to PostgreSQL that the test can cut: while cut, every open connection is
    closed and new ones are closed as soon as they are accepted."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.cut = False
        self.loop = asyncio.new_event_loop()
        self.writers: set[asyncio.StreamWriter] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop
        ).result(5)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()
                self.writers.discard(sink)

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    def _close_all(self) -> None:
        for writer in list(self.writers):
            writer.close()
        self.writers.clear()

    def set_cut(self, cut: bool) -> None:
        self.cut = cut
        if cut:
            self.loop.call_soon_threadsafe(self._close_all)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._close_all)
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@contextmanager
def portal_with_an_unreliable_database(tmp_path: Path) -> Iterator[tuple[LiveServer, object]]:
    """A Daphne and the means to take its database away: ``outage(True/False)``."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        lock = sqlite3.connect(db["NAME"], isolation_level=None, timeout=10)

        def outage(on: bool) -> None:
            lock.execute("BEGIN EXCLUSIVE" if on else "COMMIT")

        # A write waits one second for the lock, then fails and is retried.
        with daphne_server(tmp_path, extra_env=NO_FTP | {"SQLITE_BUSY_TIMEOUT": "1"}) as live:
            try:
                yield live, outage
            finally:
                if lock.in_transaction:
                    lock.execute("COMMIT")
                lock.close()
    elif connection.vendor == "postgresql":
        proxy = CuttableProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        url = f"postgres://{db['USER']}{password}@127.0.0.1:{proxy.port}/{db['NAME']}"
        try:
            with daphne_server(tmp_path, extra_env=NO_FTP | {"DATABASE_URL": url}) as live:
                yield live, proxy.set_cut
        finally:
            proxy.close()
    else:
        pytest.skip(f"no way to take a {connection.vendor} database away in this test")


async def talk_through_an_outage(server: LiveServer, outage: object) -> Charger:
    """Boot, then calls sent while the database is away, answered only once it is back."""
    assert callable(outage)
    async with connect(server.ws_url, "OUTAGE", KEY) as charger:
        await charger.call("BootNotification", {"chargePointVendor": "X", "chargePointModel": "Y"})
        await charger.call("Heartbeat", {})
        outage(True)
        try:
            await charger.send("Heartbeat", {})
            await charger.send(
                "MeterValues",
                {
                    "connectorId": 1,
                    "meterValue": [{"timestamp": ocpp_now(), "sampledValue": [{"value": "7"}]}],
                },
            )
            await charger.send("Heartbeat", {})
            await asyncio.sleep(OUTAGE)  # the outage lasts; nothing to wait for
            assert len(charger.answered) == 2, "answered before its evidence could be written"
        finally:
            outage(False)
        for _ in range(DURING_OUTAGE):
            await asyncio.wait_for(charger.receive(), 15)
        # Still the same connection, answered as before.
        await asyncio.wait_for(charger.call("Heartbeat", {}), 5)
    return charger


def test_the_charger_stays_connected_through_a_database_outage_and_nothing_is_lost(
    tmp_path: Path, engineer: User
) -> None:
    charge_point, _ = services.create_charge_point("OUTAGE", authorization_key=KEY)
    charge_point = ChargePoint.objects.get(pk=charge_point.pk)
    with portal_with_an_unreliable_database(tmp_path) as (server, outage):
        charger = asyncio.run(talk_through_an_outage(server, outage))
        # The charger, not the portal, ended the connection (recorded after it went).
        assert eventually(
            lambda: ConnectionEvent.objects.filter(
                charge_point=charge_point, kind="closed", close_code=1000
            ).exists()
        ), server.log()
        log = server.log()
        page = connected_page(server, engineer)

    assert len(charger.answered) == 2 + DURING_OUTAGE + 1
    assert missing_evidence(charge_point, charger.answered) == []
    [held] = Connection.objects.filter(charge_point=charge_point)
    seqs = list(held.frames.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 2 * len(charger.answered) + 1))
    # The engineer can see that the database failed, and that the frames made it.
    assert "evidence: writing 2 frames failed" in log, log
    assert "evidence: 2 frames written after" in log, log
    assert "failed database write" in page and "since the worker started" in page, page


def connected_page(server: LiveServer, user: User) -> str:
    """The connected charge points page of the live worker, as ``user`` sees it."""
    client = Client()
    client.force_login(user)
    request = urllib.request.Request(
        f"{server.http_url}{reverse('chargers:connected')}?fragment=1",
        headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


@pytest.fixture
def writers(monkeypatch: pytest.MonkeyPatch) -> weakref.WeakSet[EvidenceWriter]:
    """This process's evidence writers, as the page sees them: none until a test adds one."""
    live: weakref.WeakSet[EvidenceWriter] = weakref.WeakSet()
    monkeypatch.setattr("chargers.ocpp.evidence._live_writers", live)
    return live


def test_the_connected_page_says_nothing_while_the_writer_has_no_trouble(
    engineer_client: Client, writers: weakref.WeakSet[EvidenceWriter]
) -> None:
    writer = EvidenceWriter()
    writers.add(writer)
    page = engineer_client.get(reverse("chargers:connected")).content.decode()
    assert "Evidence writer" not in page


def test_the_connected_page_shows_failed_evidence_writes_to_engineers(
    engineer_client: Client, writers: weakref.WeakSet[EvidenceWriter]
) -> None:
    writer = EvidenceWriter()
    writers.add(writer)
    writer.failures, writer.last_error = 3, "OperationalError: database is locked"
    fragment = engineer_client.get(reverse("chargers:connected"), {"fragment": 1})
    assert (
        f"Evidence writer of worker {WORKER}: 3 failed database writes since the worker "
        "started (last: OperationalError: database is locked)."
    ) in fragment.content.decode()
