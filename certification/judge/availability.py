"""Steps 2 and 16: connectors taken out of and back into service, by command or by a fault."""

from __future__ import annotations

from typing import Any

from certification.judge.outcome import Findings, step_rule
from certification.judge.sequence import (
    Exchange,
    as_int,
    between,
    charger_call,
    connector_of,
    exchanges,
    first,
    format_seconds,
    is_after,
    last_status_before,
    payload_of,
    seconds_between,
    status_is,
    status_notifications,
    status_of,
)
from certification.judge.types import Frame, Judgement, StepContext

AVAILABILITY_STATUS = {"Inoperative": "Unavailable", "Operative": "Available"}


@step_rule("ChangeAvailability sent to the charger")
def change_availability(context: StepContext) -> Judgement:
    """Step 2, Change availability (in TC_013, TC_014, TC_034).

    ChangeAvailability(N, Inoperative) -> Accepted -> SN(N, Unavailable), then Operative ->
    Accepted -> SN(N, Available). Connector 0 means every connector. Scheduled is accepted
    (it is the answer during a transaction) and then no immediate StatusNotification is due.
    Both an Inoperative and an Operative command must be in the step.

    OCPP 1.6 §5.2 (Change Availability): "When an availability change requested with a
    ChangeAvailability.req PDU has happened, the Charge Point SHALL inform Central System of
    its new availability status with a StatusNotification.req" and "In the event that
    Central System requests Charge Point to change to a status it is already in, Charge
    Point SHALL respond with availability status 'Accepted'" (then no status changes, and no
    StatusNotification is due). Nothing orders that StatusNotification against the
    CALLRESULT, and OCPP-J lets either side send a CALL while it owes a reply: a status that
    arrives before the reply counts, reported as information with its timing. On connector 0
    the charger may also report connector 0 itself.

    Measures: per command its connector, type, answer and the delay to the status (negative
    when the status came before the reply).
    """
    frames, findings = context.frames, Findings()
    commands = exchanges(frames, "ChangeAvailability")
    if not commands:
        findings.fail("No ChangeAvailability sent to the charger")
        return findings.judgement()
    results: list[dict[str, Any]] = []
    for index, command in enumerate(commands):
        following = commands[index + 1] if index + 1 < len(commands) else None
        results.append(_judge_command(context, command, following, findings))
    sent_types = {command.request.get("type") for command in commands}
    for kind, purpose in (
        ("Inoperative", "taken out of service"),
        ("Operative", "returned to service"),
    ):
        if kind not in sent_types:
            findings.fail(f"No ChangeAvailability {kind} sent: the connector was never {purpose}")
    return findings.judgement({"commands": results})


def _judge_command(
    context: StepContext, command: Exchange, following: Exchange | None, findings: Findings
) -> dict[str, Any]:
    connector = as_int(command.request.get("connectorId"))
    kind = str(command.request.get("type"))
    what = f"ChangeAvailability(connector {connector}, {kind})"
    result: dict[str, Any] = {"connector_id": connector, "type": kind, "answer": command.answer}
    if not findings.expect_reply(command, ("Accepted", "Scheduled"), what):
        return result
    if command.status == "Scheduled":
        findings.info(f"{what} answered Scheduled: the change waits for the transaction to end")
        return result
    expected = AVAILABILITY_STATUS.get(kind)
    if expected is None or connector is None:
        return result
    targets = range(1, context.settings.connectors + 1) if connector == 0 else (connector,)
    # The window runs from the command (a status may precede the reply) to the reply of the
    # next command (its status change may overtake its own reply too).
    window = between(context.frames, command.call, following.last if following else None)
    delays: dict[str, float] = {}
    for target in targets:
        before = last_status_before(context.frames, target, command.call)
        notification = first(window, status_is(expected, target))
        if notification is None:
            if before is not None and status_of(before) == expected:
                findings.info(
                    f"{what}: connector {target} was already {expected}, so no "
                    "StatusNotification was due",
                    before,
                )
                continue
            reported = [
                f"{status_of(n)} {_timing(command, n)}"
                for n in status_notifications(window, target)
            ]
            arrived = f"; it reported {', '.join(reported)}" if reported else ""
            findings.fail(
                f"{what} was accepted but connector {target} sent no StatusNotification "
                f"{expected}{arrived}",
                *command.frames,
            )
            continue
        if kind == "Inoperative":
            _check_kept_unavailable(context, command, following, target, notification, findings)
        reply = command.reply
        assert reply is not None  # expect_reply passed
        delays[str(target)] = seconds_between(reply, notification)
        if not is_after(notification, reply):
            findings.info(
                f"StatusNotification {expected} for connector {target} arrived "
                f"{_timing(command, notification)}, which OCPP 1.6 allows",
                notification,
                reply,
            )
    result["status_delay_s"] = delays
    return result


