"""The report of a run as plain data: what the PDF, the HTML page and the exports show.

Everything is read from the database in a handful of queries, whatever the number of frames:
the step table from the latest attempt of every step, the appendix from one ``values_list``
query over the frames of those attempts, and the evidence from one streamed query over every
frame of the run.
"""

from __future__ import annotations

import datetime
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import Count, F
from django.utils import timezone

from certification import services
from certification.coverage import ProfileCoverage
from certification.models import RunOutcome, StepResult, TestRun, Verdict, outcome_of, step_standing
from chargers.models import CapabilityDeclaration, Frame
from chargers.templatetags.timestamps import iso_timestamp

# How a verdict reads in the report's "Pass" column (the seed report's spelling).
PASS_LABELS = {Verdict.PASS: "Y", Verdict.FAIL: "N", Verdict.NOT_APPLICABLE: "N/A"}

# A direction is spelled one way everywhere: the label of Frame.Direction.
ARROWS = {choice.value: str(choice.label) for choice in Frame.Direction}
ARROW_LEGEND = "charger → portal: sent by the charger; portal → charger: sent by the portal"

# Payload fields a reader of the timeline needs to follow a step; the rest is in the evidence.
TIMELINE_FIELDS = (
    "status",
    "connectorId",
    "errorCode",
    "idTag",
    "transactionId",
    "type",
    "requestedMessage",
    "key",
    "value",
    "reason",
    "firmwareVersion",
)
MAX_VALUE_CHARS = 60

BULLET_PREFIXES = ("* ", "- ")


# --- The parts of a report -----------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    run_id: int
    status: str
    status_label: str
    published: bool
    manufacturer: str
    hardware_model: str
    firmware: str
    tester: str
    reviewer: str | None
    run_started: datetime.datetime | None
    run_finished: datetime.datetime | None
    plan_name: str
    plan_version: int
    ocpp_version: str
    # BootNotifications of the run that name another charger than the one certified.
    identity_warnings: tuple[str, ...] = ()

    @property
    def run_date(self) -> datetime.date | None:
        return timezone.localdate(self.run_started) if self.run_started else None

    @property
    def run_end_date(self) -> datetime.date | None:
        """The last day of the run when it spans several days, else None."""
        if self.run_finished is None or self.run_date is None:
            return None
        end = timezone.localdate(self.run_finished)
        return end if end != self.run_date else None


@dataclass(frozen=True)
class ReportedIdentity:
    """What the charge station said about itself in a BootNotification."""

    charge_point_id: str
    vendor: str
    model: str
    serial: str
    firmware: str
    iccid: str
    # "run": the run's first BootNotification; "last boot": the charge point's last one.
    source: Literal["run", "last boot"]


@dataclass(frozen=True)
class Summary:
    steps: int
    passed: int
    failed: int
    not_applicable: int
    undecided: int
    minor_issues: int
    outcome: RunOutcome

    @property
    def outcome_label(self) -> str:
        return self.outcome.label

    @property
    def is_pass(self) -> bool:
        return self.outcome.is_pass


@dataclass(frozen=True)
class RemarkBlock:
    """A paragraph (one item) or a bulleted list (one item per bullet) of a step's remarks."""

    kind: Literal["paragraph", "bullets"]
    items: tuple[str, ...]

    @property
    def is_bullets(self) -> bool:
        return self.kind == "bullets"


@dataclass(frozen=True)
class StepRow:
    number: int
    profile: str
    action: str
    timestamp: datetime.datetime | None
    verdict: str  # "Y", "N", "NA" or "" while undecided
    proposed_verdict: str
    minor_issue: bool
    attempts: int
    remarks: tuple[RemarkBlock, ...]
    remarks_text: str
    octt_ids: tuple[str, ...] = ()

    @property
    def pass_label(self) -> str:
        return PASS_LABELS.get(self.verdict, "")  # type: ignore[call-overload]


@dataclass(frozen=True)
class Finding:
    severity: str
    message: str


