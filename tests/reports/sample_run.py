"""A whole 23-step certification run with evidence, written straight to the database: the
seed report's verdicts and remarks, and as many frames as asked spread over the steps.

Used by the report tests and by ``bench/report_pdf.py``. The rows are created directly (not
through the workflow services) so that timestamps are fixed and a run of 20,000 frames is
built in seconds.
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from certification.models import StepResult, TestRun, Verdict
from chargers import services as charger_services
from chargers.models import Connection, Frame, User

START = datetime.datetime(2023, 9, 22, 9, 50, 2, tzinfo=datetime.UTC)
BOOT = {
    "chargePointVendor": "Xcharge",
    "chargePointModel": "C8EU",
    "chargePointSerialNumber": "XC8EU-0042",
    "firmwareVersion": "V1.0.0_C8_Standard",
    "iccid": "8931440400012345678",
}

# Verdict, minor issue and remarks of every step, after the seed report.
OUTCOMES: dict[int, tuple[str, bool, str]] = {
    1: (
        "Y",
        False,
        "* Tested in a WiFi environment.\n"
        "* We highly recommend implementing ICCID information in BootNotification.\n"
        "* This charger model includes an internal storage battery.",
    ),
    6: (
        "Y",
        False,
        "- Swiping an unauthorized card during an ongoing transaction will not trigger a "
        "Notification to the backend.\n"
        "- The connector will transition from 'Finishing' to 'Available' after 30 seconds.",
    ),
    7: ("Y", False, "MeterValues and Stop Transaction received as expected."),
    8: (
        "Y",
        False,
        "The ConnectionTimeout should be configured for a duration longer than 60 seconds.\n"
        "It is strongly recommended to notify the backend of such changes.",
    ),
    9: (
        "Y",
        True,
        "Stop Transaction received before reboot as expected.\n"
        "* It is recommended that the Charge Point changes to Unavailable during the Reset. "
        "Minor Issue.\n"
        "* After reboot, we expected a StatusNotification indicating Finishing. Minor Issue.",
    ),
    10: ("Y", True, "The charger is likely to reboot twice within one minute. Minor issue."),
    15: ("NA", False, "It is a DC charger and unlock connector is not available."),
    18: ("N", False, "We received DownloadFailed instead of InstallationFailed."),
    19: (
        "Y",
        True,
        "* Installed received as expected after the charger reboot.\n"
        "* The Firmware update should be sent in APK format.",
    ),
    23: (
        "Y",
        False,
        "* MeterValue can only be triggered when the transaction is ongoing.\n"
        "* StatusNotification can triggered as expected.",
    ),
}

Exchange = tuple[str, str, dict[str, Any], dict[str, Any] | None]

# What each step says on the wire first: (who calls, action, request, answer or None for a
# CALLERROR answer). The rest of a step's frames are MeterValues and StatusNotifications.
SCRIPTS: dict[int, list[Exchange]] = {
    1: [
        ("in", "BootNotification", BOOT, {"status": "Accepted", "interval": 60}),
        ("in", "StatusNotification", {"connectorId": 0, "status": "Available"}, {}),
    ],
    2: [("out", "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}, {})],
    3: [("out", "GetConfiguration", {}, {"configurationKey": [{"key": "HeartbeatInterval"}]})],
    4: [("out", "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "30"}, {})],
    5: [("in", "Heartbeat", {}, {"currentTime": "2023-09-22T09:54:54Z"})],
    6: [
        ("in", "Authorize", {"idTag": "TAG-OK"}, {"idTagInfo": {"status": "Accepted"}}),
        ("in", "StartTransaction", {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 0}, {}),
    ],
    9: [("out", "Reset", {"type": "Hard"}, {"status": "Accepted"})],
    17: [("out", "UpdateFirmware", {"location": "http://127.0.0.1:9/fw.bin"}, {})],
    18: [("in", "FirmwareStatusNotification", {"status": "DownloadFailed"}, {})],
    23: [
        ("out", "TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1}, None),
        ("out", "TriggerMessage", {"requestedMessage": "StatusNotification"}, {}),
    ],
}


@dataclass
class SampleRun:
    run: TestRun
    frame_ids: list[int]
    # Frames of attempt 1 of step 9, which step 9's second attempt replaced.
    earlier_attempt_frame_ids: list[int]
    between_steps_frame_ids: list[int]


def build_sample_run(
    run: TestRun,
    engineer: User,
    *,
    frames: int = 400,
    status: str = TestRun.Status.IN_REVIEW,
) -> SampleRun:
    """Fill ``run`` (a fresh run on the default plan) with results for its 23 steps and about
    ``frames`` frames; step 9 is attempted twice, step 15 is skipped as not applicable."""
    charge_point = run.charge_point
    charger_services.record_boot(charge_point.pk, BOOT)
    first = charger_services.open_connection(
        charge_point, remote_address="", subprotocol="ocpp1.6", worker="t"
    )
    second = charger_services.open_connection(
        charge_point, remote_address="", subprotocol="ocpp1.6", worker="t"
    )
    steps = list(run.plan.steps.order_by("number"))
    # 22 steps are run (15 is skipped), step 9 twice (half a share first), 4 frames between.
    per_step = max(2, math.ceil((frames - 4) / 22.5 / 2) * 2)
    writer = _FrameWriter(run)
    clock = START
    earlier: list[Frame] = []
    between: list[Frame] = []
    for step in steps:
        verdict, minor, remarks = OUTCOMES.get(step.number, ("Y", False, ""))
        connection = first if step.number < 9 else second
        if verdict == Verdict.NOT_APPLICABLE:
            # The run may hold it already, pre-filled from the model's fixed cable.
            StepResult.objects.update_or_create(
                run=run,
                step=step,
                attempt=1,
                defaults={
                    "final_verdict": verdict,
                    "skip_reason": remarks,
                    "remarks": remarks,
                    "decided_by": engineer,
                    "decided_at": clock,
                },
            )
            clock += datetime.timedelta(minutes=2)
            continue
        if step.number == 9:
            retried = _result(run, step, engineer, 1, clock, "N", False, "Repeated.")
            earlier = writer.exchanges(retried, connection, clock, per_step // 2, step.number)
            clock += datetime.timedelta(minutes=5)
        attempt = 2 if step.number == 9 else 1
        result = _result(run, step, engineer, attempt, clock, verdict, minor, remarks)
        writer.exchanges(result, connection, clock, per_step, step.number)
        clock += datetime.timedelta(minutes=10)
        if step.number in {5, 12}:
            between += writer.exchanges(None, connection, clock, 2, 5)
            clock += datetime.timedelta(minutes=1)
    writer.flush()
    run.status = status
    run.started_at = START
    run.finished_at = clock
    if status == TestRun.Status.PUBLISHED:
        run.published_at = clock
    run.save()
    return SampleRun(
        run=run,
        frame_ids=list(Frame.objects.filter(run=run).values_list("pk", flat=True)),
        earlier_attempt_frame_ids=[f.pk for f in earlier],
        between_steps_frame_ids=[f.pk for f in between],
    )


def _result(
    run: TestRun,
    step: Any,
    engineer: User,
    attempt: int,
    at: datetime.datetime,
    verdict: str,
    minor: bool,
    remarks: str,
) -> StepResult:
    findings = [{"severity": "info", "message": f"{step.title}: sequence as expected."}]
    if minor:
        findings.append({"severity": "minor", "message": "Connector not Unavailable during it."})
    if verdict == Verdict.FAIL:
        findings.append({"severity": "fail", "message": "InstallationFailed never reported."})
    return StepResult.objects.create(
        run=run,
        step=step,
        attempt=attempt,
        started_at=at,
        finished_at=at + datetime.timedelta(minutes=4),
        proposed_verdict=verdict,
        final_verdict=verdict,
        findings=findings,
        remarks=remarks,
        minor_issue=minor,
        decided_by=engineer,
        decided_at=at + datetime.timedelta(minutes=5),
    )


class _FrameWriter:
    """Frames in bulk, with a sequence number per connection and pks once written."""

    def __init__(self, run: TestRun) -> None:
        self.run = run
        self.pending: list[Frame] = []
        self.seq: dict[int, itertools.count[int]] = {}
        self.ids = itertools.count(1)

    def exchanges(
        self,
        result: StepResult | None,
        connection: Connection,
        start: datetime.datetime,
        count: int,
        step_number: int,
    ) -> list[Frame]:
        script = SCRIPTS.get(step_number, [])
        fill = itertools.cycle(_filler())
        made: list[Frame] = []
        at = start
        index = 0
        while len(made) < count:
            who, action, request, answer = script[index] if index < len(script) else next(fill)
            index += 1
            unique_id = f"{step_number}-{next(self.ids)}"
            caller, answerer = ("in", "out") if who == "in" else ("out", "in")
            made.append(self._frame(result, connection, at, caller, 2, unique_id, action, request))
            at += datetime.timedelta(milliseconds=350)
            if answer is None:
                error = {
                    "errorCode": "NotImplemented",
                    "errorDescription": "MeterValues cannot be triggered while idle",
                    "errorDetails": {},
                }
                made.append(
                    self._frame(result, connection, at, answerer, 4, unique_id, action, error)
                )
            else:
                made.append(
                    self._frame(result, connection, at, answerer, 3, unique_id, action, answer)
                )
            at += datetime.timedelta(milliseconds=650)
        if step_number == 16 and made:
            made[0].validation_error = "connectorId: -1 is less than the minimum of 0"
        self.pending.extend(made)
        if len(self.pending) >= 2000:
            self.flush()
        return made

    def _frame(
        self,
        result: StepResult | None,
        connection: Connection,
        at: datetime.datetime,
        direction: str,
        message_type: int,
        unique_id: str,
        action: str,
        payload: dict[str, Any],
    ) -> Frame:
        if message_type == 2:
            raw = json.dumps([2, unique_id, action, payload])
        elif message_type == 3:
            raw = json.dumps([3, unique_id, payload])
        else:
            raw = json.dumps(
                [
                    4,
                    unique_id,
                    payload["errorCode"],
                    payload["errorDescription"],
                    payload["errorDetails"],
                ]
            )
        counter = self.seq.setdefault(connection.pk, itertools.count(1))
        return Frame(
            charge_point_id=connection.charge_point_id,
            connection=connection,
            seq=next(counter),
            captured_at=at,
            direction=direction,
            message_type=message_type,
            unique_id=unique_id,
            action=action,
            raw=raw,
            payload=payload,
            run=self.run,
            step_result=result,
        )

    def flush(self) -> None:
        """Write what is pending; the Frame objects get their pks (SQLite and PostgreSQL)."""
        Frame.objects.bulk_create(self.pending, batch_size=500)
        self.pending = []


def _filler() -> list[Exchange]:
    sampled = {
        "timestamp": "2023-09-22T10:00:00Z",
        "sampledValue": [{"value": "1234", "measurand": "Energy.Active.Import.Register"}],
    }
    return [
        ("in", "MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": [sampled]}, {}),
        (
            "in",
            "StatusNotification",
            {"connectorId": 1, "status": "Charging", "errorCode": "NoError"},
            {},
        ),
        ("in", "Heartbeat", {}, {"currentTime": "2023-09-22T10:00:00Z"}),
    ]
