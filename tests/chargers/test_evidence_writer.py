"""The evidence writer's group commit, as the consumer and the pages rely on it."""

from __future__ import annotations

import asyncio
import time

import pytest

from chargers import services
from chargers.models import Frame
from chargers.ocpp import evidence
from chargers.ocpp.evidence import CapturedFrame, EvidenceWriter
from tests.chargers.ocpp_helpers import adb, captured_call

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def heartbeats(count: int) -> list[CapturedFrame]:
    charge_point, _ = services.create_charge_point("CP-W", no_auth=True)
    connection = services.open_connection(
        charge_point, remote_address="", subprotocol="ocpp1.6", worker="t"
    )
    return [captured_call(connection, seq) for seq in range(1, count + 1)]


async def test_flush_and_backlog_count_the_batch_being_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A disconnecting charger's last frames may be in the batch being written: flush waits
    for them too, and the connected charge points page counts them as not yet stored."""
    write = evidence._write_batch

    def slow_write(frames: list[CapturedFrame], changes: object = None) -> None:
        time.sleep(0.3)
        write(frames, changes)  # type: ignore[arg-type]

    monkeypatch.setattr(evidence, "_write_batch", slow_write)
    first, second = await adb(heartbeats)(2)
    writer = EvidenceWriter()

    committed_first = writer.add(first)
    await asyncio.sleep(0.05)  # the first batch is being written
    committed_second = writer.add(second)  # waits for the next batch: group commit
    assert writer.backlog == 2
    await writer.flush()

    assert committed_first.done() and committed_second.done()
    assert writer.backlog == 0
    assert await adb(Frame.objects.filter(action="Heartbeat").count)() == 2
    assert writer.batches_written == 2


async def test_a_fault_of_the_fast_path_falls_back_to_one_row_at_a_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Retrying the same failing code would hold every charger of the worker forever: the
    frames go in one by one through the model instead, and the fault is logged."""

    def broken(*args: object, **kwargs: object) -> tuple[object, ...]:
        raise TypeError("a fault in the fast path")

    monkeypatch.setattr(evidence, "_values", broken)
    frames = await adb(heartbeats)(3)

    await adb(evidence._write_batch)(frames)

    stored = await adb(lambda: list(Frame.objects.filter(action="Heartbeat").order_by("seq")))()
    assert [(f.pk, f.seq, f.raw) for f in stored] == [(f.pk, f.seq, f.raw) for f in frames]
    assert "could not be written as one statement" in caplog.text
    assert "a fault in the fast path" in caplog.text


async def test_a_row_the_driver_cannot_encode_is_stored_escaped_not_retried_forever() -> None:
    """A lone UTF-16 surrogate (JSON ``"\\ud800"``) reached a row: SQLite's driver refuses
    to encode it with a UnicodeError, not a DataError, so the writer retried the batch
    forever and every charger of the worker stalled behind it (the class of
    NousResearch/hermes-agent #101666 and encode/django-rest-framework #6895, replayed as
    a charger's idTag and unique id). chargers.ocpp.frames refuses such a text now; should
    another one reach the writer, it is stored escaped and its neighbours as sent."""
    first, poisoned, last = await adb(heartbeats)(3)
    poisoned.payload = {"idTag": "\ud800"}
    poisoned.unique_id = "\udfff"

    await adb(evidence._write_batch)([first, poisoned, last])

    stored = await adb(lambda: list(Frame.objects.order_by("seq")))()
    assert [f.seq for f in stored] == [1, 2, 3]
    assert stored[0].raw == first.raw and stored[2].raw == last.raw
    assert stored[1].unique_id == "\\udfff" and stored[1].payload is None
    assert "stored escaped" in stored[1].validation_error