@dataclass(frozen=True)
class TimelineEntry:
    frame_id: int
    at: datetime.datetime
    direction: str
    message_type: int | None
    action: str
    fields: tuple[tuple[str, str], ...]
    validation_error: str

    @property
    def arrow(self) -> str:
        return ARROWS.get(self.direction, "?")

    @property
    def time(self) -> str:
        """ISO 8601 with the zone and milliseconds, as every page writes evidence times."""
        return iso_timestamp(self.at, "milliseconds")

    @property
    def label(self) -> str:
        """The action as OCPP 1.6 names the message: ``Reset.req``, ``Reset.conf``."""
        action = self.action or "?"
        if self.message_type == Frame.MessageType.CALL:
            return f"{action}.req"
        if self.message_type == Frame.MessageType.CALLRESULT:
            return f"{action}.conf"
        if self.message_type == Frame.MessageType.CALLERROR:
            return f"{action} CALLERROR"
        return "unparsed frame"

    @property
    def details(self) -> str:
        return "  ".join(f"{name}={value}" for name, value in self.fields)


@dataclass(frozen=True)
class StepAppendix:
    number: int
    title: str
    attempt: int | None
    findings: tuple[Finding, ...]
    timeline: tuple[TimelineEntry, ...]
    frame_count: int
    # False for a step recorded as not applicable without being run.
    started: bool = False
    # What was not ready when the engineer started the attempt anyway, and why
    # (StepResult.started_anyway); empty when every precondition held.
    started_anyway: str = ""

    @property
    def truncated(self) -> bool:
        return len(self.timeline) < self.frame_count


@dataclass(frozen=True)
class ReportData:
    header: Header
    charge_point: ReportedIdentity
    summary: Summary
    steps: tuple[StepRow, ...]
    appendix: tuple[StepAppendix, ...]
    # Every frame of the run, also those of earlier attempts and between steps.
    run_frame_count: int
    frames_per_step_limit: int | None = None
    arrow_legend: str = field(default=ARROW_LEGEND)
    # The capability declaration the run pinned (None: the run has none) and the OCTT cases
    # its plan covers per feature profile.
    declaration: CapabilityDeclaration | None = None
    coverage: tuple[ProfileCoverage, ...] = ()

    @property
    def timeline_truncated(self) -> bool:
        return any(part.truncated for part in self.appendix)


# --- Building it -------------------------------------------------------------------------


def build_report(run: TestRun, *, frames_per_step_limit: int | None = None) -> ReportData:
    """The report of ``run`` as it stands now. ``frames_per_step_limit`` caps each step's
    timeline at its first N frames (the counts stay exact)."""
    run = (
        TestRun.objects.select_related(
            "charger_model__manufacturer",
            "firmware_version",
            "charge_point",
            "plan",
            "tester",
            "reviewer",
            "declaration__locked_by",
        )
        .filter(pk=run.pk)
        .get()
    )
    latest = services.latest_results(run)
    attempts = _attempt_counts(run)
    steps = list(run.plan.steps.all())
    outcome = outcome_of(step_standing(step, latest.get(step.number)) for step in steps)
    testing_period = services.testing_period(run)
    rows = tuple(_step_row(step, latest.get(step.number), attempts) for step in steps)
    timelines, counts = _timelines([result.pk for result in latest.values()], frames_per_step_limit)
    appendix = tuple(
        _appendix(step.number, step.title, latest.get(step.number), timelines, counts)
        for step in steps
    )
    verdicts = [row.verdict for row in rows]
    return ReportData(
        header=Header(
            run_id=run.pk,
            status=run.status,
            status_label=run.get_status_display(),
            published=run.status == TestRun.Status.PUBLISHED,
            manufacturer=run.charger_model.manufacturer.name,
            hardware_model=run.charger_model.name,
            firmware=run.firmware_version.version,
            tester=str(run.tester),
            reviewer=str(run.reviewer) if run.reviewer else None,
            run_started=testing_period[0],
            run_finished=testing_period[1],
            plan_name=run.plan.name,
            plan_version=run.plan.version,
            ocpp_version=run.plan.ocpp_version,
            identity_warnings=tuple(services.identity_warnings(run)),
        ),
        charge_point=_reported_identity(run),
        summary=Summary(
            steps=len(rows),
            passed=verdicts.count(Verdict.PASS),
            failed=verdicts.count(Verdict.FAIL),
            not_applicable=verdicts.count(Verdict.NOT_APPLICABLE),
            undecided=verdicts.count(""),
            minor_issues=sum(1 for row in rows if row.minor_issue),
            outcome=outcome,
        ),
        steps=rows,
        appendix=appendix,
        run_frame_count=Frame.objects.filter(run=run).count(),
        frames_per_step_limit=frames_per_step_limit,
        declaration=run.declaration,
        coverage=tuple(services.run_coverage(run)),
    )


def _attempt_counts(run: TestRun) -> dict[int, int]:
    counts: dict[int, int] = {}
    for number in run.results.values_list("step__number", flat=True):
        counts[number] = counts.get(number, 0) + 1
    return counts


