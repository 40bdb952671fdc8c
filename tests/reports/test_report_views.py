"""The report page, the draft PDF preview and the exports: content and who may see them."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils.html import escape

from certification.models import TestRun
from chargers.models import User
from tests.certification.test_review import make_report
from tests.reports.sample_run import SampleRun


def urls(run: TestRun) -> dict[str, str]:
    return {
        "html": reverse("certification:report-html", args=[run.pk]),
        "preview": reverse("certification:report-preview-pdf", args=[run.pk]),
        "steps.csv": reverse("certification:report-steps-export", args=[run.pk, "csv"]),
        "steps.xlsx": reverse("certification:report-steps-export", args=[run.pk, "xlsx"]),
        "evidence.csv": reverse("certification:report-evidence-export", args=[run.pk, "csv"]),
        "evidence.jsonl": reverse("certification:report-evidence-export", args=[run.pk, "jsonl"]),
    }


def body(response: object) -> bytes:
    streaming = getattr(response, "streaming_content", None)
    if streaming is not None:
        return b"".join(streaming)
    return response.content  # type: ignore[attr-defined]


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_report_page_shows_header_steps_remarks_and_appendix(
    engineer_client: Client, sample: SampleRun
) -> None:
    response = engineer_client.get(urls(sample.run)["html"])
    assert response.status_code == 200
    page = response.content.decode()
    for text in ["Xcharge", "C8EU", "V1.0.0_C8_Standard", "XC8EU-0042", "8931440400012345678"]:
        assert text in page
    for step in sample.run.plan.steps.all():
        assert f"Step {step.number}: {escape(step.title)}" in page
    assert "<li>Tested in a WiFi environment.</li>" in page
    assert '<span class="verdict-NA">N/A</span>' in page
    assert '<details id="step-9">' in page and "attempt 2" in page
    assert "BootNotification.req" in page
    assert "Draft:" in page  # the run is in review
    assert urls(sample.run)["preview"] in page


@pytest.mark.django_db
def test_manufacturer_reads_the_report_of_its_published_run_only(
    manufacturer_user: User, rival_user: User, sample: SampleRun
) -> None:
    manufacturer, rival = logged_in(manufacturer_user), logged_in(rival_user)
    for name, url in urls(sample.run).items():
        assert manufacturer.get(url).status_code == 404, name  # a draft: not theirs to see
    sample.run.status = TestRun.Status.PUBLISHED
    sample.run.save(update_fields=["status"])
    for name, url in urls(sample.run).items():
        expected = 403 if name == "preview" else 200
        assert manufacturer.get(url).status_code == expected, name
        assert rival.get(url).status_code == 404, name
    page = manufacturer.get(urls(sample.run)["html"]).content.decode()
    assert urls(sample.run)["preview"] not in page and "Draft:" not in page


@pytest.mark.django_db
def test_published_report_page_offers_the_stored_pdf_not_a_new_rendering(
    engineer_client: Client, manufacturer_user: User, published: SampleRun
) -> None:
    make_report(published.run, revision=1)
    make_report(published.run, revision=2)
    stored = reverse("certification:report-revision-pdf", args=[published.run.pk, 2])
    for client in [engineer_client, logged_in(manufacturer_user)]:
        page = client.get(urls(published.run)["html"]).content.decode()
        assert f'href="{stored}">PDF revision 2</a>' in page
        assert urls(published.run)["preview"] not in page
        assert client.get(stored).getvalue().endswith(b"report 2")


@pytest.mark.django_db
def test_report_urls_need_login_and_refuse_writes(
    client: Client, engineer_client: Client, sample: SampleRun
) -> None:
    for name, url in urls(sample.run).items():
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
        assert engineer_client.post(url).status_code == 405, name
        assert engineer_client.delete(url).status_code == 405, name
    assert engineer_client.head(urls(sample.run)["steps.csv"]).status_code == 200


@pytest.mark.django_db
def test_unknown_export_formats_and_runs_are_not_found(
    engineer_client: Client, sample: SampleRun
) -> None:
    pk = sample.run.pk
    assert engineer_client.get(f"/runs/{pk}/report/steps.pdf").status_code == 404
    assert engineer_client.get(f"/runs/{pk}/report/evidence.xml").status_code == 404
    missing = reverse("certification:report-html", args=[pk + 1000])
    assert engineer_client.get(missing).status_code == 404


@pytest.mark.django_db
def test_steps_export_as_csv_and_xlsx(engineer_client: Client, sample: SampleRun) -> None:
    response = engineer_client.get(urls(sample.run)["steps.csv"])
    assert response["Content-Disposition"] == (
        f'attachment; filename="run-{sample.run.pk}-steps.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:6] == ["Step", "OCPP Profile", "Action", "Timestamp", "Pass", "Minor issue"]
    assert len(rows) == 24
    assert rows[1][:5] == ["1", "Core", "Boot charging station", "2023-09-22 09:50:02", "Y"]
    assert rows[1][6].splitlines()[0] == "• Tested in a WiFi environment."
    assert rows[15][4] == "N/A" and rows[18][4] == "N" and rows[9][5] == "yes"

    response = engineer_client.get(urls(sample.run)["steps.xlsx"])
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Step" and len(values) == 24
    assert values[23][2] == "TriggerMessage" and values[18][4] == "N"


@pytest.mark.django_db
def test_evidence_export_streams_every_frame(engineer_client: Client, sample: SampleRun) -> None:
    response = engineer_client.get(urls(sample.run)["evidence.jsonl"])
    assert response.streaming
    assert response["Content-Disposition"].startswith("attachment;")
    records = [json.loads(line) for line in body(response).decode().splitlines()]
    assert sorted(r["id"] for r in records) == sorted(sample.frame_ids)
    assert records[0]["action"] == "BootNotification" and records[0]["step"] == 1

    response = engineer_client.get(urls(sample.run)["evidence.csv"])
    assert response.streaming
    rows = list(csv.DictReader(io.StringIO(body(response).decode())))
    assert sorted(int(r["id"]) for r in rows) == sorted(sample.frame_ids)
    assert json.loads(rows[0]["raw"])[2] == "BootNotification"


@pytest.mark.django_db(transaction=True)
def test_evidence_streams_asynchronously_under_asgi(
    run: TestRun, engineer: User, settings: object
) -> None:
    from tests.reports.sample_run import build_sample_run

    sample = build_sample_run(run, engineer, frames=120)

    async def fetch() -> tuple[bool, bytes]:
        client = AsyncClient()
        await client.aforce_login(engineer)
        response = await client.get(urls(sample.run)["evidence.jsonl"])
        chunks = [chunk async for chunk in response.streaming_content]  # type: ignore[attr-defined]
        return response.is_async, b"".join(chunks)  # type: ignore[attr-defined]

    is_async, content = async_to_sync(fetch)()
    assert is_async
    assert len(content.decode().splitlines()) == len(sample.frame_ids)


@pytest.mark.django_db(transaction=True)
def test_engineer_previews_the_draft_pdf_rendered_by_the_worker(
    run: TestRun, engineer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.reports.sample_run import build_sample_run

    sample = build_sample_run(run, engineer, frames=60)
    monkeypatch.setenv("DATABASE_NAME", str(connection.settings_dict["NAME"]))
    response = logged_in(engineer).get(urls(sample.run)["preview"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'inline; filename="run-{sample.run.pk}-report-preview.pdf"'
    )
    from tests.reports.test_report_pdf import pages

    first = pages(response.content)[0]
    assert "DRAFT" in first and f"PREVIEW-{sample.run.pk}-" in first
