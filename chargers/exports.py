"""The one export path: every table the portal exports (catalog tables, frames, connection
events, the report's step table and evidence) is written here.

Two rules hold for every cell:

- **No live formula.** A text a spreadsheet would evaluate (first character ``=``, ``+``,
  ``-``, ``@``, tab or carriage return: OWASP's "CSV injection" list) gets a leading
  apostrophe, in CSV and XLSX alike. Charger-controlled values (an idTag, a vendor string,
  a refused frame) such as ``=HYPERLINK(...)`` are then text when the file is opened.
- **Values, not HTML.** A frame is exported as it was captured: never HTML-escaped, never
  cut to what a page shows. A django-tables2 column that renders HTML (a template or JSON
  column) must give its export value (``value_<name>``), or the export refuses to run
  (``ImproperlyConfigured``) rather than write markup.

XLSX cannot hold control characters other than tab, LF and CR (openpyxl refuses them,
which made an export answer 500); there they are written as ``\\xNN``. CSV holds them as
they are. The JSONL evidence export is the byte-exact copy of every frame.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import tablib
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django_tables2 import Column, JSONColumn, TemplateColumn
from django_tables2.export import TableExport

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

FORMULA_TRIGGERS = frozenset("=+-@\t\r")
# What openpyxl refuses in a cell (its ILLEGAL_CHARACTERS_RE).
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def spreadsheet_cell(value: Any) -> Any:
    """A cell that a spreadsheet shows as text, never runs: see the module docstring."""
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def _xlsx_cell(value: Any) -> Any:
    value = spreadsheet_cell(value)
    if isinstance(value, str):
        return _XLSX_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def _dataset(
    headers: Sequence[Any], rows: Iterable[Sequence[Any]], fmt: str, title: str
) -> tablib.Dataset:
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"no export as {fmt!r}")
    cell = _xlsx_cell if fmt == "xlsx" else spreadsheet_cell
    # An XLSX sheet title has at most 31 characters.
    data = tablib.Dataset(headers=[cell(str(h)) for h in headers], title=title[:31] or "Export")
    for row in rows:
        data.append([cell(value) for value in row])
    return data


def spreadsheet(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str, title: str = "Export"
) -> str | bytes:
    """The whole file, in ``fmt`` (``csv`` or ``xlsx``), of ``rows`` under ``headers``.
    Raises ValueError for another format."""
    return _dataset(headers, rows, fmt, title).export(fmt)


def spreadsheet_response(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str, filename: str, title: str = ""
) -> HttpResponse:
    """``spreadsheet`` as a download named ``filename``."""
    response = HttpResponse(
        spreadsheet(headers, rows, fmt, title or filename), content_type=CONTENT_TYPES[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Line:
    """A file for csv.writer whose write() hands back the line it was given."""

    def write(self, value: str) -> str:
        return value


def csv_lines(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV file line by line, for a streamed export of any length."""
    writer = csv.writer(_Line())
    yield writer.writerow([spreadsheet_cell(h) for h in headers])
    for row in rows:
        yield writer.writerow([spreadsheet_cell(value) for value in row])


def _renders_html(column: Any) -> bool:
    """A column whose export value is its HTML: a template column's rendered template
    (tags stripped, text still escaped and cut as the page shows it), a JSON column's
    ``<pre>``. Subclasses with an export value of their own (DateTimeColumn) are fine."""
    value = type(column).value
    return value is TemplateColumn.value or (
        isinstance(column, JSONColumn) and value is Column.value
    )


class PortalTableExport(TableExport):
    """django-tables2's export (``ExportMixin.export_class``) through the same writer."""

    @classmethod
    def is_valid_format(cls, export_format: str | None) -> bool:
        # Only CSV and XLSX: django-tables2 would also write JSON, YAML, LaTeX, ... unchecked.
        return export_format in CONTENT_TYPES

    def table_to_dataset(
        self, table: Any, exclude_columns: Any, dataset_kwargs: dict[str, Any] | None = None
    ) -> tablib.Dataset:
        excluded = set(exclude_columns or ())
        for bound in table.columns:
            if bound.name in excluded or bound.column.exclude_from_export:
                continue
            if _renders_html(bound.column) and not hasattr(table, f"value_{bound.name}"):
                raise ImproperlyConfigured(
                    f"{type(table).__name__}.{bound.name} renders HTML: give its export "
                    f"value with value_{bound.name}()"
                )
        values = iter(table.as_values(exclude_columns=exclude_columns))
        title = (dataset_kwargs or {}).get("title") or type(table).__name__.removesuffix("Table")
        return _dataset(next(values), values, self.format, title)
