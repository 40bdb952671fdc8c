"""The evidence writer: every frame of every connection of this process, written in batches.

Group commit, as databases do it: frames from all connections are gathered while the
previous batch is being written, then written in one transaction, and only then are the
answers among them released to the chargers (the consumer awaits the future that ``add``
returns before it sends). A killed worker therefore loses nothing it answered, and the
portal still writes hundreds of frames per transaction under load instead of one INSERT
per frame. When the database is unavailable the batch is retried with back-off and the
answers wait: chargers see slow answers, never answers missing from the evidence.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime
import functools
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)

from chargers.models import Frame, run_group

log = logging.getLogger(__name__)

MAX_BATCH = 500
RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0, 2.0)


StateChange = Callable[[], None]


@dataclass(slots=True)
class CapturedFrame:
    """A frame as the central system captures it: the fields of a ``Frame`` row without a
    model instance, whose construction alone cost more on the event loop than parsing the
    frame did. The writer inserts these as they are; ``as_model`` is for the rare row the
    database refuses."""

    charge_point_id: int
    connection_id: int
    seq: int
    captured_at: datetime.datetime
    direction: str
    message_type: int | None
    unique_id: str
    action: str
    raw: str
    payload: Any
    validation_error: str = ""
    deliberately_invalid: bool = False
    run_id: int | None = None
    step_result_id: int | None = None
    pk: int | None = None

    def as_model(self) -> Frame:
        return Frame(
            pk=self.pk,
            charge_point_id=self.charge_point_id,
            connection_id=self.connection_id,
            seq=self.seq,
            captured_at=self.captured_at,
            direction=self.direction,
            message_type=self.message_type,
            unique_id=self.unique_id,
            action=self.action,
            raw=self.raw,
            payload=self.payload,
            validation_error=self.validation_error,
            deliberately_invalid=self.deliberately_invalid,
            run_id=self.run_id,
            step_result_id=self.step_result_id,
        )


def _apply(changes: list[StateChange]) -> None:
    """State that follows from the frames (a connector's last status), written in the same
    transaction as they are; one that fails is logged and does not hold the evidence back."""
    for change in changes:
        try:
            with transaction.atomic():
                change()
        except Exception:
            log.exception("evidence: a state change recorded with the frames failed")


class _StateChangeFailed(Exception):
    pass


def _apply_together(changes: list[StateChange]) -> None:
    """The changes without a savepoint each: two statements fewer per change on the hot
    path. A failure abandons the transaction (PostgreSQL would refuse to go on in it) for
    ``_write_batch`` to write the batch again with ``_apply``."""
    for change in changes:
        try:
            change()
        except Exception as error:
            raise _StateChangeFailed from error


# The columns of a Frame row as the writer inserts them. The hot path builds one
# multi-row INSERT with its parameters and hands it straight to the driver: Django's
# bulk_create compiles every field of every row in Python, and the driver's executemany
# takes the GIL back after every row, each time waiting for the event loop that serves the
# chargers to let go of it. One statement per batch (on PostgreSQL one COPY) keeps the
# database thread's Python work small and lets SQLite or the network work unhindered
# (bench/RESULTS.md, "OCPP ingest").
_FIELDS = (
    "charge_point",
    "connection",
    "seq",
    "captured_at",
    "direction",
    "message_type",
    "unique_id",
    "action",
    "raw",
    "payload",
    "validation_error",
    "deliberately_invalid",
    "run",
    "step_result",
)
# 14 parameters a row: well under SQLite's 32,766 and PostgreSQL's 65,535 per statement.
ROWS_PER_STATEMENT = 500


def _table_and_columns() -> str:
    """``table (column, ...)`` of a Frame row as the writer sends it, names from the model."""
    quote = connection.ops.quote_name
    column_of = {field.name: str(field.column) for field in Frame._meta.concrete_fields}
    columns = ", ".join(quote(column_of[name]) for name in _FIELDS)
    return f"{quote(Frame._meta.db_table)} ({columns})"


@functools.lru_cache(maxsize=64)
def _insert_sql(vendor: str, rows: int) -> str:
    """The INSERT of ``rows`` Frame rows in the driver's own placeholder style (the SQL goes
    to the driver, not through Django's cursor, which would rewrite it every batch). SQLite's
    driver keeps the statement compiled for the next batch of the same size."""
    placeholder = "?" if vendor == "sqlite" else "%s"
    row = "(" + ", ".join([placeholder] * len(_FIELDS)) + ")"
    # Names from the model, values as parameters.
    return f"INSERT INTO {_table_and_columns()} VALUES " + ", ".join([row] * rows)  # noqa: S608


@functools.cache
def _copy_sql() -> str:
    """PostgreSQL's COPY of Frame rows, the columns in the order of ``_FIELDS``."""
    return f"COPY {_table_and_columns()} FROM STDIN"


def _insert(frames: list[CapturedFrame]) -> None:
    """Insert the frames as they are and give those that stream live their primary key."""
    connection.ensure_connection()
    values = functools.partial(
        _values,
        adapt_time=connection.ops.adapt_datetimefield_value,
        adapt_json=connection.ops.adapt_json_value,
    )
    driver = connection.connection
    if connection.vendor == "postgresql":
        # COPY, not INSERT: Django's psycopg cursors bind parameters on the client, and a
        # multi-row INSERT is too long for psycopg's query cache, so every batch had its
        # hundreds of placeholders parsed again in Python. COPY's rows are formatted in C:
        # half the database thread's time per batch (bench/RESULTS.md, "third round").
        with (
            connection.wrap_database_errors,
            driver.cursor() as cursor,
            cursor.copy(_copy_sql()) as copy,
        ):
            for frame in frames:
                copy.write_row(values(frame))
    else:
        for start in range(0, len(frames), ROWS_PER_STATEMENT):
            chunk = frames[start : start + ROWS_PER_STATEMENT]
            params: list[Any] = []
            for frame in chunk:
                params += values(frame)
            sql = _insert_sql(connection.vendor, len(chunk))
            with connection.wrap_database_errors, contextlib.closing(driver.cursor()) as cursor:
                cursor.execute(sql, params)
    _fetch_ids([f for f in frames if f.run_id is not None])


def _values(
    f: CapturedFrame, adapt_time: Callable[[Any], Any], adapt_json: Callable[[Any, Any], Any]
) -> tuple[Any, ...]:
    """A frame's column values in the order of ``_FIELDS``, as the driver takes them."""
    return (
        f.charge_point_id,
        f.connection_id,
        f.seq,
        adapt_time(f.captured_at),
        f.direction,
        f.message_type,
        f.unique_id,
        f.action,
        f.raw,
        None if f.payload is None else adapt_json(f.payload, None),
        f.validation_error,
        f.deliberately_invalid,
        f.run_id,
        f.step_result_id,
    )


def _fetch_ids(frames: list[CapturedFrame]) -> None:
    """Primary keys for the frames of a run (the console links and de-duplicates by id),
    read back by their unique (connection, seq): one indexed range per connection."""
    by_connection: dict[int, dict[int, CapturedFrame]] = {}
    for frame in frames:
        by_connection.setdefault(frame.connection_id, {})[frame.seq] = frame
    for connection_id, by_seq in by_connection.items():
        rows = Frame.objects.filter(
            connection_id=connection_id, seq__range=(min(by_seq), max(by_seq))
        ).values_list("seq", "pk")
        for seq, pk in rows:
            if seq in by_seq:
                by_seq[seq].pk = pk


def _write_batch(frames: list[CapturedFrame], changes: list[StateChange] | None = None) -> None:
    changes = changes or []
    try:
        try:
            with transaction.atomic():
                _insert(frames)
                _apply_together(changes)
        except _StateChangeFailed:
            with transaction.atomic():
                _insert(frames)
                _apply(changes)
    except (DataError, IntegrityError):
        # One row the database refuses for its content must not hold back the others:
        # write them one by one and keep a refused row in a form the database takes,
        # saying why. (A database that is down raises OperationalError: retried whole.)
        _write_one_by_one(frames, changes)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        # A fault of the fast path itself (not of the database, not of a row): retrying
        # the same code would hold every charger of the worker forever. The model's own
        # save is a different path; if that fails too, the batch is retried as usual.
        log.exception(
            "evidence: the batch of %d frames could not be written as one statement; "
            "writing them one by one",
            len(frames),
        )
        _write_one_by_one(frames, changes)


def _write_one_by_one(frames: list[CapturedFrame], changes: list[StateChange]) -> None:
    for frame in frames:
        row = frame.as_model()
        try:
            with transaction.atomic():
                row.save(force_insert=True)
            frame.pk = row.pk
        except (DataError, IntegrityError, UnicodeError) as error:
            # UnicodeError: text the driver cannot encode as UTF-8 (a lone surrogate), which
            # SQLite's driver raises before the database sees the row.
            try:
                with transaction.atomic():
                    storable_copy(row, error).save(force_insert=True)
                frame.pk = row.pk
            except (DataError, IntegrityError, UnicodeError):
                log.error(
                    "evidence: frame %s #%s could not be stored at all: %r",
                    frame.connection_id,
                    frame.seq,
                    frame.raw[:2000],
                )
    _apply(changes)


def storable_copy(frame: Frame, error: Exception) -> Frame:
    frame.pk = None
    frame.raw = frame.raw.encode("unicode_escape").decode("ascii")
    frame.unique_id = frame.unique_id.encode("unicode_escape").decode("ascii")[:100]
    frame.action = frame.action.encode("unicode_escape").decode("ascii")[:64]
    frame.payload = None
    note = (
        f"{frame.validation_error}; " if frame.validation_error else ""
    ) + f"stored escaped: the database refused the frame as sent ({error})"[:500]
    # A note may quote what was refused (a lone surrogate): escaped like the rest.
    frame.validation_error = note.encode("utf-8", "backslashreplace").decode("utf-8")
    return frame


def without_nul(frame: CapturedFrame) -> CapturedFrame:
    """PostgreSQL's text and jsonb cannot hold U+0000; a frame that contains it is stored
    with ``\\u0000`` instead, and the evidence says so."""
    # The payload was parsed from the raw text, so it can only hold U+0000 where the text
    # does, as the character or as the escape ``\\u0000``.
    if "\x00" in frame.raw or ("\\u0000" in frame.raw and _has_nul(frame.payload)):
        frame.raw = frame.raw.replace("\x00", "\\u0000")
        frame.payload = _replace_nul(frame.payload)
        note = "contained NUL characters, stored as \\u0000"
        frame.validation_error = (
            f"{frame.validation_error}; {note}" if frame.validation_error else note
        )
    return frame


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _replace_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, list):
        return [_replace_nul(item) for item in value]
    if isinstance(value, dict):
        return {_replace_nul(k): _replace_nul(v) for k, v in value.items()}
    return value


