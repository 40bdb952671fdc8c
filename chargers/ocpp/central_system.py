"""The portal as an OCPP 1.6 central system: one handler per charger-initiated action.

The ocpp library routes and validates; this subclass adds what certification needs around
it: every frame in either direction becomes a ``Frame`` row (with the action correlated onto
results and errors), malformed frames are recorded and answered as OCPP-J 1.6 says, and an
answer leaves only after its evidence is committed (see evidence.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import ocpp.messages
from channels.db import database_sync_to_async
from ocpp.charge_point import snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallResult, _validate_payload
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as OcppChargePoint
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from chargers import pki, security, services
from chargers.faults import FaultRule, FaultRules
from chargers.models import Frame
from chargers.ocpp import frames
from chargers.ocpp.evidence import CapturedFrame, get_writer

# The library validates each payload in a thread pool by default: two thread hops per call
# for a jsonschema check of a few hundred bytes that takes microseconds inline. Measured with
# bench/ocpp_ingest.py, validating inline is clearly cheaper on the event loop.
ocpp.messages.ASYNC_VALIDATION = False


_MESSAGE_TYPES = frozenset((frames.CALL, frames.CALLRESULT, frames.CALLERROR))


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


@dataclass
class CommandOutcome:
    """What became of a CSMS-initiated call."""

    status: str  # answered | callerror | timeout
    unique_id: str
    response: Any = None
    error: str = ""
    round_trip_ms: int | None = None


class CentralSystem(OcppChargePoint):
    def __init__(
        self,
        *,
        charge_point_pk: int,
        charge_point_id: str,
        connection_id: int,
        transport_send: Callable[[str], Awaitable[None]],
        response_timeout: float = 30,
    ) -> None:
        super().__init__(charge_point_id, connection=None, response_timeout=response_timeout)
        self.charge_point_pk = charge_point_pk
        self.connection_id = connection_id
        self._transport_send = transport_send
        self._writer = get_writer()
        self._seq = 0
        # Our CALLs waiting for the charger's answer: unique id -> action.
        self._outstanding: dict[str, str] = {}
        # Our commands' CALLs whose frames are evidence of a given run and step attempt
        # (the run a command was sent through), whatever the connection's context says.
        self._evidence_of: dict[str, tuple[int | None, int | None]] = {}
        # The charger's CALLs we are answering: unique id -> its frame, queued with the answer.
        self._answering: dict[str, CapturedFrame] = {}
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

    def set_context(self, run_id: int | None, step_result_id: int | None) -> None:
        self.run_id, self.step_result_id = run_id, step_result_id

    # --- evidence ---------------------------------------------------------------------

    def _frame(self, direction: str, raw: str, parsed: frames.ParsedFrame) -> CapturedFrame:
        self._seq += 1
        message_type = parsed.message_type
        return CapturedFrame(
            charge_point_id=self.charge_point_pk,
            connection_id=self.connection_id,
            seq=self._seq,
            captured_at=datetime.datetime.now(datetime.UTC),
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

    async def record_unreadable(self, raw: str, problem: str) -> None:
        """A frame the transport could not hand over as text (binary, oversized)."""
        frame = self._frame(
            Frame.Direction.IN, raw, frames.ParsedFrame(None, None, None, None, None)
        )
        frame.validation_error = problem
        await self._writer.add(frame)

    async def flush_evidence(self) -> None:
        await self._writer.flush()

    # --- routing ----------------------------------------------------------------------

    async def route_message(self, raw_msg: str) -> None:
        parsed = frames.parse(raw_msg)
        frame = self._frame(Frame.Direction.IN, raw_msg, parsed)
        message = parsed.message
        if message is None:
            # Not valid OCPP-J: recorded, and answered only where a unique id is known.
            if parsed.reply_error_code and parsed.unique_id:
                self._answering[parsed.unique_id] = frame
                await self._send_call_error(
                    parsed.unique_id, parsed.reply_error_code, parsed.problem or "", {}
                )
            else:
                self._writer.add(frame)
            return

        if isinstance(message, Call):
            self._answering[message.unique_id] = frame
            fault = None
            if self._faults and message.action in self.route_map:
                fault = self._faults.answer_for(message.action, frame.captured_at)
            if fault is None:
                await self._answer_call(message, frame)
            else:
                await self._answer_with_fault(message, frame, fault)
            return

        # A result or an error: the answer to one of our CALLs.
        action = self._outstanding.pop(message.unique_id, None)
        frame.action = action or ""
        if (owner := self._evidence_of.pop(message.unique_id, None)) is not None:
            frame.run_id, frame.step_result_id = owner
        if action is None:
            frame.validation_error = "answer to no outstanding CALL"
        elif isinstance(message, CallResult):
            message.action = action
            try:
                _validate_payload(message, "1.6")
            except OCPPError as error:
                frame.validation_error = describe_error(error)
        self._writer.add(frame)
        if action is not None:
            self._response_queue.put_nowait(message)

    async def _answer_call(self, message: Call, frame: CapturedFrame) -> None:
        """Answer a charger's CALL: its handler, or the CALLERROR OCPP-J 1.6 prescribes."""
        if message.action not in frames.OCPP16_ACTIONS:
            frame.validation_error = f"unknown action {message.action!r}"
            await self._send_call_error(
                message.unique_id,
                "NotImplemented",
                f"{message.action} is not an OCPP 1.6 action",
                {},
            )
        elif message.action not in self.route_map:
            frame.validation_error = f"{message.action} is not sent by a charge point"
            await self._send_call_error(
                message.unique_id,
                "NotSupported",
                f"The central system does not take {message.action}",
                {},
            )
        else:
            try:
                await self._handle_call(message)
            except OCPPError as error:
                frame.validation_error = describe_error(error)
                await self._send_call_error(
                    message.unique_id,
                    frames.spell_1_6(error.code),
                    error.description,
                    {"cause": str(error.details.get("cause", ""))[:500]}
                    if isinstance(error.details, dict)
                    else {},
                )
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
            _validate_payload(message, "1.6")
        except OCPPError as error:
            frame.validation_error = describe_error(error)
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

    async def _send_call_error(
        self, unique_id: str, code: str, description: str, details: dict[str, Any]
    ) -> None:
        await self._send(frames.call_error_text(unique_id, code, description, details))

    async def _send(self, message: str) -> None:
        """Every frame the portal sends passes here: recorded first, sent once committed."""
        parsed = frames.parse_sent(message)
        frame = self._frame(Frame.Direction.OUT, message, parsed)
        if parsed.message_type == frames.CALL and parsed.unique_id:
            self._outstanding[parsed.unique_id] = parsed.action or ""
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
    ) -> CommandOutcome:
        """Send a CSMS-initiated call and wait for its answer. The payload is camelCase, as on
        the wire; it was validated by the caller unless ``deliberately_invalid``.
        ``evidence_of`` (run id, step attempt id): the CALL and its answer are evidence of
        that run and attempt only, whatever step the connection's context names."""
        unique_id = str(uuid.uuid4())
        message = Call(unique_id=unique_id, action=action, payload=payload)
        if evidence_of is not None:
            self._evidence_of[unique_id] = evidence_of
        async with self._call_lock:
            self._sending_invalid = deliberately_invalid
            try:
                await self._send(message.to_json())
            finally:
                self._sending_invalid = False
            started = time.monotonic()
            try:
                response = await self._get_specific_response(unique_id, self._response_timeout)
            except TimeoutError:
                self._outstanding.pop(unique_id, None)
                self._evidence_of.pop(unique_id, None)
                return CommandOutcome(
                    "timeout",
                    unique_id,
                    error=f"no answer within {self._response_timeout:g} s",
                )
        rtt = round((time.monotonic() - started) * 1000)
        if isinstance(response, CallResult):
            return CommandOutcome("answered", unique_id, response.payload, round_trip_ms=rtt)
        return CommandOutcome(
            "callerror",
            unique_id,
            {
                "errorCode": response.error_code,
                "errorDescription": response.error_description,
                "errorDetails": response.error_details,
            },
            error=f"{response.error_code}: {response.error_description}",
            round_trip_ms=rtt,
        )

    # --- handlers, one per charger-initiated action ------------------------------------

    @on(Action.boot_notification)
    async def on_boot_notification(self, **payload: Any) -> call_result.BootNotification:
        status, interval = await database_sync_to_async(services.record_boot)(
            self.charge_point_pk, snake_to_camel_case(payload)
        )
        return call_result.BootNotification(
            current_time=ocpp_now(), interval=interval, status=status
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=ocpp_now())

    @on(Action.status_notification)
    async def on_status_notification(self, **payload: Any) -> call_result.StatusNotification:
        # The connector's state is written in the same transaction as the evidence, before
        # the answer leaves: no commit of its own on the hot path.
        status = snake_to_camel_case(payload)
        self._changes.append(lambda: services.record_status(self.charge_point_pk, status))
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str) -> call_result.Authorize:
        info = await database_sync_to_async(services.id_tag_info)(self.charge_point_pk, id_tag)
        return call_result.Authorize(id_tag_info=info)

    @on(Action.start_transaction)
    async def on_start_transaction(self, **payload: Any) -> call_result.StartTransaction:
        transaction_id, info = await database_sync_to_async(services.start_transaction)(
            self.charge_point_pk, snake_to_camel_case(payload)
        )
        return call_result.StartTransaction(transaction_id=transaction_id, id_tag_info=info)

    @on(Action.stop_transaction)
    async def on_stop_transaction(self, **payload: Any) -> call_result.StopTransaction:
        info = await database_sync_to_async(services.stop_transaction)(
            self.charge_point_pk, snake_to_camel_case(payload)
        )
        return call_result.StopTransaction(id_tag_info=info)

    @on(Action.meter_values)
    async def on_meter_values(self, **payload: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.data_transfer)
    async def on_data_transfer(self, **payload: Any) -> call_result.DataTransfer:
        status = await database_sync_to_async(services.data_transfer_answer)(self.charge_point_pk)
        return call_result.DataTransfer(status=status)

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status_notification(
        self, status: str
    ) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(
        self, status: str
    ) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    # --- the security extension (whitepaper edition 3): stored as frames, judged there --

    @on(Action.security_event_notification)
    async def on_security_event_notification(
        self, **payload: Any
    ) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on(Action.log_status_notification)
    async def on_log_status_notification(self, **payload: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on(Action.signed_firmware_status_notification)
    async def on_signed_firmware_status_notification(
        self, **payload: Any
    ) -> call_result.SignedFirmwareStatusNotification:
        return call_result.SignedFirmwareStatusNotification()

    @on(Action.sign_certificate)
    async def on_sign_certificate(
        self, csr: str, call_unique_id: str, **_: Any
    ) -> call_result.SignCertificate:
        """Whitepaper 4.1.7 (TC_074): the lab CA signs the CSR after checking that its
        subject names this charge point; the chain follows in CertificateSigned. A CSR
        the CA will not sign is answered Rejected (the reason is noted on the frame)."""
        try:
            chain = await database_sync_to_async(security.sign_certificate_request)(self.id, csr)
        except pki.CsrRefused as refused:
            if (frame := self._answering.get(call_unique_id)) is not None:
                frame.validation_error = f"CSR not signed: {refused}"
            return call_result.SignCertificate(status="Rejected")
        self._signed_chains[call_unique_id] = chain
        return call_result.SignCertificate(status="Accepted")

    @after(Action.sign_certificate)
    async def after_sign_certificate(self, call_unique_id: str, **_: Any) -> None:
        chain = self._signed_chains.pop(call_unique_id, None)
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
