"""Unattended runs: a whole plan played on a charge point without a person.

``start_unattended`` records an ``UnattendedRun`` and plays it in a thread of the process that
was asked (the API, a page); ``play`` plays it in the caller's thread (``manage.py run_plan``).
For each step of the plan, in order, the player starts an attempt (certification.services),
performs the step's ``automation`` - data, never code:

- ``{"bench": action, ...arguments}``: a manual action through the charge point's test bench
  hook (chargers.bench); ``"card": "accepted" | "rejected"`` picks an idTag of the run;
- ``{"command": label}``: sends the step's pre-filled command of that label (placeholders
  replaced as from the console); ``{"commands": "all", "wait": s}``: all of them in order;
- ``{"fault": kind, ...fields}``: injects a fault (chargers.services.inject_fault);
- ``{"wait": seconds}``, ``{"wait": {"heartbeat_intervals": n}}``: waits;
- ``{"until": {"action": ..., "status": ..., "connectorId": ...} | {"connected": true},
  "timeout": seconds}``: waits for the charger's next such message (after the one the
  previous ``until`` saw; with ``"since": "step"`` any since the step started) or
  reconnection, at most ``timeout``;

then finishes the attempt, which lets the judge propose its verdict. A step the run's
capability declaration rules out (certification.applicability) is not played: it is N/A for
the plan's reason. A step whose automation is empty sends its commands. A step that needs
the bench on a charge point without one is not run: its prompts stay for a person. The run
can be stopped at any operation; the results are the step attempts this unattended run made
(JSON and JUnit: results()).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer
from django.db import close_old_connections, connections, transaction
from django.utils import timezone

from certification import services
from certification.models import StepResult, TestRun, TestStep, UnattendedRun
from chargers import bench
from chargers import services as charger_services
from chargers.models import ConnectionEvent, Frame, IdTag, User, run_group

log = logging.getLogger(__name__)

WORKER = f"{socket.gethostname()}:{os.getpid()}"
POLL_S = 0.2  # how often a wait looks at the evidence and at a stop request
SETTLE_S = 2.0  # after each command of a step without automation
UNKNOWN_CARD = "CERTPORTAL-UNKNOWN"  # a rejected card when the run knows none: Invalid

OPERATIONS = ("bench", "command", "commands", "fault", "wait", "until")


class Stopped(Exception):
    """Someone asked the unattended run to stop."""


class UnattendedError(ValueError):
    """An unattended run that cannot start; the message says why."""


# --- Starting and stopping -------------------------------------------------------------------


def start_unattended(
    run: TestRun,
    user: User | None,
    *,
    strict: bool = False,
    steps: list[int] | None = None,
    background: bool = True,
) -> UnattendedRun:
    """Queue a whole plan (or ``steps``) for ``run`` and, with ``background``, play it in a
    thread of this process. Raises UnattendedError when the run is closed, another
    unattended run of it is active, or a step number is not in its plan."""
    numbers = set(run.plan.steps.values_list("number", flat=True))
    if steps:
        missing = sorted(set(steps) - numbers)
        if missing:
            raise UnattendedError(f"Steps {missing} are not in the plan of run {run.pk}.")
    with transaction.atomic():
        locked = TestRun.objects.select_for_update().get(pk=run.pk)
        if not locked.is_open():
            raise UnattendedError(f"Run {run.pk} is {locked.get_status_display().lower()}.")
        if services.running_result(locked) is not None:
            raise UnattendedError(f"Run {run.pk} has a step running: finish it first.")
        active = locked.unattended_runs.filter(
            status__in=[UnattendedRun.Status.QUEUED, UnattendedRun.Status.RUNNING]
        ).first()
        if active is not None:
            raise UnattendedError(f"Unattended run {active.pk} of run {run.pk} is still going.")
        unattended = UnattendedRun.objects.create(
            run=locked, started_by=user, strict=strict, steps=sorted(steps or [])
        )
    if background:
        thread = threading.Thread(
            target=_play_in_thread,
            args=(unattended.pk, _main_event_loop()),
            name=f"unattended-{unattended.pk}",
            daemon=True,
        )
        transaction.on_commit(thread.start)
    return unattended


def _main_event_loop() -> asyncio.AbstractEventLoop | None:
    """The server's event loop when called from a request under Daphne, else None.

    The player's channel-layer calls (commands and their replies, step announcements) must
    run in that loop: the in-memory layer of a single-worker portal keeps its queues there,
    and a reply put into another loop's queue would never wake its reader. asgiref records
    the loop for the threads that run synchronous views; the player's thread records it the
    same way, so that its async_to_sync calls go to it (with Redis this changes nothing)."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    return loop if loop.is_running() else None