def _step_row(step: Any, result: StepResult | None, attempts: dict[int, int]) -> StepRow:
    remarks = result.remarks if result else ""
    return StepRow(
        number=step.number,
        profile=step.profile,
        action=step.title,
        # A skipped step was never started: it is dated by its decision.
        timestamp=(result.started_at or result.decided_at) if result else None,
        verdict=result.final_verdict if result else "",
        proposed_verdict=result.proposed_verdict if result else "",
        minor_issue=result.minor_issue if result else False,
        attempts=attempts.get(step.number, 0),
        remarks=parse_remarks(remarks),
        remarks_text=remarks,
        octt_ids=tuple(step.octt_ids or ()),
    )


def parse_remarks(text: str) -> tuple[RemarkBlock, ...]:
    """Split an engineer's remarks into paragraphs and bulleted lists.

    Lines starting with "* " or "- " are bullets; an indented line right after a bullet
    continues it; other lines are paragraph text, and a blank line ends a paragraph.
    """
    blocks: list[RemarkBlock] = []
    bullets: list[str] = []
    paragraph: list[str] = []

    def close_bullets() -> None:
        if bullets:
            blocks.append(RemarkBlock("bullets", tuple(bullets)))
            bullets.clear()

    def close_paragraph() -> None:
        if paragraph:
            blocks.append(RemarkBlock("paragraph", (" ".join(paragraph),)))
            paragraph.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(BULLET_PREFIXES) or stripped in {"*", "-"}:
            close_paragraph()
            item = stripped[2:].strip()
            if item:
                bullets.append(item)
        elif not stripped:
            close_paragraph()
            close_bullets()
        elif bullets and line[:1].isspace():
            bullets[-1] = f"{bullets[-1]} {stripped}"
        else:
            close_bullets()
            paragraph.append(stripped)
    close_paragraph()
    close_bullets()
    return tuple(blocks)


def remarks_as_text(blocks: tuple[RemarkBlock, ...]) -> str:
    """The remarks for a spreadsheet cell: bullets as "• ", one per line."""
    lines: list[str] = []
    for block in blocks:
        lines.extend(f"• {item}" if block.is_bullets else item for item in block.items)
    return "\n".join(lines)


def _reported_identity(run: TestRun) -> ReportedIdentity:
    """What the charger said in the run's first BootNotification (the firmware under test;
    a firmware update later in the run changes what it reports), else its last one."""
    charge_point = run.charge_point
    boot = (
        Frame.objects.filter(
            run=run,
            action="BootNotification",
            direction=Frame.Direction.IN,
            message_type=Frame.MessageType.CALL,
        )
        .order_by("captured_at", "seq")
        .values_list("payload", flat=True)
        .first()
    )
    if isinstance(boot, dict):
        return ReportedIdentity(
            charge_point_id=charge_point.charge_point_id,
            vendor=str(boot.get("chargePointVendor", "")),
            model=str(boot.get("chargePointModel", "")),
            serial=str(
                boot.get("chargePointSerialNumber") or boot.get("chargeBoxSerialNumber") or ""
            ),
            firmware=str(boot.get("firmwareVersion", "")),
            iccid=str(boot.get("iccid", "")),
            source="run",
        )
    return ReportedIdentity(
        charge_point_id=charge_point.charge_point_id,
        vendor=charge_point.reported_vendor,
        model=charge_point.reported_model,
        serial=charge_point.reported_serial,
        firmware=charge_point.reported_firmware,
        iccid=charge_point.reported_iccid,
        source="last boot",
    )


