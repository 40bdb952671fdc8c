"""Catalog tables (django-tables2): sortable, paginated, exportable as CSV and XLSX."""

from __future__ import annotations

import json
from typing import Any

import django_tables2 as tables
from django.conf import settings
from django.core.paginator import Paginator
from django.utils.html import format_html

from chargers.models import (
    ChargePoint,
    ChargerModel,
    Command,
    ConnectionEvent,
    FirmwareVersion,
    Frame,
    Manufacturer,
)
from chargers.templatetags.timestamps import iso_timestamp


class IsoDateTimeColumn(tables.Column):
    """A moment as every page writes it: ISO 8601 with the zone (chargers.templatetags.
    timestamps), with milliseconds for evidence; the same text in the exports."""

    def __init__(self, *args: Any, milliseconds: bool = False, **kwargs: Any) -> None:
        self.timespec = "milliseconds" if milliseconds else "seconds"
        super().__init__(*args, **kwargs)

    def render(self, value: Any) -> str:
        # A narrow column wraps the moment between its date and its time, never at a hyphen.
        moment = iso_timestamp(value, self.timespec)
        date, time = moment[:10], moment[10:]
        return format_html(
            '<span class="moment">{}</span><wbr><span class="moment">{}</span>', date, time
        )

    def value(self, value: Any) -> str:
        return iso_timestamp(value, self.timespec)


class PortalTable(tables.Table):
    """The base of every table: ``?per_page=`` is capped at ``MAX_PAGE_SIZE`` (a page of a
    million frames was one request away)."""

    def paginate(
        self,
        paginator_class: type[Paginator] = Paginator,
        per_page: int | None = None,
        page: int = 1,
        *args: Any,
        **kwargs: Any,
    ) -> PortalTable:
        per_page = min(per_page or self._meta.per_page, settings.MAX_PAGE_SIZE)
        return super().paginate(paginator_class, per_page, page, *args, **kwargs)


class ManufacturerTable(PortalTable):
    name = tables.Column(linkify=True)
    website = tables.URLColumn()
    model_count = tables.Column("Models", attrs={"td": {"class": "num"}})

    class Meta:
        model = Manufacturer
        fields = ["name", "country", "website", "contact_email", "model_count"]
        order_by = "name"
        empty_text = "No manufacturer matches."


class ChargerModelTable(PortalTable):
    name = tables.Column(linkify=True)
    manufacturer = tables.Column(linkify=True, order_by="manufacturer__name")
    connectors = tables.Column("Connectors", attrs={"td": {"class": "num"}})
    max_power_kw = tables.Column(attrs={"td": {"class": "num"}})
    firmware_count = tables.Column("Firmware versions", attrs={"td": {"class": "num"}})

    class Meta:
        model = ChargerModel
        fields = [
            "manufacturer",
            "name",
            "current_type",
            "connectors",
            "max_power_kw",
            "outlet",
            "firmware_count",
        ]
        order_by = ("manufacturer", "name")
        empty_text = "No charger model matches."


class FirmwareVersionTable(PortalTable):
    charger_model = tables.Column(
        "Charger model", linkify=True, order_by=("charger_model__manufacturer__name",)
    )
    version = tables.Column()

    class Meta:
        model = FirmwareVersion
        fields = ["charger_model", "version", "release_date", "notes"]
        order_by = "-release_date"
        empty_text = "No firmware version matches."


class ModelFirmwareTable(PortalTable):
    """The firmware versions on a charger model's own page."""

    version = tables.Column()
    edit = tables.TemplateColumn(
        template_name="chargers/_firmware_edit_cell.html",
        verbose_name="",
        orderable=False,
        exclude_from_export=True,
    )

    class Meta:
        model = FirmwareVersion
        fields = ["version", "release_date", "notes"]
        order_by = "-release_date"
        empty_text = "No firmware version recorded yet."


class ChargePointTable(PortalTable):
    charge_point_id = tables.Column(linkify=True)
    charger_model = tables.Column(
        order_by=("charger_model__manufacturer__name", "charger_model__name")
    )
    connected = tables.BooleanColumn(verbose_name="Connected", orderable=True)
    security_profile = tables.Column("Profile")

    class Meta:
        model = ChargePoint
        fields = [
            "charge_point_id",
            "connected",
            "charger_model",
            "firmware_version",
            "security_profile",
            "enabled",
            "reported_firmware",
            "last_boot_at",
        ]
        order_by = "charge_point_id"
        empty_text = "No charge point identity yet."

    def render_security_profile(self, value: int) -> str:
        return str(value)


class ConnectionEventTable(PortalTable):
    at = IsoDateTimeColumn(milliseconds=True)
    charge_point_identity = tables.Column("chargePointId")
    # Refused handshakes are aggregated per identity, host, reason and window.
    count = tables.Column("Times", attrs={"td": {"class": "num"}})
    last_at = IsoDateTimeColumn(verbose_name="Last", milliseconds=True)

    class Meta:
        model = ConnectionEvent
        fields = [
            "at",
            "charge_point_identity",
            "kind",
            "detail",
            "count",
            "last_at",
            "close_code",
            "remote_address",
        ]
        order_by = "-at"
        empty_text = "No connection attempt recorded."
        row_attrs = {"class": lambda record: f"event-{record.kind}"}


class FrameTable(PortalTable):
    # The id, not the row: rendering the related Connection was one query per frame.
    connection = tables.Column("Connection", accessor="connection_id")
    captured_at = IsoDateTimeColumn(verbose_name="Time", milliseconds=True)
    direction = tables.Column("Dir.")
    message_type = tables.Column("Type")
    raw = tables.TemplateColumn(
        template_name="chargers/_frame_raw_cell.html", verbose_name="Frame", orderable=False
    )

    class Meta:
        model = Frame
        fields = [
            "captured_at",
            "connection",
            "seq",
            "direction",
            "message_type",
            "action",
            "unique_id",
            "raw",
            "validation_error",
        ]
        order_by = ("captured_at", "seq")
        empty_text = "No frame recorded."
        row_attrs = {"class": lambda record: "frame-invalid" if record.validation_error else ""}

    def render_direction(self, record: Frame) -> str:
        # ``value`` would be the choice's label already; the label is the one spelling.
        return record.get_direction_display()

    def value_raw(self, record: Frame) -> str:
        """The frame as captured: the page cuts it to 400 characters, the export never."""
        return record.raw

    def value_direction(self, value: str) -> str:
        return value


class CommandTable(PortalTable):
    requested_at = IsoDateTimeColumn()
    run = tables.Column("Evidence of", linkify=True)
    payload = tables.JSONColumn()
    response = tables.JSONColumn()

    class Meta:
        model = Command
        fields = [
            "requested_at",
            "action",
            "payload",
            "status",
            "response",
            "error",
            "round_trip_ms",
            "requested_by",
            "origin",
            "run",
            "deliberately_invalid",
        ]
        order_by = "-requested_at"
        empty_text = "No command sent yet."

    def value_payload(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def value_response(self, value: Any) -> str:
        return "" if value is None else json.dumps(value, ensure_ascii=False)