def _check_kept_unavailable(
    context: StepContext,
    command: Exchange,
    following: Exchange | None,
    connector: int,
    unavailable: Frame,
    findings: Findings,
) -> None:
    """An accepted Inoperative holds until the portal asks for Operative: OCPP 1.6 §5.2 makes
    the availability set by ChangeAvailability a persistent state (an Unavailable connector
    stays so even across a reboot), so a connector that reports Available or Preparing again
    before the next ChangeAvailability dropped the state it accepted."""
    until = following.call if following is not None else None
    for notification in status_notifications(
        between(context.frames, unavailable, until), connector
    ):
        if status_of(notification) in ("Available", "Preparing"):
            findings.fail(
                f"Connector {connector} reported {status_of(notification)} "
                f"{format_seconds(seconds_between(unavailable, notification))} after "
                f"ChangeAvailability(connector {command.request.get('connectorId')}, "
                "Inoperative) made it Unavailable, before any Operative was sent: the charger "
                "did not keep the availability it accepted",
                unavailable,
                notification,
            )
            return


def _timing(command: Exchange, notification: Frame) -> str:
    """ "0.004 s before the reply to ChangeAvailability", or "1.2 s after" it."""
    reply = command.reply or command.call
    delay = seconds_between(reply, notification)
    if is_after(notification, reply):
        return f"{format_seconds(delay)} after the reply"
    return f"{abs(delay):g} s before the reply to ChangeAvailability"


@step_rule("StatusNotification Faulted received")
def hardware_fault(context: StepContext) -> Judgement:
    """Step 16, Hardware related notification / error condition (TC_041, TC_024).

    [cause a fault] -> SN Faulted with an errorCode other than NoError -> no transaction can
    start -> [clear] -> SN Available on the same connector (Preparing when a cable is in). An
    errorCode with a status other than Faulted is a warning, reported as information, not as
    the fault.

    Measures: the connector, errorCode, vendorErrorCode and info of the fault, and how long
    the connector stayed Faulted.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    for warning in status_notifications(frames):
        payload = payload_of(warning)
        if status_of(warning) != "Faulted" and payload.get("errorCode") not in (None, "NoError"):
            findings.info(
                f"StatusNotification {status_of(warning)} with errorCode "
                f"{payload.get('errorCode')} on connector {payload.get('connectorId')} is a "
                "warning, not a fault",
                warning,
            )
    faults = [n for n in status_notifications(frames) if status_of(n) == "Faulted"]
    if not faults:
        findings.fail("No StatusNotification Faulted received")
        return findings.judgement(measurements)
    fault = next((f for f in faults if payload_of(f).get("errorCode") != "NoError"), faults[0])
    payload = payload_of(fault)
    connector = connector_of(fault)
    measurements.update(
        connector_id=connector,
        error_code=payload.get("errorCode"),
        vendor_error_code=payload.get("vendorErrorCode"),
        info=payload.get("info"),
    )
    if payload.get("errorCode") in (None, "NoError"):
        findings.fail(
            f"StatusNotification Faulted on connector {connector} carries errorCode NoError "
            "where an errorCode naming the fault was expected",
            fault,
        )
    # Cleared: the connector's first status after the fault that is in service again;
    # Preparing when a cable is still plugged in (OCPP 1.6 §4.9, Faulted -> Preparing).
    cleared = first(
        frames,
        lambda frame: (
            status_is("Available", connector)(frame) or status_is("Preparing", connector)(frame)
        ),
        after=fault,
    )
    started = first(
        between(frames, fault, cleared),
        lambda frame: (
            charger_call("StartTransaction")(frame) and connector in (0, connector_of(frame))
        ),
    )
    if started is not None:
        findings.fail(
            f"StartTransaction on connector {connector_of(started)} while connector "
            f"{connector} was Faulted; no transaction should start during a fault",
            started,
        )
    if cleared is None:
        findings.fail(
            f"Connector {connector} sent no StatusNotification Available after the fault; "
            "it was expected once the fault was cleared",
            fault,
        )
    else:
        duration = seconds_between(fault, cleared)
        measurements["faulted_s"] = duration
        findings.info(
            f"Connector {connector} was Faulted ({payload.get('errorCode')}) for "
            f"{format_seconds(duration)}",
            fault,
            cleared,
        )
    return findings.judgement(measurements)
