"""The seed report's own run as demo data: the 23 steps of the Xcharge C8EU certification with
the seed's timestamps, verdicts and remarks, judged on recorded evidence, reviewed and
published.

The evidence (``seed_evidence.jsonl``) was recorded by ``tests/e2e/record_seed_evidence.py``:
a simulated C8EU committing the seed's deviations, driven through the 23 steps against a live
portal. Here it is replayed with every frame moved to the seed's time of its step, so the
judge sees what it saw live and proposes the same verdicts and findings.
"""

from __future__ import annotations

import datetime
import gzip
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from certification.models import StepResult, TestRun, Verdict
from certification.services import (
    WorkflowError,
    _apply_judgement,
    create_run,
    decide_step,
    install_default_plan,
    publish_run,
    submit_for_review,
)
from chargers.models import (
    ChargePoint,
    Connection,
    ConnectionEvent,
    FirmwareVersion,
    Frame,
    IdTag,
    User,
)
from chargers.services import create_charge_point, record_boot

SEED_CHARGE_POINT_ID = "XCHARGE-C8EU-SEED"
SEED_NOTES = (
    "Seed report: the Xcharge C8EU certification of September and October 2023, replayed "
    "from recorded evidence as demo data."
)
TESTER = "engineer"
REVIEWER = "reviewer"
EVIDENCE = Path(__file__).with_name("seed_evidence.jsonl")


@dataclass(frozen=True)
class SeedRow:
    """One row of the seed report: when the step was done, its verdict and remarks."""

    timestamp: datetime.datetime
    verdict: str = Verdict.PASS
    remarks: str = ""
    minor_issue: bool = False
    na_reason: str = ""


def _utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)


# The seed's rows, not in time order: steps 10 and 17 were repeated on 30 October.
# The remarks record the seed's findings in the portal's words.
SEED_ROWS: dict[int, SeedRow] = {
    1: SeedRow(
        _utc("2023-09-22 09:50:02"),
        remarks=(
            "* Tested over Wi-Fi.\n"
            "* When the charger connects through a SIM card, we strongly advise sending the "
            "ICCID in BootNotification: it makes troubleshooting much easier.\n"
            "* The charger has an internal storage battery that checks itself at every boot. "
            "Meanwhile, for about 5 seconds, the connectors are Unavailable; then they are "
            "Available again.\n"
            "* The charger often sends vendor-specific DataTransfer messages with the state "
            "of its battery; the configuration key BatterySampleInterval sets how often."
        ),
    ),
    2: SeedRow(_utc("2023-09-22 09:51:24")),
    3: SeedRow(_utc("2023-09-22 09:54:26")),
    4: SeedRow(_utc("2023-09-22 09:54:32")),
    5: SeedRow(_utc("2023-09-22 09:54:54")),
    6: SeedRow(
        _utc("2023-09-22 10:05:45"),
        remarks=(
            "* Presenting an unauthorised card during a running transaction sends nothing "
            "to the backend.\n"
            "* The manufacturer states that when a card is used to stop the transaction "
            "through its ParentIdTag, the charger authorises it with the backend.\n"
            "* After the cable is unplugged, the connector goes from Finishing to Available "
            "only 30 seconds later: the charger's screen shows the charging record and the "
            "bill meanwhile."
        ),
    ),
    7: SeedRow(
        _utc("2023-09-22 10:15:23"),
        remarks=(
            "Once the connection was back, the queued MeterValues and the StopTransaction "
            "arrived as expected."
        ),
    ),
    8: SeedRow(
        _utc("2023-09-22 10:27:12"),
        remarks=(
            "Set ConnectionTimeOut to more than 60 seconds: after the card is presented, the "
            "charger needs time to check itself and to prepare its battery system. A value "
            "below 60 seconds is accepted, but the charger still waits 60 seconds. We strongly "
            "advise that the charger tells the backend when it is given a value below 60 "
            "seconds that it will not apply."
        ),
    ),
    9: SeedRow(
        _utc("2023-09-22 10:33:29"),
        minor_issue=True,
        remarks=(
            "* StopTransaction arrived before the reboot, as expected.\n"
            "* The charge point should report Unavailable while it resets. Minor issue.\n"
            "* After the reboot the connector reported Preparing; with the cable still "
            "plugged in and the transaction just stopped, Finishing was expected. Minor issue."
        ),
    ),
    10: SeedRow(
        _utc("2023-10-30 10:21:33"),
        minor_issue=True,
        remarks=(
            "After the Hard Reset request the charger may reboot twice within a minute; after "
            "that the connection is stable. Minor issue."
        ),
    ),
    11: SeedRow(
        _utc("2023-09-22 10:48:40"),
        minor_issue=True,
        remarks=(
            "The same findings as in step 9: StopTransaction before the reboot as expected, "
            "no Unavailable during the reset, and Preparing instead of Finishing after it. "
            "Minor issue."
        ),
    ),
    12: SeedRow(
        _utc("2023-09-22 10:51:31"),
        minor_issue=True,
        remarks="The charge point should report Unavailable while it resets. Minor issue.",
    ),
    13: SeedRow(_utc("2023-09-22 10:52:08")),
    14: SeedRow(_utc("2023-09-22 10:55:59")),
    15: SeedRow(
        _utc("2023-09-22 11:02:46"),
        verdict=Verdict.NOT_APPLICABLE,
        na_reason="fixed_cable",
        remarks="A DC charger with a fixed cable: there is no connector to unlock.",
    ),
    16: SeedRow(_utc("2023-09-22 11:04:45")),
    17: SeedRow(
        _utc("2023-10-30 10:33:00"),
        remarks="DownloadFailed arrived as expected.",
    ),
    18: SeedRow(
        _utc("2023-09-22 11:17:32"),
        remarks="The charger reported DownloadFailed where InstallationFailed was expected.",
    ),
    19: SeedRow(
        _utc("2023-09-22 11:48:56"),
        minor_issue=True,
        remarks=(
            "* Installed arrived as expected once the charger had rebooted.\n"
            "* The firmware update has to be delivered as an APK file.\n"
            "* The charge point should report Unavailable while it installs the firmware. "
            "Minor issue."
        ),
    ),
    20: SeedRow(_utc("2023-09-22 11:32:41"), remarks="The upload arrived as expected."),
    21: SeedRow(
        _utc("2023-09-22 11:46:58"),
        remarks="With an invalid location, UploadFailed arrived as expected.",
    ),
    22: SeedRow(_utc("2023-09-22 11:47:02")),
    23: SeedRow(
        _utc("2023-09-22 11:48:34"),
        remarks=(
            "* MeterValues can be triggered only while a transaction is running.\n"
            "* StatusNotification is triggered as expected."
        ),
    ),
}