class EvidenceWriter:
    """One per event loop, that is one per Daphne process."""

    def __init__(self) -> None:
        self._pending: list[tuple[CapturedFrame, asyncio.Future[None]]] = []
        # The batch being written: no longer pending, not yet committed.
        self._writing: list[tuple[CapturedFrame, asyncio.Future[None]]] = []
        self._changes: list[StateChange] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches_written = 0
        self.frames_written = 0
        self.failures = 0
        self.last_error = ""
        _live_writers.add(self)

    def add(
        self, frame: CapturedFrame, changes: list[StateChange] | None = None
    ) -> asyncio.Future[None]:
        """Queue a frame, and the state changes that follow from it; the future resolves
        once both are committed."""
        if changes:
            self._changes.extend(changes)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((without_nul(frame), future))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return future

    async def flush(self) -> None:
        """Wait until everything queued so far is committed, the batch being written too."""
        futures = [future for _, future in self._writing + self._pending]
        if futures:
            await asyncio.gather(*futures, return_exceptions=True)

    @property
    def backlog(self) -> int:
        return len(self._writing) + len(self._pending)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = self._writing = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                changes, self._changes = self._changes, []
                frames = [frame for frame, _ in batch]
                await self._write_with_retries(frames, changes)
                self._writing = []
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
                await publish_to_runs(frames)

    async def _write_with_retries(
        self, frames: list[CapturedFrame], changes: list[StateChange]
    ) -> None:
        attempt = 0
        while True:
            try:
                await database_sync_to_async(_write_batch)(frames, changes)
            except Exception as error:
                self.failures += 1
                self.last_error = f"{type(error).__name__}: {error}"
                delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                log.error(
                    "evidence: writing %d frames failed (%s); retrying in %.2f s",
                    len(frames),
                    self.last_error,
                    delay,
                )
                await database_sync_to_async(close_old_connections)()
                await asyncio.sleep(delay)
                attempt += 1
                continue
            self.batches_written += 1
            self.frames_written += len(frames)
            if attempt:
                log.warning("evidence: %d frames written after %d retries", len(frames), attempt)
            return

    def write_pending_now(self) -> int:
        """Synchronously write what is still queued (process exit)."""
        frames = [frame for frame, future in self._pending if not future.done()]
        changes, self._changes = self._changes, []
        self._pending.clear()
        if frames:
            _write_batch(frames, changes)
        return len(frames)