def request_stop(unattended: UnattendedRun) -> UnattendedRun:
    """Ask the player to stop at its next operation (whichever process plays it)."""
    UnattendedRun.objects.filter(pk=unattended.pk, stop_requested_at__isnull=True).update(
        stop_requested_at=timezone.now()
    )
    unattended.refresh_from_db()
    return unattended


def _play_in_thread(unattended_id: int, loop: asyncio.AbstractEventLoop | None) -> None:
    if loop is not None:
        SyncToAsync.threadlocal.main_event_loop = loop
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
    try:
        play(unattended_id)
    except Exception:
        log.exception("unattended run %s failed", unattended_id)
        UnattendedRun.objects.filter(pk=unattended_id).update(
            status=UnattendedRun.Status.ERROR,
            error="The player failed; the portal's log has the details.",
            finished_at=timezone.now(),
        )
    finally:
        connections.close_all()


# --- Playing ---------------------------------------------------------------------------------


def play(unattended_id: int) -> UnattendedRun:
    """Play the unattended run now, in this thread; returns it finished."""
    unattended = UnattendedRun.objects.select_related("run__plan", "run__charge_point").get(
        pk=unattended_id
    )
    run = unattended.run
    unattended.status = UnattendedRun.Status.RUNNING
    unattended.started_at = timezone.now()
    unattended.save(update_fields=["status", "started_at"])
    player = Player(unattended)
    player.say(None, f"Playing {run.plan} on {run.charge_point} (worker {WORKER}).")
    wanted = set(unattended.steps)
    try:
        for step in run.plan.steps.order_by("number"):
            if wanted and step.number not in wanted:
                continue
            player.play_step(step)
    except Stopped:
        player.say(player.step_number, "Stopped on request.")
        unattended.status = UnattendedRun.Status.STOPPED
    else:
        failed = any(o["outcome"] == "failed" for o in unattended.outcomes)
        unattended.status = UnattendedRun.Status.FAILED if failed else UnattendedRun.Status.PASSED
    unattended.current_step = None
    unattended.finished_at = timezone.now()
    unattended.save(update_fields=["status", "current_step", "finished_at", "outcomes", "log"])
    player.say(None, f"Finished: {unattended.get_status_display().lower()}.")
    return unattended


