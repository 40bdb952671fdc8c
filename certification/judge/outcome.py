"""Collecting findings and turning them into a verdict, the same way for every rule.

`step_rule` wraps each rule with what the plan says holds for every step: frames are read in
capture order, an empty step is a clear "nothing arrived" instead of a crash, and every schema
violation in the step is a finding whatever the rule itself looks at.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import timedelta
from typing import Any

from certification.judge.sequence import (
    Exchange,
    SequenceMatch,
    configured_value,
    format_seconds,
    frame_ids,
    is_call,
    meter_values_of,
    ordered,
    payload_of,
    reading_contexts,
    sample_time,
    sampled_values,
    seconds_between,
    transactions,
    unapplied_changes,
)
from certification.judge.types import (
    CALL,
    CALLERROR,
    Finding,
    Frame,
    Judgement,
    Severity,
    StepContext,
)

Rule = Callable[[StepContext], Judgement]

# Charger timestamps often carry whole seconds: a reading within this of the stop is the stop.
STOP_MARGIN = timedelta(seconds=1)


class Findings:
    """An append-only list of findings that knows how to become a Judgement."""

    def __init__(self) -> None:
        self._items: list[Finding] = []

    def add(self, severity: Severity, message: str, *frames: Frame | None) -> None:
        self._items.append(Finding(severity, message, frame_ids(*frames)))

    def fail(self, message: str, *frames: Frame | None) -> None:
        self.add("fail", message, *frames)

    def minor(self, message: str, *frames: Frame | None) -> None:
        self.add("minor", message, *frames)

    def info(self, message: str, *frames: Frame | None) -> None:
        self.add("info", message, *frames)

    @property
    def items(self) -> tuple[Finding, ...]:
        return tuple(self._items)

    def extend(self, other: Findings) -> None:
        """Take over another list's findings (a rule judging attempts one by one)."""
        self._items.extend(other.items)

    @property
    def failed(self) -> bool:
        return any(item.severity == "fail" for item in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def judgement(self, measurements: dict[str, Any] | None = None) -> Judgement:
        """N with any fail finding, Y otherwise; minor findings keep Y but are reported."""
        return Judgement(
            verdict="N" if self.failed else "Y",
            findings=tuple(self._items),
            measurements=measurements or {},
        )

    def not_applicable(self, message: str, *frames: Frame | None) -> Judgement:
        self.info(message, *frames)
        return Judgement(verdict="NA", findings=tuple(self._items), measurements={})

    # Common checks -----------------------------------------------------------------------

    def expect_reply(self, exchange: Exchange, accepted: Collection[str], what: str) -> bool:
        """Check that the charger answered a command the step needs with one of `accepted`.

        A CALLERROR, a missing reply and an unexpected status are each a fail naming the
        command; returns True when the answer was one of `accepted`.
        """
        expected = " or ".join(accepted)
        if exchange.reply is None:
            self.fail(
                f"{what} got no reply from the charger; {expected} was expected", exchange.call
            )
        elif exchange.is_error or exchange.status not in accepted:
            self.fail(
                f"{what} answered {exchange.answer} where {expected} was expected",
                *exchange.frames,
            )
        else:
            return True
        return False

    def expect_result(self, exchange: Exchange, what: str) -> bool:
        """For commands whose reply has no status (UpdateFirmware): any CALLRESULT will do."""
        if exchange.reply is None:
            self.fail(f"{what} got no reply from the charger", exchange.call)
            return False
        if exchange.is_error:
            self.fail(f"{what} answered {exchange.answer}", *exchange.frames)
            return False
        return True

    def report_sequence(self, match: SequenceMatch, severity: Severity = "fail") -> None:
        """Word each missing or early message of an expected sequence as a finding."""
        for label, previous in match.missing:
            self.add(severity, f"Expected {label} after {previous}; none was recorded")
        for label, frame, previous in match.early:
            self.add(
                severity,
                f"{label} arrived before {previous}, where it was expected after it",
                frame,
            )
        for label, status, before_label, before in match.reordered:
            self.info(
                f"{label} arrived {format_seconds(seconds_between(before, status))} after "
                f"{before_label}, not before it; OCPP 1.6 sets no order between a "
                "StatusNotification and other messages",
                before,
                status,
            )


def schema_findings(frames: tuple[Frame, ...]) -> Findings:
    """Every frame that broke the OCPP 1.6 schema or OCPP-J framing, as a fail finding."""
    findings = Findings()
    for frame in frames:
        if frame.validation_error is None and frame.message_type is not None:
            continue
        side = "from the charger" if frame.direction == "in" else "to the charger"
        if frame.message_type is None:
            findings.fail(
                f"A frame {side} is not valid OCPP-J: {frame.validation_error or 'unparsed'}",
                frame,
            )
            continue
        kind = {CALL: "request", CALLERROR: "error reply"}.get(frame.message_type, "reply")
        findings.fail(
            f"{frame.action or 'Unknown'} {kind} {side} violates the OCPP 1.6 schema: "
            f"{frame.validation_error}",
            frame,
        )
    return findings


def unapplied_configuration(frames: tuple[Frame, ...]) -> Findings:
    """An accepted ChangeConfiguration that a later GetConfiguration does not read back.

    OCPP 1.6 §5.3 (Change Configuration): "Accepted: Configuration key is supported and
    setting has been changed." A charger that answers Accepted and keeps the old value did
    not do what it accepted: a fail, in whichever step it shows.
    """
    findings = Findings()
    for change, reply, read in unapplied_changes(frames):
        key, value = change.request.get("key"), change.request.get("value")
        findings.fail(
            f"ChangeConfiguration of {key} to {value} was answered Accepted, but GetConfiguration "
            f"afterwards reads {key} as {read}: the charger did not apply the value it accepted",
            *change.frames,
            reply,
        )
    return findings


def metered_after_stop(frames: tuple[Frame, ...]) -> Findings:
    """MeterValues of a transaction sampled after the transaction stopped.

    OCPP 1.6 §4.7 (Meter Values): the transactionId in MeterValues.req names "the
    transaction to which these meter samples are related"; after StopTransaction.req the
    transaction is over, so no sample taken later can belong to it (a queued one sampled
    before the stop may still arrive later, and is fine). The closing reading
    (Transaction.End) and a second of clock resolution are allowed.
    """
    findings = Findings()
    for transaction in transactions(frames):
        stopped_at = transaction.stopped_at
        if stopped_at is None:
            continue
        late = [
            frame
            for frame in meter_values_of(frames, transaction.transaction_id)
            if (sampled := sample_time(frame)) is not None
            and sampled > stopped_at + STOP_MARGIN
            and reading_contexts(frame) != {"Transaction.End"}
        ]
        if late:
            findings.fail(
                f"{len(late)} MeterValues for transaction {transaction.transaction_id} sampled "
                f"after its StopTransaction ({stopped_at:%H:%M:%S}); a stopped transaction "
                "reports no further values",
                transaction.stop,
                *late,
            )
    return findings


# Each notification whose status Idle only a trigger may ask for, and the trigger:
# (the command's action, its requestedMessage).
TRIGGERED_ONLY_IDLE = {
    "DiagnosticsStatusNotification": ("TriggerMessage", "DiagnosticsStatusNotification"),
    "FirmwareStatusNotification": ("TriggerMessage", "FirmwareStatusNotification"),
    "LogStatusNotification": ("ExtendedTriggerMessage", "LogStatusNotification"),
    "SignedFirmwareStatusNotification": (
        "ExtendedTriggerMessage",
        "SignedFirmwareStatusNotification",
    ),
}


def idle_without_trigger(frames: tuple[Frame, ...]) -> Findings:
    """A status notification with status Idle that no trigger asked for.

    OCPP 1.6 §7.25 (DiagnosticsStatus) and §7.28 (FirmwareStatus): "Idle: Charge Point is not
    performing diagnostics [firmware update] related tasks. Status Idle SHALL only be used as
    in a DiagnosticsStatusNotification.req [FirmwareStatusNotification.req] that was
    triggered by a TriggerMessage.req". The 1.6 security whitepaper says the same of
    LogStatusNotification (UploadLogStatus Idle) and SignedFirmwareStatusNotification
    (FirmwareStatus Idle), triggered by ExtendedTriggerMessage.req. Each trigger for the
    notification, sent earlier in the step, allows one Idle; any other Idle is a fail
    citing the notification.
    """
    findings = Findings()
    allowed = dict.fromkeys(TRIGGERED_ONLY_IDLE, 0)
    triggers: dict[tuple[str | None, Any], str] = {
        trigger: action for action, trigger in TRIGGERED_ONLY_IDLE.items()
    }
    for frame in frames:
        if not is_call(frame):
            continue
        payload = payload_of(frame)
        if frame.direction == "out":
            requested = payload.get("requestedMessage")
            asked = triggers.get((frame.action, requested)) if isinstance(requested, str) else None
            if asked is not None:
                allowed[asked] += 1
            continue
        action = frame.action
        if action not in allowed or payload.get("status") != "Idle":
            continue
        if allowed[action]:
            allowed[action] -= 1
            continue
        trigger = TRIGGERED_ONLY_IDLE[action][0]
        findings.fail(
            f"{action} Idle that no {trigger} asked for: OCPP 1.6 allows status Idle only in "
            f"a notification triggered by {trigger}",
            frame,
        )
    return findings


# OCPP 1.6 §7.31 Measurand; §7.45: a sampledValue without one is the default.
MEASURANDS = frozenset(
    {
        "Current.Export",
        "Current.Import",
        "Current.Offered",
        "Energy.Active.Export.Register",
        "Energy.Active.Import.Register",
        "Energy.Reactive.Export.Register",
        "Energy.Reactive.Import.Register",
        "Energy.Active.Export.Interval",
        "Energy.Active.Import.Interval",
        "Energy.Reactive.Export.Interval",
        "Energy.Reactive.Import.Interval",
        "Frequency",
        "Power.Active.Export",
        "Power.Active.Import",
        "Power.Factor",
        "Power.Offered",
        "Power.Reactive.Export",
        "Power.Reactive.Import",
        "RPM",
        "SoC",
        "Temperature",
        "Voltage",
    }
)
DEFAULT_MEASURAND = "Energy.Active.Import.Register"


def unsampled_measurands(context: StepContext) -> Findings:
    """A measurand the charger is configured to sample that its periodic MeterValues never
    carry.

    OCPP 1.6 §9.1 MeterValuesSampledData: "Sampled measurands to be included in a
    MeterValues.req PDU, every MeterValueSampleInterval seconds"; §7.45 SampledValue: the
    measurand's "Default = 'Energy.Active.Import.Register'". The list in force when the
    transaction started (accepted or read back in the step, else earlier in the run) is
    compared with every measurand of the transaction's Sample.Periodic readings together, so
    measurands spread over several messages count; a configured one that never arrives is a
    fail naming it. Measurands beyond the list, names outside §7.31, and transactions with no
    periodic reading (MeterValueSampleInterval 0, a short session: other rules judge those)
    are not findings here.
    """
    findings = Findings()
    for transaction in transactions(context.frames):
        periodic = [
            frame
            for frame in meter_values_of(context.frames, transaction.transaction_id)
            if "Sample.Periodic" in reading_contexts(frame)
        ]
        if not periodic:
            continue
        before = transaction.start.call if transaction.start is not None else periodic[0]
        configured = known_setting(context, "MeterValuesSampledData", before=before)
        wanted = [
            name.strip() for name in (configured or "").split(",") if name.strip() in MEASURANDS
        ]
        sampled = {
            str(value.get("measurand") or DEFAULT_MEASURAND)
            for frame in periodic
            for value in sampled_values(frame)
            if (value.get("context") or "Sample.Periodic") == "Sample.Periodic"
        }
        missing = [name for name in wanted if name not in sampled]
        if missing:
            findings.fail(
                f"MeterValuesSampledData is {configured}, but the {len(periodic)} periodic "
                f"MeterValues of transaction {transaction.transaction_id} never carry "
                f"{', '.join(missing)}: the charger does not sample what it is configured to",
                *periodic,
            )
    return findings


def known_setting(context: StepContext, key: str, before: Frame | None = None) -> str | None:
    """The value of configuration `key` the charger works with at `before`: set or read in
    the step, else accepted or reported before the step (param `configuration`)."""
    value, _ = configured_value(context.frames, key, before=before)
    if value is not None:
        return value
    earlier = context.params.get("configuration") or {}
    found = earlier.get(key) if isinstance(earlier, dict) else None
    return None if found is None else str(found)


def step_rule(first_expected: str, *, read_back: bool = True) -> Callable[[Rule], Rule]:
    """Wrap a rule with the checks every step shares.

    `first_expected` completes "No ... : the step recorded no frames" for an empty step,
    e.g. "BootNotification received". Besides the rule's own findings every step reports
    schema violations, accepted configuration that was not applied (`read_back` False when
    the rule words that itself), meter values of a transaction after its stop, a
    diagnostics or firmware status Idle that no TriggerMessage asked for, and configured
    measurands the periodic meter values never carry. Any fail among them makes the verdict
    N, also where the rule proposed Y or NA.
    """

    def decorate(rule: Rule) -> Rule:
        @functools.wraps(rule)
        def judged(context: StepContext) -> Judgement:
            if not context.frames:
                return Judgement(
                    verdict="N",
                    findings=(
                        Finding("fail", f"No {first_expected}: the step recorded no frames"),
                    ),
                    measurements={},
                )
            frames = ordered(context.frames)
            events = tuple(sorted(context.events, key=lambda event: event.at))
            judgement = rule(replace(context, frames=frames, events=events))
            shared = [
                schema_findings(frames),
                metered_after_stop(frames),
                idle_without_trigger(frames),
                unsampled_measurands(replace(context, frames=frames)),
            ]
            if read_back:
                shared.append(unapplied_configuration(frames))
            common = tuple(f for found in shared for f in found.judgement().findings)
            if not common:
                return judgement
            findings = (*common, *judgement.findings)
            # A fail the evidence shows is proposed as N even in a step the rule found not
            # applicable: a report never claims more than its evidence proves.
            verdict = judgement.verdict
            if any(f.severity == "fail" for f in findings):
                verdict = "N"
            return Judgement(verdict, findings, judgement.measurements)

        return judged

    return decorate


def int_param(context: StepContext, name: str, default: int | None) -> int | None:
    value = context.params.get(name, default)
    return None if value is None else int(value)


def float_param(context: StepContext, name: str, default: float | None) -> float | None:
    value = context.params.get(name, default)
    return None if value is None else float(value)


def timing_tolerance(context: StepContext) -> float:
    """How far a measured time may be from the expected one, in seconds: the step's
    `tolerance_s` param, else the run's tolerance (the lab's setting, 4 s by default as in the
    OCA's compliance tool). Every timing check of every rule takes it from here."""
    value = float_param(context, "tolerance_s", context.settings.timing_tolerance_s)
    return max(0.0, value if value is not None else context.settings.timing_tolerance_s)


def bool_param(context: StepContext, name: str, default: bool) -> bool:
    return bool(context.params.get(name, default))


def str_param(context: StepContext, name: str, default: str) -> str:
    return str(context.params.get(name, default))
