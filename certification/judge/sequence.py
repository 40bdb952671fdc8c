"""Shared helpers for reading a step's frames: calls, replies, statuses and expected orders.

Rules are written in terms of these so that they read like the plan's table ("SN Preparing
then Authorize then StartTransaction and SN Charging in either order") instead of index
arithmetic over a list of frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from certification.judge.types import CALL, CALLERROR, CALLRESULT, Direction, Frame

Predicate = Callable[[Frame], bool]


def position(frame: Frame) -> tuple[datetime, int]:
    """Frames sort by capture time, then by capture order for frames of the same instant."""
    return (frame.at, frame.seq)


def ordered(frames: Iterable[Frame]) -> tuple[Frame, ...]:
    return tuple(sorted(frames, key=position))


def is_after(frame: Frame, other: Frame | None) -> bool:
    """True when `frame` was captured after `other`; everything is after "no frame"."""
    return other is None or position(frame) > position(other)


def between(frames: Iterable[Frame], after: Frame | None, before: Frame | None) -> list[Frame]:
    """The frames strictly after `after` and strictly before `before` (None: unbounded)."""
    return [
        frame
        for frame in frames
        if is_after(frame, after) and (before is None or position(frame) < position(before))
    ]


def seconds_between(earlier: Frame | datetime, later: Frame | datetime) -> float:
    start = earlier.at if isinstance(earlier, Frame) else earlier
    end = later.at if isinstance(later, Frame) else later
    return round((end - start).total_seconds(), 3)


def format_seconds(seconds: float) -> str:
    """60.0 -> "60 s", 59.25 -> "59.2 s": engineers read whole seconds, not floats."""
    rounded = round(seconds, 1)
    return f"{rounded:g} s"


def frame_ids(*frames: Frame | None) -> tuple[int, ...]:
    return tuple(frame.id for frame in frames if frame is not None and frame.id is not None)


def payload_of(frame: Frame | None) -> dict[str, Any]:
    if frame is None or not isinstance(frame.payload, dict):
        return {}
    return frame.payload


def parse_timestamp(value: object) -> datetime | None:
    """An OCPP dateTime (ISO 8601, usually with a Z); naive values are taken as UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def same_id_tag(a: object, b: object) -> bool:
    """Two idTags are the same card when they differ only in case: IdToken is a
    CiString20Type, case-insensitive (OCPP 1.6 §7.9, §7.28)."""
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return a == b


