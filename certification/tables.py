from __future__ import annotations

import django_tables2 as tables

from certification.models import TestPlan, TestRun


class RunTable(tables.Table):
    id = tables.Column("Run", linkify=True)
    charger_model = tables.Column(
        order_by=("charger_model__manufacturer__name", "charger_model__name")
    )
    firmware_version = tables.Column("Firmware", accessor="firmware_version__version")
    passed = tables.Column("Y", attrs={"td": {"class": "num verdict-Y"}}, orderable=False)
    failed = tables.Column("N", attrs={"td": {"class": "num verdict-N"}}, orderable=False)
    not_applicable = tables.Column("N/A", attrs={"td": {"class": "num"}}, orderable=False)

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
        ]
        order_by = "-id"
        empty_text = "No run yet."


class PlanTable(tables.Table):
    name = tables.Column(linkify=True)
    step_count = tables.Column("Steps", attrs={"td": {"class": "num"}})
    run_count = tables.Column("Runs", attrs={"td": {"class": "num"}})

    class Meta:
        model = TestPlan
        fields = ["name", "version", "ocpp_version", "step_count", "run_count", "created_at"]
        order_by = ("name", "-version")
        empty_text = "No test plan."
