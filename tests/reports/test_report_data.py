"""The report as data: the step table, the summary, remarks as bullets, the appendix."""

from __future__ import annotations

import datetime

import pytest

from certification.models import StepResult
from certification.reports.data import (
    RemarkBlock,
    build_report,
    evidence_records,
    parse_remarks,
    timeline_fields,
)
from chargers.models import Frame
from tests.reports.sample_run import BOOT, START, SampleRun


def test_remarks_split_into_bullets_and_paragraphs() -> None:
    text = (
        "Stop Transaction received before reboot.\n"
        "It rebooted twice.\n"
        "* Unavailable expected during the Reset.\n"
        "  Minor Issue.\n"
        "- Finishing expected after reboot.\n"
        "\n"
        "Same as step 9."
    )
    assert parse_remarks(text) == (
        RemarkBlock("paragraph", ("Stop Transaction received before reboot. It rebooted twice.",)),
        RemarkBlock(
            "bullets",
            (
                "Unavailable expected during the Reset. Minor Issue.",
                "Finishing expected after reboot.",
            ),
        ),
        RemarkBlock("paragraph", ("Same as step 9.",)),
    )
    assert parse_remarks("") == ()
    assert parse_remarks("*not a bullet") == (RemarkBlock("paragraph", ("*not a bullet",)),)


def test_timeline_shows_the_fields_that_matter() -> None:
    assert timeline_fields(
        2, {"connectorId": 1, "status": "Charging", "errorCode": "NoError", "timestamp": "x"}
    ) == (("status", "Charging"), ("connectorId", "1"), ("errorCode", "NoError"))
    assert timeline_fields(3, {"idTagInfo": {"status": "Blocked"}}) == (("status", "Blocked"),)
    assert timeline_fields(
        4, {"errorCode": "NotImplemented", "errorDescription": "", "errorDetails": {}}
    ) == (("code", "NotImplemented"),)
    assert timeline_fields(2, None) == ()


@pytest.mark.django_db
def test_report_holds_header_summary_and_every_step(sample: SampleRun) -> None:
    report = build_report(sample.run)
    header = report.header
    assert (header.manufacturer, header.hardware_model, header.firmware) == (
        "Xcharge",
        "C8EU",
        "V1.0.0_C8_Standard",
    )
    assert header.tester == "Wei" and header.reviewer is None
    assert header.run_date == datetime.date(2023, 9, 22)
    assert report.charge_point.serial == BOOT["chargePointSerialNumber"]
    assert report.charge_point.iccid == BOOT["iccid"] and report.charge_point.source == "run"
    assert [row.number for row in report.steps] == list(range(1, 24))
    summary = report.summary
    assert (summary.passed, summary.failed, summary.not_applicable, summary.undecided) == (
        21,
        1,
        1,
        0,
    )
    assert summary.minor_issues == 3
    labels = {row.number: row.pass_label for row in report.steps}
    assert labels[15] == "N/A" and labels[18] == "N" and labels[1] == "Y"
    assert report.steps[0].timestamp == START
    assert report.run_frame_count == len(sample.frame_ids)


@pytest.mark.django_db
def test_step_row_and_appendix_show_the_latest_attempt(sample: SampleRun) -> None:
    report = build_report(sample.run)
    step9 = report.steps[8]
    latest = StepResult.objects.get(run=sample.run, step__number=9, attempt=2)
    assert step9.timestamp == latest.started_at and step9.attempts == 2
    assert step9.verdict == "Y" and step9.minor_issue
    part = report.appendix[8]
    assert part.attempt == 2
    shown = {entry.frame_id for entry in part.timeline}
    assert shown and not shown & set(sample.earlier_attempt_frame_ids)
    assert [f.severity for f in part.findings] == ["info", "minor"]
    skipped = report.appendix[14]  # step 15: not applicable, never run
    assert skipped.attempt == 1 and not skipped.started and skipped.frame_count == 0


@pytest.mark.django_db
def test_timeline_cap_keeps_the_first_frames_and_the_true_count(sample: SampleRun) -> None:
    full = build_report(sample.run)
    capped = build_report(sample.run, frames_per_step_limit=5)
    for whole, part in zip(full.appendix, capped.appendix, strict=True):
        assert part.frame_count == whole.frame_count
        assert part.timeline == whole.timeline[:5]
        assert part.truncated == (whole.frame_count > 5)
    assert capped.timeline_truncated and not full.timeline_truncated
    boot = capped.appendix[0].timeline[0]
    assert (boot.label, boot.arrow) == ("BootNotification.req", "charger → portal")
    assert ("firmwareVersion", BOOT["firmwareVersion"]) in boot.fields


@pytest.mark.django_db
def test_building_the_report_takes_as_many_queries_whatever_the_frames(
    sample: SampleRun,
) -> None:
    """One bounded timeline query per attempt plus a handful: the count follows the plan's
    steps, never the number of frames."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    attempts = sample.run.results.count()
    with CaptureQueriesContext(connection) as few:
        build_report(sample.run, frames_per_step_limit=3)
    models = list(Frame.objects.filter(run=sample.run, step_result__isnull=False)[:50])
    last_seq = Frame.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    copies = []
    for offset in range(1000):  # 1,000 more frames in the same attempts
        model = models[offset % len(models)]
        copies.append(
            Frame(
                charge_point_id=model.charge_point_id,
                connection_id=model.connection_id,
                seq=last_seq + 1 + offset,
                captured_at=model.captured_at,
                direction=model.direction,
                message_type=model.message_type,
                action=model.action,
                raw=model.raw,
                payload=model.payload,
                run_id=model.run_id,
                step_result_id=model.step_result_id,
            )
        )
    Frame.objects.bulk_create(copies)
    assert Frame.objects.filter(run=sample.run).count() >= 1000
    with CaptureQueriesContext(connection) as many:
        build_report(sample.run, frames_per_step_limit=3)
    assert len(many.captured_queries) == len(few.captured_queries)
    # A fixed few besides one per attempt: the header's testing period, identity check and
    # capability declaration among them.
    assert len(few.captured_queries) <= attempts + 14


@pytest.mark.django_db
def test_evidence_records_hold_every_frame_of_the_run(sample: SampleRun) -> None:
    records = list(evidence_records(sample.run))
    assert sorted(r["id"] for r in records) == sorted(sample.frame_ids)
    moments = [r["captured_at"] for r in records]
    assert moments == sorted(moments)  # capture order
    by_id = {r["id"]: r for r in records}
    earlier = by_id[sample.earlier_attempt_frame_ids[0]]
    assert (earlier["step"], earlier["attempt"]) == (9, 1)
    between = by_id[sample.between_steps_frame_ids[0]]
    assert (between["step"], between["attempt"]) == (None, None)
    assert records[0]["captured_at"] == "2023-09-22T09:50:02.000000+00:00"
