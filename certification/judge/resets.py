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
    connector_of,
    exchange_of,
    first,
    format_seconds,
    is_after,
    is_call,
    last,
    last_status_before,
    meter_values_of,
    payload_of,
    portal_call,
    reply_to,
    sample_time,
    seconds_between,
    settled_status,
    status_is,
    status_notifications,
    status_of,
    transactions,
)
from certification.judge.sessions import SESSION_STATUSES
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
    """The shared body of the four reset steps; see the rules for what each expects.

    OCPP 1.6 §5.14 (Reset): "After receipt of a Reset.req, The Charge Point SHALL send a
    StopTransaction.req PDU for any ongoing transaction before performing the reset"; on a
    hard reset the charger "is not required to gracefully stop ongoing transaction. If
    possible the Charge Point sends a StopTransaction.req for previously ongoing
    transactions after having restarted and having been accepted by the Central System via a
    BootNotification.conf"; a soft reset stops them gracefully before restarting the
    application software. "Persistent states: for example: Connector set to Unavailable
    shall persist." So every transaction running at the reset ends with a StopTransaction
    of its own transactionId and reason HardReset/SoftReset, and none goes on after the
    reboot: MeterValues of it sampled after the BootNotification are a fail.
    """
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

    boots = calls(between(frames, reset.call, None), "BootNotification")
    running: list[tuple[int | None, int | None]] = []
    if charging:
        running = _sessions_before(frames, reset.call, findings)
        running_ids = {transaction_id for transaction_id, _ in running}
        for transaction_id, _ in running:
            _check_stop(frames, reset, kind, transaction_id, running_ids, findings, measurements)
            if boots:
                _check_no_survivor(frames, transaction_id, boots[0], findings)

    measurements["reboots"] = len(boots)
    if boots:
        measurements["reset_to_boot_s"] = seconds_between(reset.call, boots[0])
    if not boots and kind == "Hard":
        findings.fail("No BootNotification after Reset(Hard); the charger was expected to reboot")
    if not boots and kind == "Soft" and reset.status == "Accepted":
        _check_soft_restart(context, reset, findings)
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
        if payload_of(n).get("status") == "Unavailable"
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
        charging_connectors = {c for _, c in running if c}
        measurements["statuses_after_reboot"] = _check_statuses(
            context, boots[-1], charging_connectors, inoperative, findings
        )
    return findings.judgement(measurements)


def _check_soft_restart(context: StepContext, reset: Exchange, findings: Findings) -> None:
    """A soft reset without a BootNotification still restarts the application software
    (OCPP 1.6 §5.14): its connection drops and comes back, or it reports its connectors
    again. A charger that accepted Reset(Soft) and shows none of this did not reset."""
    reconnected = [
        event
        for event in context.events
        if event.kind in ("closed", "connected") and event.at >= reset.call.at
    ]
    reported = status_notifications(context.frames, after=reset.call)
    if not reconnected and not reported:
        findings.fail(
            "Reset(Soft) was accepted but the charger showed no sign of restarting: no "
            "BootNotification, no reconnection and no StatusNotification after it",
            *reset.frames,
        )


def _sessions_before(
    frames: Sequence[Frame], reset: Frame, findings: Findings
) -> list[tuple[int | None, int | None]]:
    """The transactions running when the reset was sent, as (transactionId, connector).

    Started in the step and not stopped before the reset; or, for a session started before
    the step, a connector whose last status was Charging/SuspendedEV/SuspendedEVSE, with the
    transactionId its MeterValues carry when they show it.
    """
    before = between(frames, None, reset)
    running: list[tuple[int | None, int | None]] = [
        (t.transaction_id, t.connector_id)
        for t in transactions(before)
        if t.start is not None and t.stop is None
    ]
    known = {connector for _, connector in running}
    for connector in sorted({c for f in status_notifications(before) if (c := connector_of(f))}):
        latest = last_status_before(before, connector, None)
        if connector in known or latest is None or status_of(latest) not in SESSION_STATUSES:
            continue
        metered = last(
            [f for f in calls(before, "MeterValues") if connector_of(f) == connector],
            lambda f: as_int(payload_of(f).get("transactionId")) is not None,
        )
        running.append(
            (as_int(payload_of(metered).get("transactionId")) if metered else None, connector)
        )
    if not running:
        findings.fail(
            "No charging session before the Reset: StartTransaction or StatusNotification "
            "Charging was expected first",
            reset,
        )
    return running