@dataclass(frozen=True)
class SeedRunOutcome:
    """What ``ensure_seed_run`` did, for ``manage.py load_demo`` to say."""

    run: TestRun | None
    created: bool
    published: bool
    problem: str = ""

    def describe(self) -> str:
        if self.run is None:
            return f"Seed run: not loaded ({self.problem})"
        state = "created" if self.created else "already there"
        if self.published:
            return f"Seed run {self.run.pk}: {state}, published."
        return (
            f"Seed run {self.run.pk}: {state}, left in review: "
            f"it could not be published ({self.problem or self.run.get_status_display()})."
        )


def load_seed_run() -> TestRun | None:
    """Create the seed report's run, judged, reviewed and published; the run, or None when
    it was there already (idempotent). Needs the demo catalog and logins."""
    outcome = ensure_seed_run()
    return outcome.run if outcome.created else None


def ensure_seed_run() -> SeedRunOutcome:
    """Load the seed run unless it exists; publish it when it is still waiting in review
    (the report renderer was missing or failed the first time)."""
    charge_point = ChargePoint.objects.filter(charge_point_id=SEED_CHARGE_POINT_ID).first()
    if charge_point is not None:
        run = (
            TestRun.objects.filter(charge_point=charge_point, notes=SEED_NOTES)
            .order_by("pk")
            .first()
        )
        if run is None:
            return SeedRunOutcome(
                None,
                created=False,
                published=False,
                problem=f"the charge point {SEED_CHARGE_POINT_ID} exists without its run; "
                "delete it to load the seed run again",
            )
        if run.status == TestRun.Status.IN_REVIEW and not run.reports.exists():
            problem = _publish(run)
            run.refresh_from_db()
            return SeedRunOutcome(run, created=False, published=not problem, problem=problem)
        return SeedRunOutcome(run, created=False, published=run.status == TestRun.Status.PUBLISHED)
    run = _create_seed_run()
    # Outside the transaction: the report renderer runs in another process and reads the
    # committed run.
    problem = _publish(run)
    run.refresh_from_db()
    return SeedRunOutcome(run, created=True, published=not problem, problem=problem)


def _publish(run: TestRun) -> str:
    """Publish with the demo reviewer; the reason when it could not be done."""
    reviewer = User.objects.get(username=REVIEWER)
    try:
        publish_run(run, reviewer)
    except ImportError as error:
        return f"the report renderer is not installed ({error})"
    except (WorkflowError, OSError) as error:
        return str(error)
    return ""