def live_frame(frame: CapturedFrame) -> dict[str, Any]:
    """What a run's console shows of a frame as it arrives."""
    return {
        "id": frame.pk,
        "seq": frame.seq,
        "at": frame.captured_at.isoformat(),
        "direction": frame.direction,
        "message_type": frame.message_type,
        "action": frame.action,
        "unique_id": frame.unique_id,
        "raw": frame.raw[:2000],
        "validation_error": frame.validation_error,
        "step_result_id": frame.step_result_id,
    }


async def publish_to_runs(frames: list[CapturedFrame]) -> None:
    """Stream committed frames to the consoles of the runs they belong to. A failure here
    never touches the evidence, which is already written."""
    by_run: dict[int, list[dict[str, Any]]] = {}
    for frame in frames:
        if frame.run_id is not None:
            by_run.setdefault(frame.run_id, []).append(live_frame(frame))
    if not by_run:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    for run_id, rows in by_run.items():
        try:
            await layer.group_send(run_group(run_id), {"type": "run.frames", "frames": rows})
        except Exception:
            log.exception("evidence: could not stream %d frames to run %s", len(rows), run_id)


@dataclass(frozen=True)
class WriterHealth:
    """What the evidence writers of this process have to tell engineers."""

    failures: int  # database writes that failed (and were retried) since the process started
    backlog: int  # frames queued, not yet committed
    last_error: str


def writer_health() -> WriterHealth:
    writers = list(_live_writers)
    return WriterHealth(
        failures=sum(writer.failures for writer in writers),
        backlog=sum(writer.backlog for writer in writers),
        last_error=next((w.last_error for w in writers if w.last_error), ""),
    )


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EvidenceWriter] = (
    weakref.WeakKeyDictionary()
)
_live_writers: weakref.WeakSet[EvidenceWriter] = weakref.WeakSet()


def get_writer() -> EvidenceWriter:
    """The writer of the running event loop."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = EvidenceWriter()
    return writer


@atexit.register
def _write_everything_left() -> None:
    for writer in list(_live_writers):
        try:
            written = writer.write_pending_now()
        except Exception:
            log.exception("evidence: could not write the frames left at exit")
            continue
        if written:
            log.warning("evidence: wrote %d frames left at exit", written)