def as_int(value: object) -> int | None:
    """Configuration values are strings on the wire ("30"); payload ints stay ints."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


# Predicates --------------------------------------------------------------------------------


def is_call(frame: Frame, action: str | None = None, direction: Direction | None = None) -> bool:
    return (
        frame.message_type == CALL
        and (action is None or frame.action == action)
        and (direction is None or frame.direction == direction)
    )


def charger_call(action: str, **fields: Any) -> Predicate:
    """A CALL the charger sent, whose payload carries `fields` (camelCase keys)."""

    def matches(frame: Frame) -> bool:
        payload = payload_of(frame)
        return is_call(frame, action, "in") and all(
            payload.get(name) == value for name, value in fields.items()
        )

    return matches


def portal_call(action: str, **fields: Any) -> Predicate:
    """A CALL the portal sent to the charger, whose payload carries `fields`."""

    def matches(frame: Frame) -> bool:
        payload = payload_of(frame)
        return is_call(frame, action, "out") and all(
            payload.get(name) == value for name, value in fields.items()
        )

    return matches


def status_is(status: str, connector_id: int | None = None) -> Predicate:
    """A StatusNotification with this status, for this connector when one is given."""

    def matches(frame: Frame) -> bool:
        payload = payload_of(frame)
        return (
            is_call(frame, "StatusNotification", "in")
            and payload.get("status") == status
            and (connector_id is None or payload.get("connectorId") == connector_id)
        )

    return matches


def firmware_status_is(status: str) -> Predicate:
    return charger_call("FirmwareStatusNotification", status=status)


def diagnostics_status_is(status: str) -> Predicate:
    return charger_call("DiagnosticsStatusNotification", status=status)


# Finding frames ----------------------------------------------------------------------------


def calls(frames: Iterable[Frame], action: str, direction: Direction = "in") -> list[Frame]:
    return [frame for frame in frames if is_call(frame, action, direction)]


def first(
    frames: Iterable[Frame], predicate: Predicate, after: Frame | None = None
) -> Frame | None:
    for frame in frames:
        if is_after(frame, after) and predicate(frame):
            return frame
    return None


def last(frames: Sequence[Frame], predicate: Predicate) -> Frame | None:
    for frame in reversed(frames):
        if predicate(frame):
            return frame
    return None


def status_notifications(
    frames: Iterable[Frame],
    connector_id: int | None = None,
    after: Frame | None = None,
    before: Frame | None = None,
) -> list[Frame]:
    return [
        frame
        for frame in between(frames, after, before)
        if is_call(frame, "StatusNotification", "in")
        and (connector_id is None or payload_of(frame).get("connectorId") == connector_id)
    ]


def status_of(frame: Frame) -> str | None:
    status = payload_of(frame).get("status")
    return status if isinstance(status, str) else None


def connector_of(frame: Frame | None) -> int | None:
    return as_int(payload_of(frame).get("connectorId"))


# Calls and their replies -------------------------------------------------------------------


def reply_to(frames: Iterable[Frame], call: Frame) -> Frame | None:
    """The CALLRESULT or CALLERROR that answers `call`, correlated by its unique id."""
    for frame in frames:
        if (
            frame.message_type in (CALLRESULT, CALLERROR)
            and frame.unique_id == call.unique_id
            and frame.direction != call.direction
            and is_after(frame, call)
        ):
            return frame
    return None


@dataclass(frozen=True)
class Exchange:
    """A CALL and its reply (None when no reply was recorded)."""

    call: Frame
    reply: Frame | None

    @property
    def request(self) -> dict[str, Any]:
        return payload_of(self.call)

    @property
    def response(self) -> dict[str, Any]:
        """The CALLRESULT payload; empty for a CALLERROR or a missing reply."""
        if self.reply is None or self.reply.message_type != CALLRESULT:
            return {}
        return payload_of(self.reply)

    @property
    def is_error(self) -> bool:
        return self.reply is not None and self.reply.message_type == CALLERROR

    @property
    def status(self) -> str | None:
        status = self.response.get("status")
        return status if isinstance(status, str) else None

    @property
    def answer(self) -> str:
        """What came back, in words: "Accepted", "CALLERROR NotImplemented", "no reply"."""
        if self.reply is None:
            return "no reply"
        if self.is_error:
            error = payload_of(self.reply)
            code = error.get("errorCode", "?")
            description = error.get("errorDescription")
            return f"CALLERROR {code}" + (f" ({description})" if description else "")
        return self.status or "a reply without status"

    @property
    def frames(self) -> tuple[Frame, ...]:
        return (self.call,) if self.reply is None else (self.call, self.reply)

    @property
    def last(self) -> Frame:
        """The later frame of the exchange: what follows it must come after the reply."""
        return self.reply or self.call


def exchanges(frames: Sequence[Frame], action: str, direction: Direction = "out") -> list[Exchange]:
    return [Exchange(call, reply_to(frames, call)) for call in calls(frames, action, direction)]


def exchange_of(frames: Sequence[Frame], call: Frame | None) -> Exchange | None:
    return None if call is None else Exchange(call, reply_to(frames, call))


# Expected sequences ------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """One expected message in a sequence, with the words a finding will use for it."""

    label: str
    matches: Predicate
    optional: bool = False


@dataclass
class SequenceMatch:
    """Where each expected message was found, and which ones were missing or early."""

    found: dict[str, Frame] = field(default_factory=dict)
    missing: list[tuple[str, str]] = field(default_factory=list)
    """(label, the label it was expected after)."""
    early: list[tuple[str, Frame, str]] = field(default_factory=list)
    """(label, the frame that arrived too early, the label it was expected after)."""
    reordered: list[tuple[str, Frame, str, Frame]] = field(default_factory=list)
    """(label, an optional StatusNotification, the label and frame of a later stage's message
    that arrived before it). Not a fault: see `match_in_order`."""
    end: Frame | None = None

    def get(self, label: str) -> Frame | None:
        return self.found.get(label)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.early


Stage = Expect | Sequence[Expect]


def match_in_order(
    frames: Sequence[Frame],
    stages: Sequence[Stage],
    after: Frame | None = None,
    start_label: str = "the start of the step",
) -> SequenceMatch:
    """Match `stages` one after the other; the messages inside one stage may come in any order.

    A stage given as a tuple is the plan's "A and B in either order" (StartTransaction and
    SN Charging): each of its messages is searched after the whole previous stage, and the
    next stage starts after the latest of them.

    An optional StatusNotification does not fix the order of what follows it. A charger
    reports a connector's status in a message of its own, asynchronously to the transaction
    messages and command replies (OCPP 1.6 §4.9 sets no order between them), so a status the
    plan may do without, when it comes after the next stage's message (Preparing just after
    StartTransaction), leaves that message in order: it is matched after the stages' other
    messages and the status is listed in `reordered`, for the rule to report as information.
    Statuses keep their order among themselves: a Finishing after the Available that should
    follow it is still an early Available.
    """
    result = SequenceMatch()
    cursor, previous = after, start_label
    # The cursor without the optional statuses, and those statuses with their labels.
    firm = after
    loose: list[tuple[str, Frame]] = []
    for stage in stages:
        expectations = (stage,) if isinstance(stage, Expect) else tuple(stage)
        matched: list[tuple[Expect, Frame]] = []
        for expect in expectations:
            frame = first(frames, expect.matches, after=cursor)
            if frame is None and firm is not cursor:
                fallback = first(frames, expect.matches, after=firm)
                # Statuses keep their order among themselves (the §4.9 transitions).
                if fallback is not None and fallback.action != "StatusNotification":
                    frame = fallback
                    _note_reordered(result, loose, expect.label, frame)
            if frame is not None:
                matched.append((expect, frame))
                result.found[expect.label] = frame
                continue
            if expect.optional:
                continue
            early = first(between(frames, after, cursor), expect.matches)
            if early is not None:
                result.early.append((expect.label, early, previous))
                result.found[expect.label] = early
            else:
                result.missing.append((expect.label, previous))
        if matched:
            cursor = max((frame for _, frame in matched), key=position)
            previous = " and ".join(expect.label for expect, _ in matched)
            fixed = [frame for expect, frame in matched if not _loose(expect, frame)]
            if fixed:
                firm = max(fixed, key=position)
            loose.extend(
                (expect.label, frame) for expect, frame in matched if _loose(expect, frame)
            )
    result.end = cursor
    return result


def _loose(expect: Expect, frame: Frame) -> bool:
    """An optional StatusNotification: its place in the sequence is not checked."""
    return expect.optional and frame.action == "StatusNotification"


def _note_reordered(
    result: SequenceMatch, loose: list[tuple[str, Frame]], label: str, frame: Frame
) -> None:
    """Each optional status matched earlier that arrived after `frame`, once."""
    for status_label, status in loose:
        later = position(status) > position(frame)
        if later and all(status is not seen for _, seen, _, _ in result.reordered):
            result.reordered.append((status_label, status, label, frame))


def configured_value(
    frames: Sequence[Frame], key: str, before: Frame | None = None
) -> tuple[str | None, Frame | None]:
    """The latest value of configuration `key` the evidence shows, and the frame showing it.

    Read from an accepted ChangeConfiguration of the key or from a GetConfiguration reply
    listing it, whichever came last before `before`.
    """
    value: str | None = None
    source: Frame | None = None
    for frame in between(frames, None, before):
        if is_call(frame, "ChangeConfiguration", "out") and payload_of(frame).get("key") == key:
            exchange = Exchange(frame, reply_to(frames, frame))
            if exchange.status in ("Accepted", "RebootRequired"):
                value, source = str(exchange.request.get("value")), exchange.last
        elif frame.message_type == CALLRESULT and frame.action == "GetConfiguration":
            for entry in payload_of(frame).get("configurationKey") or []:
                if isinstance(entry, dict) and entry.get("key") == key and "value" in entry:
                    value, source = str(entry["value"]), frame
    return value, source


def settled_status(notifications: Sequence[Frame]) -> str | None:
    """The first status that is not Unavailable, or Unavailable when nothing else came.

    Chargers often report Unavailable for a few seconds of self-check after a boot (the
    seed's charger does, for its battery); the status they settle on is the one that counts.
    """
    statuses = [status_of(frame) for frame in notifications]
    for status in statuses:
        if status != "Unavailable":
            return status
    return "Unavailable" if statuses else None


def status_in(statuses: Sequence[str], connector_id: int | None = None) -> Predicate:
    """A StatusNotification with any of these statuses (for this connector when given)."""

    def matches(frame: Frame) -> bool:
        payload = payload_of(frame)
        return (
            is_call(frame, "StatusNotification", "in")
            and payload.get("status") in statuses
            and (connector_id is None or payload.get("connectorId") == connector_id)
        )

    return matches


def last_status_before(
    frames: Sequence[Frame], connector_id: int, before: Frame | None
) -> Frame | None:
    """The latest StatusNotification of a connector captured before `before`."""
    return last(status_notifications(frames, connector_id, before=before), lambda _: True)


# Configuration the charger accepted ---------------------------------------------------------


def same_setting(accepted: object, read: object) -> bool:
    """Whether two configuration values are the same setting: "30" and " 30", "true" and
    "True" are; values are CiStrings in OCPP 1.6 (case-insensitive)."""
    left, right = str(accepted).strip(), str(read).strip()
    if as_int(left) is not None and as_int(right) is not None:
        return as_int(left) == as_int(right)
    return left.lower() == right.lower()


def accepted_changes(frames: Sequence[Frame]) -> list[Exchange]:
    """ChangeConfiguration commands the charger answered Accepted (applied at once).

    RebootRequired is left out: OCPP 1.6 §5.3 lets such a value apply only after a reboot.
    """
    return [
        change for change in exchanges(frames, "ChangeConfiguration") if change.status == "Accepted"
    ]


def unapplied_changes(frames: Sequence[Frame]) -> list[tuple[Exchange, Frame, object]]:
    """Accepted changes that a later GetConfiguration reads back as another value.

    Returns (the change, the GetConfiguration reply, the value it read) for each.
    """
    found: list[tuple[Exchange, Frame, object]] = []
    for change in accepted_changes(frames):
        key, value = change.request.get("key"), change.request.get("value")
        later_change = first(frames, portal_call("ChangeConfiguration", key=key), change.last)
        for reply in between(frames, change.last, later_change):
            if reply.message_type != CALLRESULT or reply.action != "GetConfiguration":
                continue
            if reply.direction != "in":
                continue
            entries = payload_of(reply).get("configurationKey") or []
            read = next(
                (e.get("value") for e in entries if isinstance(e, dict) and e.get("key") == key),
                None,
            )
            if read is not None and not same_setting(value, read):
                found.append((change, reply, read))
                break
    return found


# Transactions and their meter values ---------------------------------------------------------


@dataclass(frozen=True)
class Transaction:
    """A transaction seen in the step: its StartTransaction, and its StopTransaction if any."""

    transaction_id: int | None
    connector_id: int | None
    start: Exchange | None
    stop: Frame | None

    @property
    def stopped_at(self) -> datetime | None:
        """The StopTransaction's own timestamp (the stop may have been queued offline)."""
        return parse_timestamp(payload_of(self.stop).get("timestamp")) if self.stop else None


def transactions(frames: Sequence[Frame]) -> list[Transaction]:
    """Every transaction the step shows: started in it, or only stopped or metered in it."""
    found: dict[int | None, Transaction] = {}
    order: list[int | None] = []
    for start in exchanges(frames, "StartTransaction", "in"):
        transaction_id = as_int(start.response.get("transactionId"))
        connector = as_int(start.request.get("connectorId"))
        found[transaction_id] = Transaction(transaction_id, connector, start, None)
        order.append(transaction_id)
    for stop in calls(frames, "StopTransaction"):
        transaction_id = as_int(payload_of(stop).get("transactionId"))
        known = found.get(transaction_id)
        if known is not None and known.stop is None:
            found[transaction_id] = Transaction(
                transaction_id, known.connector_id, known.start, stop
            )
        elif known is None:
            found[transaction_id] = Transaction(transaction_id, None, None, stop)
            order.append(transaction_id)
    return [found[transaction_id] for transaction_id in dict.fromkeys(order)]


def sampled_values(frame: Frame) -> list[dict[str, Any]]:
    """The sampledValue entries of a MeterValues frame (or a StopTransaction's
    transactionData), each with the timestamp of its meterValue as "_at"."""
    payload = payload_of(frame)
    entries = payload.get("meterValue") or payload.get("transactionData") or []
    values: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for value in entry.get("sampledValue") or []:
            if isinstance(value, dict):
                values.append({**value, "_at": parse_timestamp(entry.get("timestamp"))})
    return values


def reading_contexts(frame: Frame) -> set[str]:
    """The contexts of a MeterValues frame's readings; OCPP 1.6 §7.44: an absent context
    is Sample.Periodic."""
    return {str(value.get("context") or "Sample.Periodic") for value in sampled_values(frame)}


def is_periodic(frame: Frame) -> bool:
    """MeterValues sampled every MeterValueSampleInterval (context Sample.Periodic)."""
    return "Sample.Periodic" in reading_contexts(frame)


def sample_time(frame: Frame) -> datetime | None:
    """When a MeterValues message was sampled: its earliest meterValue timestamp."""
    times = [
        parse_timestamp(value.get("timestamp"))
        for value in payload_of(frame).get("meterValue") or []
        if isinstance(value, dict)
    ]
    known = [time for time in times if time is not None]
    return min(known) if known else None


def meter_values_of(frames: Sequence[Frame], transaction_id: int | None) -> list[Frame]:
    """MeterValues the charger sent for this transaction (by its transactionId)."""
    return [
        frame
        for frame in calls(frames, "MeterValues")
        if transaction_id is not None
        and as_int(payload_of(frame).get("transactionId")) == transaction_id
    ]