def _timelines(
    result_ids: list[int], limit: int | None
) -> tuple[dict[int, list[TimelineEntry]], dict[int, int]]:
    """The first ``limit`` frames of each attempt as timeline entries, and every attempt's
    frame count. With a limit, one bounded query per attempt: a window function numbering
    every frame of the run cost 0.2-0.4 s at 100,000 frames (bench/pages.py), the bounded
    queries about 50 ms in all; only the frames shown leave the database either way."""
    frames = Frame.objects.filter(step_result__in=result_ids)
    counts = dict(
        frames.order_by()
        .values("step_result")
        .annotate(n=Count("pk"))
        .values_list("step_result", "n")
    )
    order = [F("captured_at").asc(), F("connection").asc(), F("seq").asc()]
    columns = (
        "step_result",
        "pk",
        "captured_at",
        "direction",
        "message_type",
        "action",
        "payload",
        "validation_error",
    )
    if limit is None:
        rows: Iterable[tuple[Any, ...]] = (
            frames.order_by("step_result", *order).values_list(*columns).iterator(chunk_size=2000)
        )
    else:
        rows = itertools.chain.from_iterable(
            Frame.objects.filter(step_result=result_id)
            .order_by(*order)
            .values_list(*columns)[:limit]
            for result_id in result_ids
            if counts.get(result_id)
        )
    timelines: dict[int, list[TimelineEntry]] = {}
    for result_id, pk, at, direction, message_type, action, payload, error in rows:
        timelines.setdefault(result_id, []).append(
            TimelineEntry(
                frame_id=pk,
                at=at,
                direction=direction,
                message_type=message_type,
                action=action,
                fields=timeline_fields(message_type, payload),
                validation_error=error,
            )
        )
    return timelines, counts


def _appendix(
    number: int,
    title: str,
    result: StepResult | None,
    timelines: dict[int, list[TimelineEntry]],
    counts: dict[int, int],
) -> StepAppendix:
    if result is None:
        return StepAppendix(number, title, None, (), (), 0)
    findings = tuple(
        Finding(str(f.get("severity", "info")), str(f.get("message", "")))
        for f in (result.findings or [])
        if isinstance(f, dict)
    )
    return StepAppendix(
        number=number,
        title=title,
        attempt=result.attempt,
        findings=findings,
        timeline=tuple(timelines.get(result.pk, ())),
        frame_count=counts.get(result.pk, 0),
        started=result.started_at is not None,
        started_anyway=result.started_anyway,
    )


def timeline_fields(message_type: int | None, payload: Any) -> tuple[tuple[str, str], ...]:
    """The few payload fields that tell what a frame did, as (name, value) text pairs."""
    if not isinstance(payload, dict):
        return ()
    if message_type == Frame.MessageType.CALLERROR:
        shown = [("code", _short(payload.get("errorCode")))]
        if payload.get("errorDescription"):
            shown.append(("description", _short(payload["errorDescription"])))
        return tuple(shown)
    shown = [(name, _short(payload[name])) for name in TIMELINE_FIELDS if name in payload]
    info = payload.get("idTagInfo")
    if "status" not in payload and isinstance(info, dict) and "status" in info:
        shown.insert(0, ("status", _short(info["status"])))
    for name in ("configurationKey", "unknownKey"):
        if isinstance(payload.get(name), list):
            count = len(payload[name])
            shown.append((name, f"{count} key{'' if count == 1 else 's'}"))
    return tuple(shown)


def _short(value: Any) -> str:
    if isinstance(value, list):
        text = ", ".join(str(item) for item in value)
    elif isinstance(value, dict):
        text = json.dumps(value, separators=(",", ":"))
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


# --- The evidence --------------------------------------------------------------------------

EVIDENCE_FIELDS = (
    "id",
    "connection",
    "seq",
    "captured_at",
    "direction",
    "message_type",
    "unique_id",
    "action",
    "raw",
    "payload",
    "validation_error",
    "step",
    "attempt",
)


def evidence_records(run: TestRun) -> Iterator[dict[str, Any]]:
    """Every frame of the run in capture order, as JSON-ready records, streamed from the
    database (also frames of earlier attempts and those captured between steps)."""
    rows = (
        Frame.objects.filter(run=run)
        .order_by("captured_at", "connection", "seq")
        .values_list(
            "pk",
            "connection",
            "seq",
            "captured_at",
            "direction",
            "message_type",
            "unique_id",
            "action",
            "raw",
            "payload",
            "validation_error",
            "step_result__step__number",
            "step_result__attempt",
        )
    )
    for row in rows.iterator(chunk_size=2000):
        record = dict(zip(EVIDENCE_FIELDS, row, strict=True))
        record["captured_at"] = row[3].isoformat(timespec="microseconds")
        yield record


def evidence_json(run: TestRun, *, report_id: str, generated_at: datetime.datetime) -> str:
    """The complete evidence of a run as one JSON document (the PDF's attachment)."""
    frames = list(evidence_records(run))
    document = {
        "run": run.pk,
        "report_id": report_id,
        "generated_at": generated_at.isoformat(timespec="microseconds"),
        "frame_count": len(frames),
        "fields": list(EVIDENCE_FIELDS),
        "frames": frames,
    }
    return json.dumps(document, ensure_ascii=False, indent=None, separators=(",", ":"))
