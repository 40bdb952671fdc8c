"""Catalog tables (django-tables2): sortable, paginated, exportable as CSV and XLSX."""

from __future__ import annotations

import django_tables2 as tables

from chargers.models import ChargerModel, FirmwareVersion, Manufacturer


class ManufacturerTable(tables.Table):
    name = tables.Column(linkify=True)
    website = tables.URLColumn()
    model_count = tables.Column("Models", attrs={"td": {"class": "num"}})

    class Meta:
        model = Manufacturer
        fields = ["name", "country", "website", "contact_email", "model_count"]
        order_by = "name"
        empty_text = "No manufacturer matches."


class ChargerModelTable(tables.Table):
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


class FirmwareVersionTable(tables.Table):
    charger_model = tables.Column(
        "Charger model", linkify=True, order_by=("charger_model__manufacturer__name",)
    )
    version = tables.Column()

    class Meta:
        model = FirmwareVersion
        fields = ["charger_model", "version", "release_date", "notes"]
        order_by = "-release_date"
        empty_text = "No firmware version matches."


class ModelFirmwareTable(tables.Table):
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