def _check_stop(
    frames: Sequence[Frame],
    reset: Exchange,
    kind: ResetType,
    transaction_id: int | None,
    running_ids: set[int | None],
    findings: Findings,
    measurements: dict[str, Any],
) -> None:
    """StopTransaction of this transaction with reason HardReset or SoftReset, before or
    after the reboot; a StopTransaction of another transactionId does not close it."""
    stops = calls(between(frames, reset.call, None), "StopTransaction")
    stop = next(
        (s for s in stops if transaction_id in (None, as_int(payload_of(s).get("transactionId")))),
        None,
    )
    if stop is None:
        others = [s for s in stops if as_int(payload_of(s).get("transactionId")) not in running_ids]
        if others:
            stopped = ", ".join(str(payload_of(s).get("transactionId")) for s in others)
            findings.fail(
                f"StopTransaction for transaction {stopped} where transaction {transaction_id} "
                "was running",
                *others,
            )
        else:
            what = f"transaction {transaction_id}" if transaction_id is not None else "the session"
            findings.fail(
                f"No StopTransaction for {what} after Reset({kind}); one with reason "
                f"{kind}Reset was expected",
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
    boot = first(frames, charger_call("BootNotification"), after=reset.call)
    measurements["stop_before_reboot"] = boot is None or not is_after(stop, boot)


def _check_no_survivor(
    frames: Sequence[Frame], transaction_id: int | None, boot: Frame, findings: Findings
) -> None:
    """A transaction running at the reset does not go on after the reboot."""
    survived = [
        frame
        for frame in meter_values_of(between(frames, boot, None), transaction_id)
        if (sample_time(frame) or frame.at) > boot.at
    ]
    if survived:
        findings.fail(
            f"Transaction {transaction_id} survived the reboot: {len(survived)} MeterValues for "
            "it were sampled after the BootNotification, where the reset was to end it",
            boot,
            *survived,
        )


def _made_operative(frames: Sequence[Frame], connector: int, boot: Frame) -> Frame | None:
    """The first ChangeAvailability(connector or 0, Operative) after `boot` the charger
    accepted: from then on the connector is expected Available again."""
    for frame in between(frames, boot, None):
        if (
            is_call(frame, "ChangeAvailability", "out")
            and payload_of(frame).get("type") == "Operative"
            and as_int(payload_of(frame).get("connectorId")) in (0, connector)
            and Exchange(frame, reply_to(frames, frame)).status == "Accepted"
        ):
            return frame
    return None


def _check_statuses(
    context: StepContext,
    boot: Frame,
    charging_connectors: set[int],
    inoperative: set[int],
    findings: Findings,
) -> dict[str, str | None]:
    """After the reboot: a charging connector Finishing (the cable is still in; Preparing is
    minor), or Available when it reported Available before the reboot (the cable was already
    out); an Inoperative connector Unavailable; the others (and connector 0) Available."""
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
            # Until the portal makes it Operative again after the reboot (OCPP 1.6 §5.2).
            operative = _made_operative(context.frames, connector, boot)
            available = first(
                between(notifications, None, operative) if operative else notifications,
                status_is("Available"),
            )
            if available is not None:
                findings.fail(
                    f"Connector {connector} reported Available after the reboot although it was "
                    "set Inoperative; Unavailable was expected",
                    available,
                )
            continue
        if connector in charging_connectors and connector != 0:
            before_boot = last_status_before(context.frames, connector, boot)
            if before_boot is not None and status_of(before_boot) == "Available":
                if settled != "Available":
                    findings.fail(
                        f"Connector {connector} reported {settled} after the reboot where "
                        "Available was expected: it reported Available (cable out) before it",
                        *notifications,
                    )
                continue
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