@dataclass
class _Recording:
    header: dict[str, Any]
    attempts: list[dict[str, Any]] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def read_recording(path: Path = EVIDENCE) -> _Recording:
    """The recorded evidence, plain or gzipped (whichever the recorder wrote)."""
    if path.exists():
        text = path.read_text()
    else:  # the recorder gzips a recording of more than about 1 MB
        text = gzip.decompress(path.with_name(path.name + ".gz").read_bytes()).decode()
    recording: _Recording | None = None
    for line in text.splitlines():
        item = json.loads(line)
        kind = item.pop("type")
        if kind == "header":
            recording = _Recording(header=item)
            continue
        assert recording is not None, f"{path} does not start with its header"
        {"step": recording.attempts, "frame": recording.frames}.get(kind, recording.events).append(
            item
        )
    assert recording is not None, f"{path} is empty"
    return recording


@transaction.atomic
def _create_seed_run() -> TestRun:
    """The run with its replayed evidence, judged, decided and sent to review."""
    firmware = FirmwareVersion.objects.select_related("charger_model").get(
        charger_model__manufacturer__name="Xcharge",
        charger_model__name="C8EU",
        version="V1.0.0_C8_Standard",
    )
    tester = User.objects.get(username=TESTER)
    recording = read_recording()
    plan = install_default_plan()
    # A fresh AuthorizationKey nobody knows: the demo identity is evidence, not a charger
    # that connects.
    charge_point, _ = create_charge_point(
        SEED_CHARGE_POINT_ID,
        charger_model=firmware.charger_model,
        firmware_version=firmware,
        heartbeat_interval=recording.header["heartbeat_interval"],
    )
    IdTag.objects.bulk_create(
        IdTag(charge_point=charge_point, id_tag=id_tag, status=status)
        for id_tag, status in recording.header["id_tags"].items()
    )
    run = create_run(
        charge_point=charge_point,
        plan=plan,
        tester=tester,
        firmware_version=firmware,
        notes=SEED_NOTES,
        # The recording holds every step's attempt as the seed's engineer decided it,
        # step 15's N/A included.
        prefill=False,
    )
    steps = {step.number: step for step in plan.steps.all()}
    results: dict[tuple[int, int], StepResult] = {}
    for attempt in recording.attempts:
        started_at = SEED_ROWS[attempt["step"]].timestamp
        results[attempt["step"], attempt["attempt"]] = StepResult(
            run=run,
            step=steps[attempt["step"]],
            attempt=attempt["attempt"],
            started_at=started_at,
            finished_at=started_at + datetime.timedelta(seconds=attempt["duration"]),
        )
    StepResult.objects.bulk_create(results.values())
    _replay(recording, charge_point, run, results)
    run.status = TestRun.Status.IN_PROGRESS
    run.started_at = min(r.started_at for r in results.values() if r.started_at)
    run.save(update_fields=["status", "started_at", "updated_at"])
    for result in results.values():
        # The judgement finish_step gives a step, on the replayed evidence.
        _apply_judgement(result)
        result.save(update_fields=["proposed_verdict", "findings", "measurements", "minor_issue"])
    for (number, _), result in sorted(results.items()):
        row = SEED_ROWS[number]
        decide_step(
            result,
            verdict=row.verdict,
            remarks=row.remarks,
            minor_issue=row.minor_issue,
            user=tester,
            na_reason=row.na_reason,
        )
    return submit_for_review(run, tester)


