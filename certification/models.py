"""The certification process: test plans as data, runs that follow them, and the result of
every step with its evidence."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.urls import reverse

from certification.judge import RULES
from chargers.models import run_group


class Profile(models.TextChoices):
    CORE = "Core"
    FIRMWARE_MANAGEMENT = "Firmware Management"
    REMOTE_TRIGGER = "Remote Trigger"
    LOCAL_AUTH_LIST = "Local Auth List Management"
    RESERVATION = "Reservation"
    SMART_CHARGING = "Smart Charging"


class Verdict(models.TextChoices):
    PASS = "Y", "Pass"
    FAIL = "N", "Fail"
    NOT_APPLICABLE = "NA", "N/A"


class TestPlan(models.Model):
    """One version of a test plan. A run pins the version it used; a version that runs use
    is not edited any more: an engineer copies it into a new version instead."""

    __test__ = False  # not a pytest test class

    name = models.CharField(max_length=120)
    version = models.PositiveIntegerField(default=1)
    ocpp_version = models.CharField("OCPP version", max_length=10, default="1.6")
    description = models.TextField(blank=True)
    based_on = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(
                "name",
                "version",
                name="test_plan_version_unique",
                violation_error_message="A plan of this name already has this version.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    def get_absolute_url(self) -> str:
        return reverse("certification:plan-detail", args=[self.pk])

    def is_in_use(self) -> bool:
        return self.runs.exists()


class TestStep(models.Model):
    __test__ = False

    plan = models.ForeignKey(TestPlan, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField()
    profile = models.CharField("OCPP profile", max_length=32, choices=Profile.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    manual_actions = models.TextField(
        blank=True, help_text="What the engineer does at the charger, one prompt per line."
    )
    preconditions = models.TextField(blank=True)
    expected_sequence = models.TextField(blank=True)
    # [{"action": "Reset", "payload": {...}, "label": "Hard reset"}]: buttons of the console.
    commands = models.JSONField(default=list, blank=True)
    judge_rule = models.CharField(
        max_length=64,
        blank=True,
        choices=[(rule, rule.replace("_", " ")) for rule in sorted(RULES)],
        help_text="Empty: the engineer judges alone.",
    )
    judge_params = models.JSONField(default=dict, blank=True)
    mandatory = models.BooleanField(default=True)

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(
                "plan",
                "number",
                name="test_step_number_unique_per_plan",
                violation_error_message="This plan already has a step with this number.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"

    def prompts(self) -> list[str]:
        return [line.strip() for line in self.manual_actions.splitlines() if line.strip()]


class TestRun(models.Model):
    """A certification of one charger model and firmware, following one plan version."""

    __test__ = False

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_PROGRESS = "in_progress", "In progress"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    charger_model = models.ForeignKey(
        "chargers.ChargerModel", on_delete=models.PROTECT, related_name="runs"
    )
    firmware_version = models.ForeignKey(
        "chargers.FirmwareVersion", on_delete=models.PROTECT, related_name="runs"
    )
    charge_point = models.ForeignKey(
        "chargers.ChargePoint", on_delete=models.PROTECT, related_name="runs"
    )
    plan = models.ForeignKey(TestPlan, on_delete=models.PROTECT, related_name="runs")
    tester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="runs_tested"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="runs_reviewed",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(
        blank=True, help_text="Why the reviewer sent the run back, when they did."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    manufacturer_path: ClassVar[str] = "charger_model__manufacturer"

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "charge_point",
                condition=models.Q(status="in_progress"),
                name="one_run_in_progress_per_charge_point",
                violation_error_message="This charge point already has a run in progress.",
            )
        ]

    def __str__(self) -> str:
        return f"Run {self.pk}: {self.charger_model} {self.firmware_version.version}"

    def get_absolute_url(self) -> str:
        return reverse("certification:run-detail", args=[self.pk])

    @classmethod
    def manufacturer_visible_q(cls) -> models.Q:
        """Manufacturer users see published results only, never drafts."""
        return models.Q(status=cls.Status.PUBLISHED)

    def is_open(self) -> bool:
        return self.status in {self.Status.DRAFT, self.Status.IN_PROGRESS}

    def group_name(self) -> str:
        """The channel-layer group of the run's live pages."""
        return run_group(self.pk)


class StepResult(models.Model):
    """One attempt at one step of a run. Repeating a step adds an attempt; earlier attempts
    stay, and the latest one is the step's result."""

    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="results")
    step = models.ForeignKey(TestStep, on_delete=models.PROTECT, related_name="results")
    attempt = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    proposed_verdict = models.CharField(max_length=2, choices=Verdict.choices, blank=True)
    findings = models.JSONField(default=list, blank=True)
    measurements = models.JSONField(default=dict, blank=True)
    final_verdict = models.CharField(max_length=2, choices=Verdict.choices, blank=True)
    remarks = models.TextField(blank=True)
    minor_issue = models.BooleanField(default=False)
    skip_reason = models.CharField(max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    manufacturer_path: ClassVar[str] = "run__charger_model__manufacturer"

    class Meta:
        ordering = ["run", "step__number", "attempt"]
        constraints = [
            models.UniqueConstraint("run", "step", "attempt", name="step_result_attempt_unique")
        ]

    def __str__(self) -> str:
        return f"{self.run} step {self.step.number} attempt {self.attempt}"

    @classmethod
    def manufacturer_visible_q(cls) -> models.Q:
        return models.Q(run__status=TestRun.Status.PUBLISHED)

    def is_running(self) -> bool:
        return self.started_at is not None and self.finished_at is None

    def is_overridden(self) -> bool:
        return bool(
            self.final_verdict
            and self.proposed_verdict
            and self.final_verdict != self.proposed_verdict
        )

    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class Report(models.Model):
    """A published revision of a run's report. Its PDF is rendered once and stored: it never
    changes afterwards; publishing the run again makes a new revision with a new id."""

    run = models.ForeignKey(TestRun, on_delete=models.PROTECT, related_name="reports")
    revision = models.PositiveSmallIntegerField()
    report_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pdf = models.FileField(upload_to="reports/")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    generated_at = models.DateTimeField()
    tester = models.CharField(max_length=150)
    reviewer = models.CharField(max_length=150)
    # What the verification page confirms, frozen at publication.
    manufacturer = models.CharField(max_length=120)
    charger_model = models.CharField(max_length=120)
    firmware = models.CharField(max_length=120)
    summary = models.JSONField(default=dict)

    manufacturer_path: ClassVar[str] = "run__charger_model__manufacturer"

    class Meta:
        ordering = ["run", "-revision"]
        constraints = [
            models.UniqueConstraint("run", "revision", name="report_revision_unique_per_run")
        ]

    def __str__(self) -> str:
        return f"Report {self.report_id} (run {self.run_id}, revision {self.revision})"

    def get_absolute_url(self) -> str:
        return reverse("certification:verify", args=[self.report_id])

    @property
    def overall(self) -> str:
        """Pass when no step failed; the report's one-word result."""
        return "Fail" if self.summary.get("failed") else "Pass"

    def file_name(self) -> str:
        return (
            f"ocpp-certification-{self.manufacturer}-{self.charger_model}-{self.firmware}"
            f"-r{self.revision}.pdf"
        ).replace(" ", "_")
