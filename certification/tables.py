from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import SafeString

from certification.models import TestPlan, TestRun
from chargers.tables import IsoDateTimeColumn, PortalTable


class RunTable(PortalTable):
    id = tables.Column("Run", linkify=True)
    charger_model = tables.Column(
        order_by=("charger_model__manufacturer__name", "charger_model__name")
    )
    firmware_version = tables.Column("Firmware", accessor="firmware_version__version")
    passed = tables.Column("Y", attrs={"td": {"class": "num verdict-Y"}}, orderable=False)
    failed = tables.Column("N", attrs={"td": {"class": "num verdict-N"}}, orderable=False)
    not_applicable = tables.Column("N/A", attrs={"td": {"class": "num"}}, orderable=False)
    outcome = tables.Column("Result", accessor="pk", orderable=False)
    started_at = IsoDateTimeColumn()

    class Meta:
        model = TestRun
        fields = [
            "id",
            "charger_model",
            "firmware_version",
            "charge_point",
            "plan",
            "tester",
            "status",
            "started_at",
            "passed",
            "failed",
            "not_applicable",
            "outcome",
        ]
        order_by = "-id"
        empty_text = "No run yet."

    def render_outcome(self, record: TestRun) -> SafeString:
        outcome = record.outcome()
        return format_html(
            '<span class="outcome outcome-{}" title="{}">{}</span>',
            outcome.outcome.value,
            outcome.explanation(),
            outcome.label,
        )


class PlanTable(PortalTable):
    name = tables.Column(linkify=True)
    step_count = tables.Column("Steps", attrs={"td": {"class": "num"}})
    run_count = tables.Column("Runs", attrs={"td": {"class": "num"}})
    created_at = IsoDateTimeColumn()

    class Meta:
        model = TestPlan
        fields = [
            "name",
            "version",
            "status",
            "ocpp_version",
            "step_count",
            "run_count",
            "created_at",
        ]
        order_by = ("name", "-version")
        empty_text = "No test plan."
