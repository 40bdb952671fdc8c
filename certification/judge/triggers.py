"""Step 23: messages the portal asks the charger to send with TriggerMessage."""

from __future__ import annotations

from typing import Any

from certification.judge.boot import configured_heartbeat_interval
from certification.judge.outcome import Findings, bool_param, step_rule, timing_tolerance
from certification.judge.sequence import (
    Exchange,
    as_int,
    connector_of,
    exchanges,
    format_seconds,
    is_after,
    is_call,
    seconds_between,
)
from certification.judge.types import Frame, Judgement, Severity, StepContext

TRIGGER_KINDS = (
    "BootNotification",
    "Heartbeat",
    "StatusNotification",
    "MeterValues",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
)
CONNECTOR_KINDS = ("StatusNotification", "MeterValues")
FIRMWARE_KINDS = ("DiagnosticsStatusNotification", "FirmwareStatusNotification")


@step_rule("TriggerMessage sent to the charger")
def trigger_message(context: StepContext) -> Judgement:
    """Step 23, TriggerMessage (TC_054, TC_055).

    TriggerMessage for each of BootNotification, Heartbeat, StatusNotification(connector),
    MeterValues(connector), DiagnosticsStatusNotification and FirmwareStatusNotification ->
    Accepted, and the triggered message follows the reply. FirmwareStatusNotification may be
    NotImplemented (so may both firmware kinds when the run does not support Firmware
    Management). MeterValues for a connector that does not exist -> Rejected.
    A Rejected reply to a kind is a finding naming it; minor by default, as the seed report
    passed a charger that only triggers MeterValues during a transaction.

    Params: `kinds` (default the six above); `rejected_is_fail` (default False).
    Measures: per TriggerMessage the kind, connector, answer and delay to the message.
    """
    frames, findings = context.frames, Findings()
    settings = context.settings
    triggers = exchanges(frames, "TriggerMessage")
    if not triggers:
        findings.fail("No TriggerMessage sent to the charger")
        return findings.judgement({})
    firmware_supported = any(
        p.replace(" ", "").lower() == "firmwaremanagement" for p in settings.supported_profiles
    )
    rejected_severity: Severity = (
        "fail" if bool_param(context, "rejected_is_fail", False) else "minor"
    )
    claimed: set[int] = set()
    results: list[dict[str, Any]] = []
    triggered_kinds: set[str] = set()
    probed_missing_connector = False
    for trigger in triggers:
        kind = str(trigger.request.get("requestedMessage"))
        connector = as_int(trigger.request.get("connectorId"))
        what = f"TriggerMessage {kind}" + (f" for connector {connector}" if connector else "")
        result: dict[str, Any] = {"kind": kind, "connector_id": connector, "answer": trigger.answer}
        results.append(result)
        if connector is not None and connector > settings.connectors:
            probed_missing_connector = probed_missing_connector or kind == "MeterValues"
            findings.expect_reply(trigger, ("Rejected",), f"{what}, which does not exist,")
            continue
        triggered_kinds.add(kind)
        if trigger.is_error or trigger.reply is None:
            findings.expect_reply(trigger, ("Accepted",), what)
        elif trigger.status == "Rejected":
            findings.add(rejected_severity, f"{what} answered Rejected", *trigger.frames)
        elif trigger.status == "NotImplemented":
            if kind == "FirmwareStatusNotification" or (
                kind in FIRMWARE_KINDS and not firmware_supported
            ):
                findings.info(f"{what} answered NotImplemented, which the plan allows")
            else:
                findings.fail(
                    f"{what} answered NotImplemented where Accepted was expected", *trigger.frames
                )
        elif trigger.status == "Accepted":
            triggered = _triggered_message(frames, trigger, kind, connector, claimed)
            if triggered is None:
                findings.fail(f"{what} was accepted but no {kind} followed", *trigger.frames)
                continue
            claimed.add(triggered.seq)
            result["delay_s"] = seconds_between(trigger.last, triggered)
            periodic = (
                _periodic_heartbeat(context, trigger, triggered) if kind == "Heartbeat" else None
            )
            if periodic is not None:
                findings.fail(
                    f"{what} was accepted, but the first Heartbeat after it came "
                    f"{format_seconds(result['delay_s'])} later, {periodic}: no Heartbeat "
                    "answered the trigger",
                    *trigger.frames,
                    triggered,
                )
                continue
            if not is_after(triggered, trigger.last):
                findings.minor(f"{kind} arrived before the reply to {what}", triggered)
        else:
            findings.expect_reply(trigger, ("Accepted",), what)
    kinds = tuple(context.params.get("kinds", TRIGGER_KINDS))
    for kind in kinds:
        if kind not in triggered_kinds:
            findings.fail(f"No TriggerMessage {kind} sent")
    if "MeterValues" in kinds and not probed_missing_connector:
        findings.fail(
            "No TriggerMessage MeterValues for a connector that does not exist sent; "
            "Rejected was expected"
        )
    delays = [r["delay_s"] for r in results if "delay_s" in r]
    measurements: dict[str, Any] = {"triggers": results}
    if delays:
        measurements["max_delay_s"] = max(delays)
        if max(delays) > 60:
            findings.info(f"The slowest triggered message came after {format_seconds(max(delays))}")
    return findings.judgement(measurements)


def _periodic_heartbeat(context: StepContext, trigger: Exchange, heartbeat: Frame) -> str | None:
    """Why `heartbeat` is the charger's periodic Heartbeat rather than the triggered one, or
    None. OCPP 1.6 §5.17: the charger sends the requested message after its reply; one that
    comes later than the timing tolerance, when the HeartbeatInterval since the previous
    Heartbeat is up (within the tolerance), is the one it would have sent anyway."""
    tolerance = timing_tolerance(context)
    if seconds_between(trigger.last, heartbeat) <= tolerance:
        return None
    interval = configured_heartbeat_interval(context)
    previous = [
        frame
        for frame in context.frames
        if is_call(frame, "Heartbeat", "in") and frame.seq < trigger.call.seq
    ]
    if not interval or not previous:
        return None
    since_previous = seconds_between(previous[-1], heartbeat)
    if abs(since_previous - interval) > tolerance:
        return None
    return (
        f"when the periodic one was due ({format_seconds(since_previous)} after the previous "
        f"Heartbeat, HeartbeatInterval {interval} s)"
    )


def _triggered_message(
    frames: tuple[Frame, ...],
    trigger: Exchange,
    kind: str,
    connector: int | None,
    claimed: set[int],
) -> Frame | None:
    """The first message of `kind` after the TriggerMessage that no earlier trigger claimed."""
    for frame in frames:
        if (
            is_after(frame, trigger.call)
            and is_call(frame, kind, "in")
            and frame.seq not in claimed
            and (
                connector is None or kind not in CONNECTOR_KINDS or connector_of(frame) == connector
            )
        ):
            return frame
    return None
