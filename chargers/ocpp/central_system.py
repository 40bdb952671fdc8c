"""The portal as an OCPP 1.6 central system: one handler per charger-initiated action.

The ocpp library routes and validates; this subclass adds what certification needs around
it: every frame in either direction becomes a ``Frame`` row (with the action correlated onto
results and errors), malformed frames are recorded and answered as OCPP-J 1.6 says, and an
answer leaves only after its evidence is committed (see evidence.py).

A charger's CALL passes ``validation.check_call`` once, between the library's parsing and the
handler: a handler receives checked values (date-times as aware datetimes) and never
repeats a check. What the portal decides about a frame beyond its payload is noted on the
frame here: a request before the BootNotification was accepted, a unique id used twice on
the connection, an answer that came after the response timeout, a malformed answer. The
judge reports every note on the step the frame belongs to.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import datetime
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import ocpp.messages
from channels.db import database_sync_to_async
from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, CallResult, _validate_payload
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as OcppChargePoint
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from chargers import pki, security, services
from chargers.faults import FaultRule, FaultRules
from chargers.models import Frame
from chargers.ocpp import frames, validation
from chargers.ocpp.evidence import CapturedFrame, get_writer

log = logging.getLogger(__name__)

# The library validates each payload in a thread pool by default: two thread hops per call
# for a jsonschema check of a few hundred bytes that takes microseconds inline. Measured with
# bench/ocpp_ingest.py, validating inline is clearly cheaper on the event loop.
ocpp.messages.ASYNC_VALIDATION = False


_MESSAGE_TYPES = frozenset((frames.CALL, frames.CALLRESULT, frames.CALLERROR))

# How many unique ids of a connection are remembered: the charger's CALLs (to notice one used
# twice) and the portal's (to correlate a late or repeated answer). A connection lives for
# days; older ids are forgotten.
REMEMBERED_IDS = 10_000

# The answer to a request sent before the BootNotification was accepted (_before_acceptance).
NOT_ACCEPTED_CODE = "SecurityError"

# The charger's CALL being answered, for the notes of its handler (CentralSystem.note).
_answering_frame: contextvars.ContextVar[CapturedFrame | None] = contextvars.ContextVar(
    "answering_frame", default=None
)


def ocpp_now() -> str:
    """The current time as OCPP timestamps are written: UTC, milliseconds, "Z"."""
    return (
        datetime.datetime.now(datetime.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def describe_error(error: OCPPError) -> str:
    cause = error.details.get("cause") if isinstance(error.details, dict) else None
    return f"{frames.spell_1_6(error.code)}: {cause or error.description}"


def _storable(text: str) -> str:
    """A unique id or action as a column can hold it: the evidence writer makes raw and
    payload NUL-free for PostgreSQL, but these two are taken from the frame as sent."""
    return text.replace("\x00", "\\u0000")


def add_note(frame: CapturedFrame, note: str) -> None:
    """Append a note to the frame's validation_error, the evidence's column for deviations."""
    frame.validation_error = f"{frame.validation_error}; {note}" if frame.validation_error else note


@dataclass
class CommandOutcome:
    """What became of a CSMS-initiated call."""

    status: str  # answered | callerror | malformed | timeout (Command.Status)
    unique_id: str
    response: Any = None
    error: str = ""
    round_trip_ms: int | None = None


@dataclass
class _SentCall:
    """A CALL the portal sent on this connection, and what became of it."""

    action: str
    sent_at: float  # time.monotonic()
    state: str = "outstanding"  # outstanding | answered | timed out
    command_id: int | None = None  # the Command row, for a late answer
    evidence_of: tuple[int | None, int | None] | None = None  # (run, step attempt) it serves


class CentralSystem(OcppChargePoint):
    def __init__(
        self,
        *,
        charge_point_pk: int,
        charge_point_id: str,
        connection_id: int,
        transport_send: Callable[[str], Awaitable[None]],
        response_timeout: float = 30,
        connectors: int | None = None,
    ) -> None:
        super().__init__(charge_point_id, connection=None, response_timeout=response_timeout)
        self.charge_point_pk = charge_point_pk
        self.connection_id = connection_id
        # The charger model's declared connector count (None: no model, no upper bound).
        self.connectors = connectors
        self._transport_send = transport_send
        self._writer = get_writer()
        self._seq = 0
        # Our CALLs on this connection: unique id -> what became of it.
        self._sent: collections.OrderedDict[str, _SentCall] = collections.OrderedDict()
        # The command waiting for the answer to a CALL: unique id -> its future.
        self._waiting: dict[str, asyncio.Future[tuple[CapturedFrame, frames.ParsedFrame]]] = {}
        # The charger's CALLs on this connection: unique id -> sequence number of the first.
        self._call_ids: collections.OrderedDict[str, int] = collections.OrderedDict()
        # Our commands' CALLs whose frames are evidence of a given run and step attempt
        # (the run a command was sent through), whatever the connection's context says.
        self._evidence_of: dict[str, tuple[int | None, int | None]] = {}
        # The charger's CALLs we are answering: unique id -> its frame, queued with the answer.
        self._answering: dict[str, CapturedFrame] = {}
        # The boot on this connection: None until a BootNotification was answered, then its
        # status; the time of that answer and its interval; the charger's requests that
        # came before any BootNotification; what a TriggerMessage asked for while Pending.
        self._boot_status: str | None = None
        self._boot_answered_at = 0.0
        self._boot_interval = 0
        self._before_boot: collections.deque[CapturedFrame] = collections.deque(maxlen=200)
        self._triggered: set[str] = set()
        self._sending_invalid = False
        # State changes a handler decided on, written with its answer's frames.
        self._changes: list[Callable[[], None]] = []
        # The certification run and step attempt the frames belong to (see set_context).
        self.run_id: int | None = None
        self.step_result_id: int | None = None
        # Injected faults that change answers (chargers.faults), and answers they delay.
        self._faults = FaultRules()
        self._late_answers: set[asyncio.Task[None]] = set()
        # CertificateSigned chains to send after SignCertificate answers: unique id -> chain.
        self._signed_chains: dict[str, str] = {}
        self._follow_ups: set[asyncio.Task[Any]] = set()
        # The charge point's transactions this connection named: transactionId -> connector.
        self._transaction_connectors: collections.OrderedDict[int, int] = collections.OrderedDict()

    def set_context(self, run_id: int | None, step_result_id: int | None) -> None:
        self.run_id, self.step_result_id = run_id, step_result_id

    # --- evidence ---------------------------------------------------------------------

    def _frame(
        self,
        direction: str,
        raw: str,
        parsed: frames.ParsedFrame,
        at: datetime.datetime | None = None,
    ) -> CapturedFrame:
        """A frame as evidence; ``at``: when it arrived (a charger's frame: when the
        transport read it), else now."""
        self._seq += 1
        message_type = parsed.message_type
        return CapturedFrame(
            charge_point_id=self.charge_point_pk,
            connection_id=self.connection_id,
            seq=self._seq,
            captured_at=at or datetime.datetime.now(datetime.UTC),
            direction=direction,
            message_type=message_type if message_type in _MESSAGE_TYPES else None,
            unique_id=_storable(parsed.unique_id or "")[:100],
            action=_storable(parsed.action or "")[:64],
            raw=raw,
            payload=parsed.payload,
            validation_error=parsed.problem or "",
            run_id=self.run_id,
            step_result_id=self.step_result_id,
        )

    async def record_unreadable(
        self, raw: str, problem: str, received_at: datetime.datetime | None = None
    ) -> None:
        """A frame the transport could not hand over as text (binary, oversized)."""
        frame = self._frame(
            Frame.Direction.IN,
            raw,
            frames.ParsedFrame(None, None, None, None, None),
            at=received_at,
        )
        frame.validation_error = problem
        await self._writer.add(frame)

    async def flush_evidence(self) -> None:
        await self._writer.flush()

    def note(self, text: str) -> None:
        """A note on the charger's CALL being answered (for handlers and services' findings).
        An injected delay answers a CALL in a task of its own, so the CALL is a context
        variable, not an attribute."""
        frame = _answering_frame.get()
        if frame is not None:
            add_note(frame, text)

    # --- routing ----------------------------------------------------------------------

    async def route_message(
        self, raw_msg: str, received_at: datetime.datetime | None = None
    ) -> None:
        """Record and answer a charger's frame; ``received_at``: when the transport read it
        (its capture time; default now)."""
        parsed = frames.parse(raw_msg)
        frame = self._frame(Frame.Direction.IN, raw_msg, parsed, at=received_at)
        message = parsed.message
        if parsed.message_type in (frames.CALLRESULT, frames.CALLERROR) and parsed.unique_id:
            # An answer, well-formed or not: correlated with its CALL whenever the unique
            # id can be read.
            self._answer_arrived(frame, parsed)
            return
        if message is None:
            # Not valid OCPP-J: recorded, and answered only where a unique id is known.
            if parsed.reply_error_code and parsed.unique_id:
                self._answering[parsed.unique_id] = frame
                await self._send_call_error(
                    parsed.unique_id, parsed.reply_error_code, parsed.problem or "", {}
                )
            else:
                if parsed.message_type in (frames.CALLRESULT, frames.CALLERROR):
                    add_note(frame, "the unique id cannot be read: correlated with no CALL")
                self._writer.add(frame)
            return
        if not isinstance(message, Call):  # an answer whose unique id is not a string
            self._writer.add(frame)
            return

        self._answering[message.unique_id] = frame
        self._note_reused_id(frame, message.unique_id)
        fault = None
        if self._faults and message.action in self.route_map:
            fault = self._faults.answer_for(message.action, frame.captured_at)
        if fault is None:
            await self._answer_call(message, frame)
        else:
            await self._answer_with_fault(message, frame, fault)

    async def _answer_call(self, message: Call, frame: CapturedFrame) -> None:
        """Answer a charger's CALL: its handler, or the CALLERROR OCPP-J 1.6 prescribes."""
        if message.action not in frames.OCPP16_ACTIONS:
            add_note(frame, f"unknown action {message.action!r}")
            await self._send_call_error(
                message.unique_id,
                "NotImplemented",
                f"{message.action} is not an OCPP 1.6 action",
                {},
            )
        elif message.action not in self.route_map:
            add_note(frame, f"{message.action} is not sent by a charge point")
            await self._send_call_error(
                message.unique_id,
                "NotSupported",
                f"The central system does not take {message.action}",
                {},
            )
        elif refusal := self._before_acceptance(message.action):
            add_note(frame, refusal)
            await self._send_call_error(
                message.unique_id,
                NOT_ACCEPTED_CODE,
                f"{message.action} sent before the BootNotification was accepted: {refusal}.",
                {},
            )
        else:
            if self._boot_status is None and message.action != "BootNotification":
                self._before_boot.append(frame)
            token = _answering_frame.set(frame)
            try:
                await self._handle_call(message)
            except validation.CallRejected as rejected:
                add_note(frame, f"{rejected.code}: {rejected.description}")
                await self._send_call_error(
                    message.unique_id, rejected.code, rejected.description, rejected.details
                )
            except Exception:
                # Not the charger's input (that is checked above): the database or a bug.
                # Answered as OCPP-J says, logged for the operators, noted on the frame.
                log.exception("ocpp: %s of %s could not be handled", message.action, self.id)
                add_note(frame, frames.CENTRAL_SYSTEM_FAILURE)
                await self._send_call_error(
                    message.unique_id,
                    "InternalError",
                    "The central system could not handle this request; it is logged.",
                    {},
                )
            finally:
                _answering_frame.reset(token)
        if self._answering.pop(message.unique_id, None) is not None:
            self._writer.add(frame)  # answered by nobody: still evidence

    async def _answer_with_fault(
        self, message: Call, frame: CapturedFrame, fault: FaultRule
    ) -> None:
        """Answer a CALL as an injected fault says (chargers.faults): late, never, with a
        CALLERROR, or BootNotification Pending/Rejected. The fault's use is recorded first,
        so that a fault for N answers changes N even across reconnections."""
        await database_sync_to_async(services.record_fault_applied)(fault.id)
        if fault.kind == "delay":
            task = asyncio.get_running_loop().create_task(
                self._answer_late(message, frame, fault.seconds or 0)
            )
            self._late_answers.add(task)
            task.add_done_callback(self._late_answers.discard)
            return
        try:
            checked = validation.check_call(
                message.action, message.payload, connectors=self.connectors
            )
        except validation.CallRejected as rejected:
            add_note(frame, f"{rejected.code}: {rejected.description}")
        else:
            for note in checked.notes:
                add_note(frame, note)
        if fault.kind == "withhold":
            # The charger's own timeout is what is tested: its CALL is evidence, unanswered.
            self._answering.pop(message.unique_id, None)
            self._writer.add(frame)
        elif fault.kind == "call_error":
            await self._send_call_error(
                message.unique_id,
                fault.error_code,
                f"Injected by the certification portal (fault #{fault.id})",
                {},
            )
        else:
            answer = call_result.BootNotification(
                current_time=ocpp_now(), interval=fault.interval or 0, status=fault.boot_status
            )
            self._boot_answered(frame, fault.boot_status, fault.interval or 0)
            await self._send(
                CallResult(message.unique_id, snake_to_camel_case(asdict(answer))).to_json()
            )

    async def _answer_late(self, message: Call, frame: CapturedFrame, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._answer_call(message, frame)

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        """The charge point's active faults changed (chargers.services.fault_rules)."""
        self._faults = FaultRules(FaultRule.from_message(rule) for rule in rules)

    async def stop(self) -> None:
        """The connection is closing: answers still delayed are dropped, and every frame is
        written, unanswered CALLs included."""
        for task in list(self._late_answers):
            await cancel_quietly(task)
        for frame in self._answering.values():
            self._writer.add(frame)
        self._answering.clear()
        await self._writer.flush()

    async def _handle_call(self, msg: Call) -> None:
        """Check the CALL once (validation.check_call), hand the checked payload to the
        action's @on handler, send its answer, then run its @after handler (with the payload
        and the CALL's unique id), if any. Raises validation.CallRejected."""
        checked = validation.check_call(msg.action, msg.payload, connectors=self.connectors)
        for note in checked.notes:
            self.note(note)
        handler = self.route_map[msg.action]["_on_action"]
        response = await handler(checked.payload)
        payload = snake_to_camel_case(remove_nones(serialize_as_dict(response)))
        result = msg.create_call_result(payload)
        _validate_payload(result, "1.6")  # the portal's own answer: a fault here is ours
        await self._send(result.to_json())
        follow_up = self.route_map[msg.action].get("_after_action")
        if follow_up is not None:  # after the answer left (an @after handler)
            await follow_up(checked.payload, msg.unique_id)

    def _note_reused_id(self, frame: CapturedFrame, unique_id: str) -> None:
        first = self._call_ids.get(unique_id)
        if first is not None:
            add_note(
                frame,
                f"unique id {unique_id!r} reused: the charger's CALL #{first} on this "
                "connection had it (OCPP-J 1.6 §4.1.1: every CALL's id differs from the "
                "ids of the sender's earlier CALLs on the connection)",
            )
            return
        self._call_ids[unique_id] = frame.seq
        if len(self._call_ids) > REMEMBERED_IDS:
            self._call_ids.popitem(last=False)

    # --- the boot ---------------------------------------------------------------------

    def _before_acceptance(self, action: str) -> str | None:
        """Why a request must be refused because the boot was not accepted, or None.

        OCPP 1.6 §4.2: while Pending the charger sends no requests but the ones the central
        system triggers (TriggerMessage); after Rejected it sends nothing before the interval
        expires, and then a BootNotification. The portal answers such a request with
        CALLERROR SecurityError (1.6: "a security issue occurred preventing the receiver
        from completing the Action"; OCPP 2.0.1 B02.FR.09 and B03.FR.07 give the same
        answer) rather than acting on it: a StartTransaction while Pending gets no
        transactionId. A connection with no BootNotification yet (a reconnect without a
        reboot) is answered as usual.
        """
        if action == "BootNotification" or self._boot_status in (None, "Accepted"):
            return None
        if self._boot_status == "Pending":
            if action in self._triggered:
                return None
            return (
                "request sent while the BootNotification is Pending and not triggered by a "
                "TriggerMessage (OCPP 1.6 §4.2)"
            )
        waited = time.monotonic() - self._boot_answered_at
        if waited < self._boot_interval:
            return (
                f"request sent {waited:.1f} s after the BootNotification was Rejected, "
                f"before its interval of {self._boot_interval} s expired (OCPP 1.6 §4.2)"
            )
        return (
            "request sent while the BootNotification is Rejected; a BootNotification was "
            "due after the interval (OCPP 1.6 §4.2)"
        )

    def _boot_answered(self, boot: CapturedFrame | None, status: str, interval: int) -> None:
        """Remember the boot's answer; note the requests that came before it on this
        connection (they were answered: nothing told the portal a reboot was under way)."""
        if self._boot_status is None and self._before_boot:
            noted = []
            for frame in self._before_boot:
                add_note(
                    frame,
                    f"{frame.action} sent before the BootNotification "
                    f"(#{boot.seq if boot else '?'}) "
                    "on the same connection: a booting charge point sends no other request "
                    "before its BootNotification is accepted (OCPP 1.6 §4.2)",
                )
                noted.append((frame.seq, frame.validation_error))
            self._changes.append(
                lambda: services.note_frames(self.connection_id, noted)  # already written
            )
        self._before_boot.clear()
        self._boot_status = status
        self._boot_answered_at = time.monotonic()
        self._boot_interval = interval
        self._triggered = set()

    # --- answers from the charger -------------------------------------------------------

    def _answer_arrived(self, frame: CapturedFrame, parsed: frames.ParsedFrame) -> None:
        """Correlate a CALLRESULT or CALLERROR with the portal's CALL of the same unique id,
        note what is wrong with it (malformed, late, a second answer, no such CALL) and hand
        it to the command that waits for it."""
        unique_id = parsed.unique_id or ""
        sent = self._sent.get(unique_id)
        kind = "CALLRESULT" if parsed.message_type == frames.CALLRESULT else "CALLERROR"
        if parsed.problem:
            add_note(frame, f"malformed {kind}: {parsed.problem}")
        if sent is None:
            add_note(frame, "answer to no CALL the portal sent on this connection")
            self._writer.add(frame)
            return
        frame.action = _storable(sent.action)[:64]
        if sent.evidence_of is not None:
            frame.run_id, frame.step_result_id = sent.evidence_of
        changes: list[Callable[[], None]] = []
        delay = time.monotonic() - sent.sent_at
        if sent.state == "answered":
            add_note(frame, f"a second answer to the {sent.action} CALL, {delay:.1f} s after it")
        elif sent.state == "timed out":
            sent.state = "answered"
            add_note(
                frame,
                f"late: answered {delay:.1f} s after the CALL, past the response timeout of "
                f"{self._response_timeout:g} s",
            )
            outcome = self._outcome(unique_id, frame, parsed, delay)
            outcome.error = f"answered after {delay:.1f} s" + (
                f"; {outcome.error}" if outcome.error else ""
            )
            if sent.command_id is not None:
                command_id = sent.command_id
                changes.append(lambda: services.record_late_answer(command_id, outcome))
        else:
            sent.state = "answered"
            if isinstance(parsed.message, CallResult) and not parsed.problem:
                parsed.message.action = sent.action
                try:
                    _validate_payload(parsed.message, "1.6")
                except OCPPError as error:
                    add_note(frame, describe_error(error))
            waiting = self._waiting.pop(unique_id, None)
            if waiting is not None and not waiting.done():
                waiting.set_result((frame, parsed))
        self._writer.add(frame, changes)

    def _outcome(
        self, unique_id: str, frame: CapturedFrame, parsed: frames.ParsedFrame, delay: float
    ) -> CommandOutcome:
        """The command's outcome in words an engineer reads in the command list."""
        rtt = round(delay * 1000)
        message = parsed.message
        kind = "CALLRESULT" if parsed.message_type == frames.CALLRESULT else "CALLERROR"
        if parsed.problem:
            return CommandOutcome(
                "malformed",
                unique_id,
                frame.payload,
                error=f"answered with a malformed {kind}: {parsed.problem}",
                round_trip_ms=rtt,
            )
        if isinstance(message, CallError):
            return CommandOutcome(
                "callerror",
                unique_id,
                frame.payload,
                error=f"{message.error_code}: {message.error_description}",
                round_trip_ms=rtt,
            )
        return CommandOutcome("answered", unique_id, frame.payload, round_trip_ms=rtt)

    async def _send_call_error(
        self, unique_id: str, code: str, description: str, details: dict[str, Any]
    ) -> None:
        await self._send(frames.call_error_text(unique_id, code, description, details))

    async def _send(self, message: str) -> None:
        """Every frame the portal sends passes here: recorded first, sent once committed."""
        parsed = frames.parse_sent(message)
        frame = self._frame(Frame.Direction.OUT, message, parsed)
        if parsed.message_type == frames.CALL and parsed.unique_id:
            self._sent[parsed.unique_id] = _SentCall(parsed.action or "", time.monotonic())
            if len(self._sent) > REMEMBERED_IDS:
                self._sent.popitem(last=False)
            if parsed.action == "TriggerMessage" and isinstance(parsed.payload, dict):
                self._triggered.add(str(parsed.payload.get("requestedMessage", "")))
            frame.deliberately_invalid = self._sending_invalid
            if (owner := self._evidence_of.get(parsed.unique_id)) is not None:
                frame.run_id, frame.step_result_id = owner
        elif parsed.unique_id is not None:
            answered = self._answering.pop(parsed.unique_id, None)
            if answered is not None:
                frame.action = answered.action
                self._writer.add(answered)
        changes, self._changes = self._changes, []
        await self._writer.add(frame, changes)
        await self._transport_send(message)

    # --- commands (CSMS-initiated calls) ------------------------------------------------

    async def send_command(
        self,
        action: str,
        payload: dict[str, Any],
        *,
        deliberately_invalid: bool = False,
        evidence_of: tuple[int | None, int | None] | None = None,
        command_id: int | None = None,
    ) -> CommandOutcome:
        """Send a CSMS-initiated call and wait for its answer. The payload is camelCase, as on
        the wire; it was validated by the caller unless ``deliberately_invalid``.
        ``evidence_of`` (run id, step attempt id): the CALL and its answer are evidence of
        that run and attempt only, whatever step the connection's context names. An answer
        after the response timeout still reaches the command (services.record_late_answer)."""
        unique_id = str(uuid.uuid4())
        message = Call(unique_id=unique_id, action=action, payload=payload)
        if evidence_of is not None:
            self._evidence_of[unique_id] = evidence_of
        async with self._call_lock:
            answer = asyncio.get_running_loop().create_future()
            self._waiting[unique_id] = answer
            self._sending_invalid = deliberately_invalid
            try:
                await self._send(message.to_json())
            finally:
                self._sending_invalid = False
            started = time.monotonic()
            sent = self._sent.get(unique_id)
            if sent is not None:
                sent.command_id = command_id
                sent.evidence_of = self._evidence_of.pop(unique_id, None)
            try:
                frame, parsed = await asyncio.wait_for(answer, self._response_timeout)
            except TimeoutError:
                if sent is not None:
                    sent.state = "timed out"
                return CommandOutcome(
                    "timeout",
                    unique_id,
                    error=f"no answer within {self._response_timeout:g} s",
                )
            finally:
                self._waiting.pop(unique_id, None)
        return self._outcome(unique_id, frame, parsed, time.monotonic() - started)

    # --- handlers, one per charger-initiated action ------------------------------------
    # Each takes the payload as validation.check_call returned it: camelCase keys, every
    # value checked, date-times as aware UTC datetimes.

    @on(Action.boot_notification)
    async def on_boot_notification(self, payload: dict[str, Any]) -> call_result.BootNotification:
        status, interval = await database_sync_to_async(services.record_boot)(
            self.charge_point_pk, payload
        )
        self._boot_answered(_answering_frame.get(), status, interval)
        return call_result.BootNotification(
            current_time=ocpp_now(), interval=interval, status=status
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self, payload: dict[str, Any]) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=ocpp_now())

    @on(Action.status_notification)
    async def on_status_notification(
        self, payload: dict[str, Any]
    ) -> call_result.StatusNotification:
        # The connector's state is written in the same transaction as the evidence, before
        # the answer leaves: no commit of its own on the hot path.
        self._changes.append(lambda: services.record_status(self.charge_point_pk, payload))
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, payload: dict[str, Any]) -> call_result.Authorize:
        info = await database_sync_to_async(services.id_tag_info)(
            self.charge_point_pk, payload["idTag"]
        )
        return call_result.Authorize(id_tag_info=info)

    @on(Action.start_transaction)
    async def on_start_transaction(self, payload: dict[str, Any]) -> call_result.StartTransaction:
        started = await database_sync_to_async(services.start_transaction)(
            self.charge_point_pk, payload
        )
        for note in started.notes:
            self.note(note)
        self._remember_transaction(started.transaction_id, payload["connectorId"])
        return call_result.StartTransaction(
            transaction_id=started.transaction_id, id_tag_info=started.id_tag_info
        )

    @on(Action.stop_transaction)
    async def on_stop_transaction(self, payload: dict[str, Any]) -> call_result.StopTransaction:
        stopped = await database_sync_to_async(services.stop_transaction)(
            self.charge_point_pk, payload
        )
        for note in stopped.notes:
            self.note(note)
        return call_result.StopTransaction(id_tag_info=stopped.id_tag_info)

    @on(Action.meter_values)
    async def on_meter_values(self, payload: dict[str, Any]) -> call_result.MeterValues:
        transaction_id = payload.get("transactionId")
        if transaction_id is not None:
            await self._note_transaction_reference(transaction_id, payload["connectorId"])
        return call_result.MeterValues()

    async def _note_transaction_reference(self, transaction_id: int, connector_id: int) -> None:
        """Note a MeterValues whose transactionId names no transaction of this charge point,
        or one on another connector (MeterValues.req: "The transaction to which these meter
        samples are related"; connectorId 0, the main meter, may carry any). A known
        transaction's connector is remembered: the check costs no database round trip on
        the hot path after the first sample."""
        connector = self._transaction_connectors.get(transaction_id)
        if connector is None:
            connector = await database_sync_to_async(services.transaction_connector)(
                self.charge_point_pk, transaction_id
            )
            if connector is None:
                self.note(services.unknown_transaction_note(transaction_id))
                return
            self._remember_transaction(transaction_id, connector)
        if connector_id not in (0, connector):
            self.note(
                f"transactionId {transaction_id} is the transaction of connector {connector}, "
                f"not of connector {connector_id} the MeterValues names"
            )

    def _remember_transaction(self, transaction_id: int, connector_id: int) -> None:
        self._transaction_connectors[transaction_id] = connector_id
        if len(self._transaction_connectors) > REMEMBERED_IDS:
            self._transaction_connectors.popitem(last=False)

    @on(Action.data_transfer)
    async def on_data_transfer(self, payload: dict[str, Any]) -> call_result.DataTransfer:
        status = await database_sync_to_async(services.data_transfer_answer)(self.charge_point_pk)
        return call_result.DataTransfer(status=status)

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status_notification(
        self, payload: dict[str, Any]
    ) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(
        self, payload: dict[str, Any]
    ) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    # --- the security extension (whitepaper edition 3): stored as frames, judged there --

    @on(Action.security_event_notification)
    async def on_security_event_notification(
        self, payload: dict[str, Any]
    ) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on(Action.log_status_notification)
    async def on_log_status_notification(
        self, payload: dict[str, Any]
    ) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on(Action.signed_firmware_status_notification)
    async def on_signed_firmware_status_notification(
        self, payload: dict[str, Any]
    ) -> call_result.SignedFirmwareStatusNotification:
        return call_result.SignedFirmwareStatusNotification()

    @on(Action.sign_certificate)
    async def on_sign_certificate(self, payload: dict[str, Any]) -> call_result.SignCertificate:
        """Whitepaper 4.1.7 (TC_074): the lab CA signs the CSR after checking that its
        subject names this charge point; the chain follows in CertificateSigned. A CSR
        the CA will not sign is answered Rejected (the reason is noted on the frame)."""
        frame = _answering_frame.get()
        try:
            chain = await database_sync_to_async(security.sign_certificate_request)(
                self.id, payload["csr"]
            )
        except pki.CsrRefused as refused:
            self.note(f"CSR not signed: {refused}")
            return call_result.SignCertificate(status="Rejected")
        if frame is not None:
            self._signed_chains[frame.unique_id] = chain
        return call_result.SignCertificate(status="Accepted")

    @after(Action.sign_certificate)
    async def after_sign_certificate(self, payload: dict[str, Any], unique_id: str) -> None:
        chain = self._signed_chains.pop(unique_id, None)
        if chain is None:
            return
        task = asyncio.get_running_loop().create_task(
            self.send_command("CertificateSigned", {"certificateChain": chain})
        )
        self._follow_ups.add(task)
        task.add_done_callback(self._follow_ups.discard)


async def cancel_quietly(task: asyncio.Task[Any] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
