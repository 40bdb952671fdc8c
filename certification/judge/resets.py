"""Steps 9 to 12: hard and soft resets, with and without a charging session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from certification.judge.outcome import Findings, step_rule
from certification.judge.sequence import (
    Exchange,
    as_int,
    between,
    calls,
    charger_call,
    exchange_of,
    first,
    format_seconds,
    is_after,
    last,
    payload_of,
    portal_call,
    seconds_between,
    settled_status,
    status_is,
    status_notifications,
)
from certification.judge.types import Frame, Judgement, StepContext

ResetType = Literal["Hard", "Soft"]


def inoperative_connectors(context: StepContext, before: Frame) -> set[int]:
    """Connectors an accepted ChangeAvailability left Inoperative before the reset.

    Param `inoperative_connectors` adds connectors known to be Inoperative from earlier steps.
    """
    connectors = {int(c) for c in context.params.get("inoperative_connectors", ())}
    every = set(range(0, context.settings.connectors + 1))
    frames = context.frames
    for call in calls(between(frames, None, before), "ChangeAvailability", "out"):
        exchange = exchange_of(frames, call)
        if exchange is None or exchange.status != "Accepted":
            continue
        connector = as_int(exchange.request.get("connectorId"))
        targets = every if connector == 0 else {connector} if connector is not None else set()
        if exchange.request.get("type") == "Inoperative":
            connectors |= targets
        else:
            connectors -= targets
    return connectors


def judge_reset(context: StepContext, kind: ResetType, charging: bool) -> Judgement:
    """The shared body of the four reset steps; see the rules for what each expects."""
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {"reboots": 0}
    reset = exchange_of(frames, first(frames, portal_call("Reset")))
    if reset is None:
        findings.fail(f"No Reset({kind}) sent to the charger")
        return findings.judgement(measurements)
    sent = reset.request.get("type")
    if sent != kind:
        findings.fail(f"Reset({sent}) sent where Reset({kind}) was expected", reset.call)
    findings.expect_reply(reset, ("Accepted",), f"Reset({kind})")

    transaction_id, charging_connector = None, None
    if charging:
        transaction_id, charging_connector = _session_before(frames, reset.call, findings)
        _check_stop(frames, reset, kind, transaction_id, findings, measurements)

    boots = calls(between(frames, reset.call, None), "BootNotification")
    measurements["reboots"] = len(boots)
    if boots:
        measurements["reset_to_boot_s"] = seconds_between(reset.call, boots[0])
    if not boots and kind == "Hard":
        findings.fail("No BootNotification after Reset(Hard); the charger was expected to reboot")
    if len(boots) > 1:
        window = seconds_between(reset.call, boots[-1])
        findings.minor(
            f"The charger rebooted {len(boots)} times within {format_seconds(window)} after the "
            "Reset",
            *boots,
        )

    rebooted = boots[0] if boots else None
    unavailable = [
        n
        for n in status_notifications(frames, after=reset.call, before=rebooted)
        if n.payload and n.payload.get("status") == "Unavailable"
    ]
    measurements["unavailable_during_reset"] = bool(unavailable)
    if not unavailable:
        findings.minor(
            "No StatusNotification Unavailable during the reset; it is recommended that the "
            "charger reports Unavailable while it resets",
            reset.call,
        )
    if boots:
        inoperative = inoperative_connectors(context, reset.call)
        measurements["statuses_after_reboot"] = _check_statuses(
            context, boots[-1], charging_connector, inoperative, findings
        )
    return findings.judgement(measurements)


def _session_before(
    frames: Sequence[Frame], reset: Frame, findings: Findings
) -> tuple[int | None, int | None]:
    """The transaction running when the reset was sent, and its connector."""
    before = between(frames, None, reset)
    start = last(before, charger_call("StartTransaction"))
    charging = last(before, status_is("Charging"))
    if start is None and charging is None:
        findings.fail(
            "No charging session before the Reset: StartTransaction or StatusNotification "
            "Charging was expected first",
            reset,
        )
        return None, None
    exchange = exchange_of(frames, start)
    transaction_id = as_int(exchange.response.get("transactionId")) if exchange else None
    connector = as_int(payload_of(start or charging).get("connectorId"))
    return transaction_id, connector


def _check_stop(
    frames: Sequence[Frame],
    reset: Exchange,
    kind: ResetType,
    transaction_id: int | None,
    findings: Findings,
    measurements: dict[str, Any],
) -> None:
    """StopTransaction with reason HardReset or SoftReset, before or after the reboot."""
    stop = first(frames, charger_call("StopTransaction"), after=reset.call)
    if stop is None:
        findings.fail(
            f"No StopTransaction after Reset({kind}); one with reason {kind}Reset was expected",
            reset.call,
        )
        return
    payload = payload_of(stop)
    reason = payload.get("reason")
    measurements["stop_reason"] = reason
    if reason != f"{kind}Reset":
        findings.fail(
            f"StopTransaction reason {reason or 'omitted (Local)'} where {kind}Reset was expected",
            stop,
        )
    stopped = as_int(payload.get("transactionId"))
    if transaction_id is not None and stopped != transaction_id:
        findings.fail(
            f"StopTransaction for transaction {stopped} where transaction {transaction_id} "
            "was running",
            stop,
        )
    boot = first(frames, charger_call("BootNotification"), after=reset.call)
    measurements["stop_before_reboot"] = boot is None or not is_after(stop, boot)


def _check_statuses(
    context: StepContext,
    boot: Frame,
    charging_connector: int | None,
    inoperative: set[int],
    findings: Findings,
) -> dict[str, str | None]:
    """After the reboot: the charging connector Finishing, an Inoperative one Unavailable,
    the others (and connector 0) Available. Preparing on the charging connector is minor."""
    statuses: dict[str, str | None] = {}
    for connector in range(context.settings.connectors + 1):
        notifications = status_notifications(context.frames, connector, after=boot)
        settled = settled_status(notifications)
        statuses[str(connector)] = settled
        if not notifications:
            findings.fail(
                f"No StatusNotification for connector {connector} after the reboot",
                boot,
            )
            continue
        if connector in inoperative:
            available = first(notifications, status_is("Available"))
            if available is not None:
                findings.fail(
                    f"Connector {connector} reported Available after the reboot although it was "
                    "set Inoperative; Unavailable was expected",
                    available,
                )
            continue
        if connector == charging_connector and connector != 0:
            if settled == "Preparing":
                findings.minor(
                    f"StatusNotification Preparing received for connector {connector} after the "
                    "reboot where Finishing was expected: the cable is still connected and the "
                    "transaction has just stopped",
                    *notifications,
                )
            elif settled != "Finishing":
                findings.fail(
                    f"Connector {connector} reported {settled} after the reboot where Finishing "
                    "was expected",
                    *notifications,
                )
            continue
        if settled != "Available":
            findings.fail(
                f"Connector {connector} reported {settled} after the reboot where Available was "
                "expected",
                *notifications,
            )
    return statuses


@step_rule("charging session before the Reset (StartTransaction or StatusNotification Charging)")
def hard_reset_charging(context: StepContext) -> Judgement:
    """Step 9, Hard Reset - During Charging session (TC_015).

    Charging -> Reset(Hard) -> Accepted -> StopTransaction reason HardReset (before or after
    the reboot) -> BootNotification -> SN per connector and connector 0: the charging
    connector Finishing (Preparing is minor), the others Available. No SN Unavailable during
    the reset is minor (recommended). More than one BootNotification is minor.

    Params: `inoperative_connectors`, connectors known to be Inoperative from earlier steps.
    Measures: reboots, reset_to_boot_s, stop_reason, stop_before_reboot,
    unavailable_during_reset, statuses_after_reboot.
    """
    return judge_reset(context, "Hard", charging=True)


@step_rule("Reset(Hard) sent to the charger")
def hard_reset_idle(context: StepContext) -> Judgement:
    """Step 10, Hard Reset - No charging session (TC_013).

    Reset(Hard) -> Accepted -> BootNotification -> SN Available per connector; a connector
    set Inoperative before must still be Unavailable after the reboot. Every BootNotification
    after the Reset is counted: more than one is minor ("rebooted 2 times within 40 s").

    Params and measures as for hard_reset_charging, without the transaction.
    """
    return judge_reset(context, "Hard", charging=False)


@step_rule("charging session before the Reset (StartTransaction or StatusNotification Charging)")
def soft_reset_charging(context: StepContext) -> Judgement:
    """Step 11, Soft Reset - During Charging session (TC_016).

    As step 9 with reason SoftReset; the BootNotification is optional after a soft reset
    (and the statuses after the reboot are only judged when one came).
    """
    return judge_reset(context, "Soft", charging=True)


@step_rule("Reset(Soft) sent to the charger")
def soft_reset_idle(context: StepContext) -> Judgement:
    """Step 12, Soft Reset - No charging session (TC_014).

    As step 10 with Reset(Soft); the BootNotification is optional.
    """
    return judge_reset(context, "Soft", charging=False)
