"""The seed report's own run as demo data: ``load_demo`` replays the recorded evidence at the
seed's times, the judge proposes the seed's verdicts, the engineer's remarks say what the
seed's say, and a second engineer publishes it.

Loading and publishing renders a PDF in a subprocess, which reads only committed rows: the
run is loaded once per module, committed to the test database, and removed afterwards.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

from certification import services
from certification.demo.catalog import load_demo_catalog
from certification.demo.seed_run import SEED_CHARGE_POINT_ID, SeedRunOutcome, load_seed_run
from certification.models import Report, StepResult, TestRun
from certification.reports.data import build_report
from chargers.models import ChargePoint, Connection, ConnectionEvent, Frame, User

SEED_REPORT = (
    Path(__file__).resolve().parents[3] / "shared/reference/seed-test-report-xcharge-c8eu.txt"
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class SeedReportRow:
    number: int
    timestamp: datetime.datetime
    verdict: str
    remarks: str


def seed_report_rows() -> dict[int, SeedReportRow]:
    rows = {}
    for line in SEED_REPORT.read_text().splitlines():
        cells = line.split("\t")
        if not re.fullmatch(r"\d+", cells[0]):
            continue
        number = int(cells[0])
        rows[number] = SeedReportRow(
            number=number,
            timestamp=datetime.datetime.fromisoformat(cells[3]).replace(tzinfo=datetime.UTC),
            verdict={"Y": "Y", "N": "N", "N/A": "NA"}[cells[4].strip()],
            remarks=cells[5].strip() if len(cells) > 5 else "",
        )
    return rows


def seed_minor_issues(rows: dict[int, SeedReportRow]) -> set[int]:
    minor = {n for n, row in rows.items() if "minor issue" in row.remarks.lower()}
    for n, row in rows.items():
        same = re.fullmatch(r"Same with step (\d+)\.?", row.remarks)
        if same and int(same.group(1)) in minor:
            minor.add(n)
    return minor


@pytest.fixture(scope="module")
def seed_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("seed-media")


@pytest.fixture(scope="module")
def seed(
    django_db_setup: None, django_db_blocker: Any, seed_media: Path
) -> Iterator[SeedRunOutcome]:
    """``load_demo``'s catalog and seed run, committed, with the renderer subprocess on the
    test database."""
    with (
        django_db_blocker.unblock(),
        pytest.MonkeyPatch.context() as patch,
        override_settings(MEDIA_ROOT=seed_media),
    ):
        patch.setenv("DATABASE_NAME", str(connection.settings_dict["NAME"]))
        try:
            outcome = load_demo_catalog().seed_run
            assert outcome is not None
            yield outcome
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def run(seed: SeedRunOutcome) -> TestRun:
    assert seed.run is not None, seed.describe()
    return seed.run


def latest(run: TestRun) -> dict[int, StepResult]:
    return {r.step.number: r for r in run.results.select_related("step").order_by("attempt")}


def test_load_demo_publishes_the_seed_run_reviewed_by_another_engineer(
    seed: SeedRunOutcome, run: TestRun, seed_media: Path
) -> None:
    assert seed.created and seed.published, seed.describe()
    assert TestRun.objects.filter(charge_point__charge_point_id=SEED_CHARGE_POINT_ID).count() == 1
    assert run.status == TestRun.Status.PUBLISHED
    assert (run.tester.username, run.reviewer and run.reviewer.username) == (
        "engineer",
        "reviewer",
    )
    assert (run.charger_model.name, run.firmware_version.version) == (
        "C8EU",
        "V1.0.0_C8_Standard",
    )
    report = Report.objects.get(run=run)
    pdf = (seed_media / str(report.pdf.name)).read_bytes()
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == report.sha256
    assert report.summary["passed"] == 22 and report.summary["not_applicable"] == 1
    assert report.summary["failed"] == 0 and report.summary["minor_issues"] == 5
    # Step 15 is N/A for the reason the plan allows: the run is a pass, with minor issues.
    assert report.overall == "Pass with minor issues"
    # Every BootNotification names the certified charger (step 19's the new image).
    assert services.identity_warnings(report.run) == []
    assert User.objects.get(username="reviewer").is_engineer


def test_every_step_has_the_seeds_timestamp_and_final_verdict(run: TestRun) -> None:
    results = latest(run)
    rows = seed_report_rows()
    assert sorted(results) == sorted(rows) == list(range(1, 24))
    for number, row in rows.items():
        result = results[number]
        assert result.started_at == row.timestamp, number
        assert result.finished_at is not None and result.finished_at > row.timestamp, number
        assert result.final_verdict == row.verdict, number
        assert result.decided_by is not None and result.decided_by.username == "engineer"
    # Steps 10 and 17 were repeated on another day: the rows keep the seed's order.
    assert results[10].started_at.date() == datetime.date(2023, 10, 30)  # type: ignore[union-attr]


def test_remarks_follow_the_seeds_rows_in_the_portals_words(run: TestRun) -> None:
    results = latest(run)
    rows = seed_report_rows()
    for number, row in rows.items():
        remarks = results[number].remarks
        assert bool(remarks) == bool(row.remarks), number
        assert not row.remarks or remarks != row.remarks, f"step {number} copies the seed"
        if "<ul" in row.remarks:
            bullets = [line for line in remarks.splitlines() if line.startswith("* ")]
            assert len(bullets) == row.remarks.count(" * "), number
    minor = {n for n, result in results.items() if result.minor_issue}
    assert minor == seed_minor_issues(rows) == {9, 10, 11, 12, 19}
    for number in minor:
        assert "minor issue" in results[number].remarks.lower(), number
    assert "Wi-Fi" in results[1].remarks and "BatterySampleInterval" in results[1].remarks
    assert "DownloadFailed" in results[18].remarks and "InstallationFailed" in results[18].remarks


def test_the_evidence_belongs_to_its_steps_in_time_order(run: TestRun) -> None:
    results = latest(run)
    for number, result in results.items():
        frames = list(Frame.objects.filter(step_result=result).order_by("captured_at"))
        assert frames, f"step {number} has no evidence"
        assert result.started_at is not None and result.finished_at is not None
        assert all(result.started_at <= f.captured_at <= result.finished_at for f in frames)
        assert all(f.run_id == run.pk for f in frames)
    # On every connection the frames' order on the wire is their order in time.
    for conn in Connection.objects.filter(charge_point=run.charge_point):
        by_time = list(conn.frames.order_by("captured_at").values_list("seq", flat=True))
        assert by_time == sorted(by_time), conn
        assert conn.closed_at is not None and conn.opened_at <= conn.closed_at
    assert Frame.objects.filter(run=run, validation_error__gt="").count() == 0
    # The charger's own clock moved with its steps: a MeterValue of step 6 is of that day.
    meter_values = Frame.objects.filter(step_result=results[6], action="MeterValues").first()
    assert meter_values is not None and isinstance(meter_values.payload, dict)
    sampled = meter_values.payload["meterValue"][0]["timestamp"]
    assert sampled.startswith("2023-09-22T10:05:") and sampled in meter_values.raw
    charge_point = ChargePoint.objects.get(charge_point_id=SEED_CHARGE_POINT_ID)
    assert (charge_point.reported_vendor, charge_point.reported_model) == ("Xcharge", "C8EU")
    assert ConnectionEvent.objects.filter(step_result=results[7], kind="closed").exists()


def test_the_judge_proposed_the_seeds_verdicts_with_the_seeds_findings(run: TestRun) -> None:
    results = latest(run)

    def findings(number: int) -> str:
        return " | ".join(f["message"] for f in results[number].findings)

    # Step 18: the charger downloaded the image and reported DownloadFailed. The lab passed it
    # with a remark; the judge proposes N and the seed's Y stands as the engineer's override.
    assert {n: r.proposed_verdict for n, r in results.items()} == {
        n: r.final_verdict for n, r in results.items()
    } | {18: "N"}
    assert results[18].final_verdict == "Y" and "DownloadFailed" in results[18].remarks
    assert "DownloadFailed" in findings(18) and "InstallationFailed" in findings(18)
    assert results[10].measurements["reboots"] == 2
    assert "Preparing" in findings(9) and "Finishing" in findings(9)
    assert "Unavailable" in findings(12)
    assert "MeterValues" in findings(23) and "Rejected" in findings(23)
    assert results[7].measurements["queued_meter_values"] > 0
    assert "ICCID" in findings(1)


def test_a_second_load_changes_nothing(run: TestRun) -> None:
    def state() -> tuple[Any, ...]:
        return (
            TestRun.objects.count(),
            StepResult.objects.count(),
            Frame.objects.count(),
            ConnectionEvent.objects.count(),
            Connection.objects.count(),
            Report.objects.count(),
            User.objects.count(),
            TestRun.objects.get(pk=run.pk).updated_at,
        )

    before = state()
    assert load_seed_run() is None
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert f"Seed run {run.pk}: already there, published." in out.getvalue()
    assert state() == before


def test_a_run_that_cannot_be_published_stays_in_review_and_load_demo_says_why(
    run: TestRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Start again from the catalog alone, inside this test's transaction: the renderer's
    # process cannot see an uncommitted run, so rendering fails for real.
    Report.objects.all().delete()
    TestRun.objects.all().delete()
    ChargePoint.objects.filter(charge_point_id=SEED_CHARGE_POINT_ID).delete()
    monkeypatch.setenv("DATABASE_NAME", str(connection.settings_dict["NAME"]))
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    reloaded = TestRun.objects.get(charge_point__charge_point_id=SEED_CHARGE_POINT_ID)
    assert reloaded.status == TestRun.Status.IN_REVIEW
    assert not reloaded.reports.exists()
    assert (
        f"Seed run {reloaded.pk}: created, left in review: it could not be published "
        "(The report could not be rendered" in out.getvalue()
    ), out.getvalue()
    assert "password engineer-demo" in out.getvalue()


def test_the_reports_date_is_the_testing_period_not_the_day_of_review(run: TestRun) -> None:
    """Issue 12, item 4: the seed was tested from 22 September to 30 October 2023."""
    header = build_report(run).header
    assert (header.run_date, header.run_end_date) == (
        datetime.date(2023, 9, 22),
        datetime.date(2023, 10, 30),
    )
    client = Client()
    client.force_login(User.objects.get(username="engineer"))
    page = client.get(f"/runs/{run.pk}/report/").content.decode()
    assert "<dt>Date</dt><dd>2023-09-22 \u2013 2023-10-30</dd>" in page
    assert "/2023" not in page and "/2026" not in page  # no dd/mm nor mm/dd anywhere
    assert "2023-09-22T09:50:02+00:00" in page  # step 1's timestamp, ISO 8601 with zone