@dataclass
class Player:
    """Plays the steps of one unattended run, one operation at a time."""

    unattended: UnattendedRun
    step_number: int | None = None
    result: StepResult | None = None
    cursor: datetime.datetime = field(default_factory=timezone.now)
    notes: list[str] = field(default_factory=list)

    @property
    def run(self) -> TestRun:
        return self.unattended.run

    # --- progress --------------------------------------------------------------------------

    def say(self, step: int | None, message: str) -> None:
        """A progress line: stored on the unattended run and sent to open consoles."""
        entry = {"at": timezone.now().isoformat(), "step": step, "message": message[:500]}
        self.unattended.log = [*self.unattended.log, entry][-500:]
        UnattendedRun.objects.filter(pk=self.unattended.pk).update(
            log=self.unattended.log, current_step=step
        )
        layer = get_channel_layer()
        if layer is not None:
            charger_services.group_send_from_sync(
                layer,
                run_group(self.run.pk),
                {"type": "run.unattended", "unattended_run": self.unattended.pk, **entry},
            )

    def check_stop(self) -> None:
        stop = (
            UnattendedRun.objects.filter(pk=self.unattended.pk)
            .values_list("stop_requested_at", flat=True)
            .first()
        )
        if stop is not None:
            raise Stopped

    # --- steps -----------------------------------------------------------------------------

    def play_step(self, step: TestStep) -> None:
        self.check_stop()
        self.step_number, self.notes = step.number, []
        operations = list(step.automation or [])
        if not operations:
            operations = [{"commands": "all", "wait": SETTLE_S}]
        applicability = services.step_applicability(self.run, step)
        if applicability.applies is False:
            remark = services.not_applicable_remark(step, applicability)
            self.say(step.number, f"Step {step.number}: {remark}")
            self._outcome(step, None, "not_applicable", [remark])
            return
        if any("bench" in op for op in operations) and not self.run.charge_point.bench_url:
            self.say(step.number, f"Step {step.number} needs a test bench; not run.")
            self._outcome(step, None, "not_run", ["needs a test bench: the charge point has none"])
            return
        self.say(step.number, f"Step {step.number}: {step.title}")
        # The step's automation brings the charger to its preconditions (a boot, a plug-in);
        # what was not ready at the start is recorded on the attempt, not a reason to stop.
        self.result = services.start_step(
            self.run,
            step,
            self.unattended.started_by,
            anyway="unattended run: the step's automation establishes its preconditions",
        )
        self.cursor = self.result.started_at or timezone.now()
        try:
            for operation in operations:
                self.check_stop()
                self.perform(operation)
        finally:
            result = services.finish_step(self.result)
            self._outcome(step, result, outcome_of(result, self.unattended.strict), self.notes)
        verdict = result.proposed_verdict or "no proposal"
        self.say(step.number, f"Step {step.number} finished: {verdict}.")

    def _outcome(
        self, step: TestStep, result: StepResult | None, outcome: str, notes: list[str]
    ) -> None:
        entry = {
            "number": step.number,
            "result": result.pk if result else None,
            "outcome": outcome,
            "notes": list(notes),
        }
        self.unattended.outcomes = [*self.unattended.outcomes, entry]
        UnattendedRun.objects.filter(pk=self.unattended.pk).update(
            outcomes=self.unattended.outcomes
        )

    def note(self, message: str) -> None:
        self.notes.append(message)
        self.say(self.step_number, message)

    # --- operations ------------------------------------------------------------------------

    def perform(self, operation: dict[str, Any]) -> None:
        kind = next((k for k in OPERATIONS if k in operation), None)
        match kind:
            case "bench":
                self._bench(operation)
            case "command":
                self._command(str(operation["command"]))
            case "commands":
                assert self.result is not None
                for command in self.result.step.commands:
                    self.check_stop()
                    self._command(str(command.get("label") or command["action"]))
                    self._sleep(float(operation.get("wait", SETTLE_S)))
            case "fault":
                self._fault(operation)
            case "wait":
                self._sleep(self._seconds(operation["wait"]))
            case "until":
                self._until(dict(operation["until"]), self._seconds(operation.get("timeout", 60)))
            case _:
                self.note(f"Unknown operation {operation!r}: skipped.")

    def _bench(self, operation: dict[str, Any]) -> None:
        action = str(operation["bench"])
        arguments = {k: v for k, v in operation.items() if k not in {"bench", "card"}}
        if "card" in operation:
            arguments["idTag"] = self._card(str(operation["card"]))
        context = {"run": self.run.pk, "step": self.step_number}
        try:
            answer = bench.perform(self.run.charge_point.bench_url, action, arguments, context)
        except bench.BenchError as error:
            self.note(f"Bench {action}: {error}")
            return
        self.say(self.step_number, f"Bench {action}: {answer.status}")

    def _card(self, which: str) -> str:
        tags = IdTag.objects.filter(charge_point=self.run.charge_point).order_by("pk")
        if which == "accepted":
            tag = tags.filter(status=IdTag.Status.ACCEPTED).first()
        else:
            tag = tags.exclude(status=IdTag.Status.ACCEPTED).first()
        if tag is not None:
            return tag.id_tag
        return "" if which == "accepted" else UNKNOWN_CARD

    def _command(self, label: str) -> None:
        assert self.result is not None
        commands = self.result.step.commands
        command = next(
            (c for c in commands if c.get("label") == label or c.get("action") == label), None
        )
        if command is None:
            self.note(f"The step has no command {label!r}: not sent.")
            return
        try:
            sent = services.send_run_command(
                self.run,
                command["action"],
                command.get("payload", {}),
                user=self.unattended.started_by,
            )
        except charger_services.CommandPayloadError as error:
            self.note(f"{label}: not sent, {error}")
            return
        answer = sent.get_status_display().lower()
        if sent.status != sent.Status.ANSWERED:
            self.note(f"{label} ({command['action']}): {answer} {sent.error}".strip())
        else:
            self.say(self.step_number, f"{label} ({command['action']}): {answer}")

    def _fault(self, operation: dict[str, Any]) -> None:
        fields = {k: v for k, v in operation.items() if k != "fault"}
        try:
            fault = charger_services.inject_fault(
                self.run.charge_point,
                str(operation["fault"]),
                created_by_id=self.unattended.started_by_id,
                **fields,
            )
        except (charger_services.FaultError, TypeError) as error:
            self.note(f"Fault {operation['fault']}: not injected, {error}")
            return
        self.say(self.step_number, f"Fault #{fault.pk}: {fault.describe()}")

    def _seconds(self, spec: Any) -> float:
        if isinstance(spec, dict) and "heartbeat_intervals" in spec:
            return float(spec["heartbeat_intervals"]) * self.run.charge_point.heartbeat_interval
        return float(spec)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(POLL_S * 2.5, left))
            self.check_stop()

    def _until(self, match: dict[str, Any], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            found = self._find(match)
            if found is not None:
                self.cursor = max(self.cursor, found)
                return
            if time.monotonic() >= deadline:
                self.note(f"Waited {timeout:g} s for {describe_match(match)}: it did not come.")
                return
            time.sleep(POLL_S)
            self.check_stop()

    def _find(self, match: dict[str, Any]) -> datetime.datetime | None:
        charge_point = self.run.charge_point
        close_old_connections()
        if match.get("connected"):
            event = (
                ConnectionEvent.objects.filter(
                    charge_point=charge_point,
                    kind=ConnectionEvent.Kind.CONNECTED,
                    at__gt=self.cursor,
                )
                .order_by("at")
                .first()
            )
            return event.at if event else None
        # "since": "step" looks from the step's start, not after the previous until: for a
        # message the charger may send before or after the one awaited before it (the reboot
        # around FirmwareStatusNotification Installed, OCPP 1.6 §5.19 orders neither).
        since = self.cursor
        if match.get("since") == "step" and self.result is not None:
            since = self.result.started_at or since
        frames = Frame.objects.filter(
            charge_point=charge_point,
            direction=Frame.Direction.IN,
            message_type=Frame.MessageType.CALL,
            captured_at__gt=since,
        ).order_by("captured_at", "seq")
        if match.get("action"):
            frames = frames.filter(action=match["action"])
        for frame in frames.only("captured_at", "payload")[:500]:
            if matches(frame.payload, match):
                return frame.captured_at
        return None


def matches(payload: Any, match: dict[str, Any]) -> bool:
    """Whether a charger's payload has the ``status`` (one or a list) and ``connectorId``
    that an ``until`` asks for."""
    payload = payload if isinstance(payload, dict) else {}
    wanted = match.get("status")
    if wanted is not None:
        statuses = wanted if isinstance(wanted, list) else [wanted]
        if payload.get("status") not in statuses:
            return False
    connector = match.get("connectorId")
    return connector is None or payload.get("connectorId") == connector


def describe_match(match: dict[str, Any]) -> str:
    if match.get("connected"):
        return "the charger to reconnect"
    words = [str(match.get("action") or "a message")]
    status = match.get("status")
    if status is not None:
        words.append(" or ".join(status) if isinstance(status, list) else str(status))
    if match.get("connectorId") is not None:
        words.append(f"on connector {match['connectorId']}")
    return " ".join(words)


def outcome_of(result: StepResult | None, strict: bool) -> str:
    """passed | failed | not_applicable | undecided, from the judge's proposal; in strict
    mode a minor finding fails the step too."""
    if result is None:
        return "not_run"
    verdict = result.proposed_verdict
    if verdict == "N" or (verdict == "Y" and strict and result.minor_issue):
        return "failed"
    if verdict == "Y":
        return "passed"
    if verdict == "NA":
        return "not_applicable"
    return "undecided"


# --- Results ---------------------------------------------------------------------------------


def results(unattended: UnattendedRun) -> dict[str, Any]:
    """The unattended run's results as plain data (the API's JSON; the JUnit file is the
    same data, certification.reports.junit). Each step of the plan appears once: with the
    attempt this run made, or as not run."""
    run = unattended.run
    by_number = {o["number"]: o for o in unattended.outcomes}
    attempts = StepResult.objects.in_bulk([o["result"] for o in unattended.outcomes if o["result"]])
    steps = []
    for step in run.plan.steps.order_by("number"):
        outcome = by_number.get(step.number)
        result = attempts.get(outcome["result"]) if outcome and outcome["result"] else None
        wanted = not unattended.steps or step.number in unattended.steps
        steps.append(
            {
                "number": step.number,
                "title": step.title,
                "profile": step.profile,
                "outcome": outcome["outcome"] if outcome else "not_run",
                "notes": outcome["notes"] if outcome else ([] if wanted else ["not selected"]),
                "attempt": result.attempt if result else None,
                "proposed_verdict": (result.proposed_verdict or None) if result else None,
                "minor_issue": result.minor_issue if result else False,
                "findings": result.findings if result else [],
                "measurements": result.measurements if result else {},
                "started_at": _iso(result.started_at) if result else None,
                "duration_s": result.duration_s() if result else None,
                "cited_frames": list(cited_frames(result)) if result else [],
            }
        )
    outcomes = [s["outcome"] for s in steps]
    return {
        "unattended_run": unattended.pk,
        "run": run.pk,
        "rehearsal": run.rehearsal,
        "strict": unattended.strict,
        "status": unattended.status,
        "plan": {"name": run.plan.name, "version": run.plan.version},
        "charge_point": run.charge_point.charge_point_id,
        "firmware": run.firmware_version.version,
        "timing_tolerance_s": run.timing_tolerance_s,
        "started_at": _iso(unattended.started_at),
        "finished_at": _iso(unattended.finished_at),
        "summary": {
            "steps": len(steps),
            **{
                name: outcomes.count(name)
                for name in ("passed", "failed", "not_applicable", "undecided", "not_run")
            },
        },
        "steps": steps,
    }


def cited_frames(result: StepResult) -> Iterator[dict[str, Any]]:
    """The frames the judge's findings cite, in capture order, as on the wire."""
    ids = {i for finding in result.findings for i in finding.get("frame_ids", [])}
    for frame in Frame.objects.filter(pk__in=ids).order_by("captured_at", "seq"):
        yield {
            "id": frame.pk,
            "at": frame.captured_at.isoformat(),
            "direction": frame.direction,
            "raw": frame.raw,
        }


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