def _replay(
    recording: _Recording,
    charge_point: ChargePoint,
    run: TestRun,
    results: dict[tuple[int, int], StepResult],
) -> None:
    """Frames and connection events at the seed's times, on connections opened and closed
    when they were."""

    def at(item: dict[str, Any]) -> datetime.datetime:
        started_at = results[item["step"], item["attempt"]].started_at
        assert started_at is not None
        return started_at + datetime.timedelta(seconds=item["offset"])

    def step_result(item: dict[str, Any]) -> StepResult | None:
        return None if item.get("between_steps") else results[item["step"], item["attempt"]]

    # The charger's and the portal's own clocks, written in the frames, move with the step:
    # a queued MeterValue must still be sampled before the reconnect that delivers it.
    recorded = {
        (attempt["step"], attempt["attempt"]): datetime.datetime.fromisoformat(
            attempt["started_at"]
        )
        for attempt in recording.attempts
    }
    window = (
        min(recorded.values()) - datetime.timedelta(hours=1),
        max(recorded.values()) + datetime.timedelta(hours=1),
    )
    shifts: dict[tuple[int, int], Callable[[str], str]] = {}
    for key, recorded_at in recorded.items():
        started_at = results[key].started_at
        assert started_at is not None
        shifts[key] = _time_shift(started_at - recorded_at, window)

    def shifted(item: dict[str, Any]) -> tuple[str, Any]:
        shift = shifts[item["step"], item["attempt"]]
        return shift(item["raw"]), _map_strings(item["payload"], shift)

    moments: dict[int, list[datetime.datetime]] = defaultdict(list)
    for item in recording.frames:
        moments[item["connection"]].append(at(item))
    opened: dict[int, datetime.datetime] = {}
    closed: dict[int, tuple[datetime.datetime, int | None]] = {}
    subprotocol: dict[int, str] = {}
    for item in recording.events:
        index = item["connection"]
        if index is None:
            continue
        if item["kind"] == ConnectionEvent.Kind.CONNECTED:
            opened[index] = at(item)
            subprotocol[index] = item["detail"].removeprefix("subprotocol ").strip()
        elif item["kind"] in {ConnectionEvent.Kind.CLOSED, ConnectionEvent.Kind.REPLACED}:
            closed[index] = (at(item), item["close_code"])
        moments[index].append(at(item))
    connections = {
        index: Connection(
            charge_point=charge_point,
            opened_at=opened.get(index, min(times)),
            closed_at=closed.get(index, (max(times), None))[0],
            close_code=closed.get(index, (None, None))[1],
            subprotocol=subprotocol.get(index, "ocpp1.6"),
            worker="seed recording",
        )
        for index, times in sorted(moments.items())
    }
    Connection.objects.bulk_create(connections.values())
    frames = []
    for item in recording.frames:
        raw, payload = shifted(item)
        frames.append(
            Frame(
                charge_point=charge_point,
                connection=connections[item["connection"]],
                seq=item["seq"],
                captured_at=at(item),
                direction=item["direction"],
                message_type=item["message_type"],
                unique_id=item["unique_id"],
                action=item["action"],
                raw=raw,
                payload=payload,
                validation_error=item["validation_error"],
                run=run,
                step_result=step_result(item),
            )
        )
    Frame.objects.bulk_create(frames)
    ConnectionEvent.objects.bulk_create(
        ConnectionEvent(
            charge_point=charge_point,
            charge_point_identity=charge_point.charge_point_id,
            connection=connections.get(item["connection"]),
            at=at(item),
            kind=item["kind"],
            detail=item["detail"],
            close_code=item["close_code"],
            run=run,
            step_result=step_result(item),
        )
        for item in recording.events
    )
    boots = [
        (frame.captured_at, frame.payload)
        for frame in frames
        if frame.action == "BootNotification"
        and frame.message_type == Frame.MessageType.CALL
        and frame.direction == Frame.Direction.IN
        and isinstance(frame.payload, dict)
    ]
    if boots:
        # What the charger last said about itself, as the central system records it.
        last_boot_at, payload = max(boots, key=lambda boot: boot[0])
        record_boot(charge_point.pk, payload)
        ChargePoint.objects.filter(pk=charge_point.pk).update(last_boot_at=last_boot_at)


_TIMESTAMP = re.compile(
    r"(?P<moment>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?"
)


def _time_shift(
    delta: datetime.timedelta, window: tuple[datetime.datetime, datetime.datetime]
) -> Callable[[str], str]:
    """A function that moves every timestamp of the recording's time (within ``window``)
    in a text by ``delta``, written as it was (same precision, same zone)."""

    def shift(match: re.Match[str]) -> str:
        zone = match["zone"] or ""
        fraction = match["fraction"] or ""
        moment = datetime.datetime.fromisoformat(
            match["moment"] + (zone.replace("Z", "+00:00") or "+00:00")
        )
        if not window[0] <= moment <= window[1]:
            return match[0]  # e.g. a retrieveDate in the past: not a time of the recording
        moved = moment + delta
        text = moved.strftime("%Y-%m-%dT%H:%M:%S")
        if fraction:
            text += "." + f"{moved.microsecond:06d}{'0' * len(fraction)}"[: len(fraction)]
        return text + zone

    return lambda text: _TIMESTAMP.sub(shift, text)


def _map_strings(value: Any, function: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return function(value)
    if isinstance(value, list):
        return [_map_strings(item, function) for item in value]
    if isinstance(value, dict):
        return {key: _map_strings(item, function) for key, item in value.items()}
    return value
