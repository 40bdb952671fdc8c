"""The certification process: test plans as data, runs that follow them, and the result of
every step with its evidence."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

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


class Outcome(models.TextChoices):
    """A run's one-word result, derived from its steps (see ``outcome_of``)."""

    PASS = "pass", "Pass"
    PASS_WITH_MINOR_ISSUES = "pass_minor", "Pass with minor issues"
    FAIL = "fail", "Fail"
    INCOMPLETE = "incomplete", "Incomplete"


@dataclass(frozen=True)
class StepStanding:
    """What ``outcome_of`` needs to know of one step of a plan and its latest attempt."""

    number: int
    mandatory: bool
    allowed_na_reasons: frozenset[str]
    final_verdict: str  # "Y", "N", "NA" or "" (undecided or never run)
    na_reason: str = ""
    minor_issue: bool = False


@dataclass(frozen=True)
class RunOutcome:
    """A run's outcome and the step numbers that decided it."""

    outcome: Outcome
    untested: tuple[int, ...] = ()  # mandatory steps without a final verdict
    wrongly_na: tuple[int, ...] = ()  # mandatory steps N/A for no reason the plan allows
    failed: tuple[int, ...] = ()
    minor: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        return str(self.outcome.label)

    @property
    def is_pass(self) -> bool:
        return self.outcome in {Outcome.PASS, Outcome.PASS_WITH_MINOR_ISSUES}

    def reason(self) -> str:
        """Why the outcome is what it is, as a sentence to print after its label."""
        if self.outcome == Outcome.INCOMPLETE:
            parts = []
            if self.untested:
                numbers = _numbers(self.untested)
                parts.append(f"mandatory step{_s(self.untested)} {numbers} untested")
            if self.wrongly_na:
                parts.append(
                    f"step{_s(self.wrongly_na)} {_numbers(self.wrongly_na)} N/A for a reason "
                    "the plan does not allow"
                )
            return _sentence("; ".join(parts))
        if self.outcome == Outcome.FAIL:
            return f"Step{_s(self.failed)} {_numbers(self.failed)} failed."
        if self.outcome == Outcome.PASS_WITH_MINOR_ISSUES:
            return f"Minor issues in step{_s(self.minor)} {_numbers(self.minor)}."
        return "Every mandatory step passed or does not apply for a reason the plan allows."

    def explanation(self) -> str:
        """One sentence that names the outcome and says why: its label and its reason."""
        reason = self.reason()
        lowered = reason[:1].lower() + reason[1:]
        if self.outcome == Outcome.PASS_WITH_MINOR_ISSUES:
            return f"Pass with {lowered}"
        return f"{self.label}: {lowered}"

    def as_summary(self) -> dict[str, Any]:
        """The outcome as plain data, frozen into a published report's summary."""
        return {
            "outcome": self.outcome.value,
            "outcome_label": self.label,
            "untested": list(self.untested),
            "wrongly_na": list(self.wrongly_na),
        }


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _s(numbers: tuple[int, ...]) -> str:
    return "" if len(numbers) == 1 else "s"


def _numbers(numbers: tuple[int, ...]) -> str:
    return ", ".join(str(n) for n in numbers)


def outcome_of(steps: Iterable[StepStanding]) -> RunOutcome:
    """The outcome of a run from its steps, the one place this rule lives.

    A mandatory step counts only with Y, or with N/A for a reason the plan allows for that
    step; a run holding an untested or wrongly-N/A mandatory step is Incomplete (it cannot be
    approved, and nothing shows it as a pass). Otherwise any N (mandatory or not) is a Fail,
    any minor issue a Pass with minor issues, and the rest a Pass."""
    untested, wrongly_na, failed, minor = [], [], [], []
    for step in steps:
        verdict = step.final_verdict
        if verdict == Verdict.FAIL:
            failed.append(step.number)
        elif verdict == Verdict.NOT_APPLICABLE:
            if step.mandatory and step.na_reason not in step.allowed_na_reasons:
                wrongly_na.append(step.number)
        elif verdict != Verdict.PASS and step.mandatory:
            untested.append(step.number)
        if step.minor_issue and verdict in {Verdict.PASS, Verdict.FAIL}:
            minor.append(step.number)
    if untested or wrongly_na:
        outcome = Outcome.INCOMPLETE
    elif failed:
        outcome = Outcome.FAIL
    elif minor:
        outcome = Outcome.PASS_WITH_MINOR_ISSUES
    else:
        outcome = Outcome.PASS
    return RunOutcome(outcome, tuple(untested), tuple(wrongly_na), tuple(failed), tuple(minor))


def outcome_label(summary: Mapping[str, Any]) -> str:
    """The outcome's label from a report summary (``RunOutcome.as_summary``)."""
    value = summary.get("outcome")
    return str(Outcome(value).label) if value in Outcome.values else str(Outcome.INCOMPLETE.label)


class TestPlan(models.Model):
    """One version of a test plan. A run pins the version it used; a version that runs use
    is not edited any more: an engineer copies it into a new version instead."""

    __test__ = False  # not a pytest test class

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    name = models.CharField(max_length=120)
    version = models.PositiveIntegerField(default=1)
    # A copy or an import starts as a draft that engineers edit; publishing freezes it and
    # makes it available to new runs. Plans installed by code are published as installed.
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PUBLISHED)
    published_at = models.DateTimeField(null=True, blank=True)
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

    def is_editable(self) -> bool:
        """A draft no run uses; a published version is changed by copying it."""
        return self.status == self.Status.DRAFT and not self.is_in_use()


START_CHECKS = {
    "connected": "the charger is connected",
    "connectors_idle": "its connectors are idle (Available or Unavailable)",
    "no_transaction": "no transaction is running",
}


def default_start_checks() -> list[str]:
    return list(START_CHECKS)


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
    # Which of the plan's common preconditions starting the step checks (START_CHECKS).
    start_checks = models.JSONField(
        default=default_start_checks,
        blank=True,
        help_text='Checked when the step starts, out of "connected", "connectors_idle" and '
        '"no_transaction"; leave one out where the step says otherwise (a session already '
        "running before a reset during charging).",
    )
    # Why the step may not apply: [{"code": "fixed_cable", "text": "..."}]. A mandatory step
    # counts as N/A only for one of these reasons (plan data; capabilities build on it).
    na_reasons = models.JSONField(
        "N/A reasons",
        default=list,
        blank=True,
        help_text='The reasons the step may be N/A: [{"code": "fixed_cable", "text": "The '
        'charger has a fixed cable."}]. A mandatory step N/A for any other reason leaves the '
        "run Incomplete.",
    )
    # [{"fact": "outlet", "is": "socket", "na_reason": "fixed_cable"}]: all must hold for the
    # step to apply to a charger (certification.applicability); each names the code of one of
    # na_reasons, which the step is pre-filled N/A with when the condition does not hold.
    applies_when = models.JSONField(
        "applicability conditions",
        default=list,
        blank=True,
        help_text="Conditions on the charger's capability declaration; each names the code "
        "of the N/A reason given when it does not hold.",
    )
    octt_ids = models.JSONField(
        "OCTT test cases", default=list, blank=True, help_text='OCA 1.6 ids, e.g. ["TC_011_1"].'
    )
    spec_sections = models.JSONField(
        "specification sections",
        default=list,
        blank=True,
        help_text='OCPP 1.6 edition 2 sections checked, e.g. ["5.18 Unlock Connector"].',
    )
    # What an unattended run does in the step, as data (certification.unattended): bench
    # actions, faults, pre-filled commands by label, waits. Empty: send the commands.
    automation = models.JSONField(
        default=list,
        blank=True,
        help_text="Operations of an unattended run, in order (docs/unattended-runs.md).",
    )

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

    def na_reason_codes(self) -> frozenset[str]:
        return frozenset(
            str(reason["code"])
            for reason in self.na_reasons or []
            if isinstance(reason, dict) and reason.get("code")
        )

    def na_reason_text(self, code: str) -> str:
        """The plan's wording of an N/A reason ("" for a code it does not allow)."""
        for reason in self.na_reasons or []:
            if isinstance(reason, dict) and reason.get("code") == code:
                return str(reason.get("text") or code)
        return ""

    def na_reason_choices(self) -> list[tuple[str, str]]:
        return [(code, self.na_reason_text(code)) for code in sorted(self.na_reason_codes())]


def default_timing_tolerance() -> float:
    """The lab's timing tolerance (``TIMING_TOLERANCE_S``, default 4 s as in the OCA's
    compliance tool), copied onto each new run."""
    return float(settings.TIMING_TOLERANCE_S)


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
    declaration = models.ForeignKey(
        "chargers.CapabilityDeclaration",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="runs",
        help_text="The locked capability declaration the run chose its steps by.",
    )
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
    rehearsal = models.BooleanField(
        default=False,
        help_text="A manufacturer's rehearsal: never reviewed, never published as certification.",
    )
    timing_tolerance_s = models.FloatField(
        "timing tolerance (s)",
        default=default_timing_tolerance,
        help_text="How far a measured time may be from the expected one (the lab's setting).",
    )
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
        """Manufacturer users see published results and their own rehearsals, never a
        certification run's drafts."""
        return models.Q(status=cls.Status.PUBLISHED) | models.Q(rehearsal=True)

    def is_open(self) -> bool:
        return self.status in {self.Status.DRAFT, self.Status.IN_PROGRESS}

    def outcome(self) -> RunOutcome:
        """Pass, Pass with minor issues, Fail or Incomplete, from every step's latest
        attempt (``outcome_of`` holds the rule)."""
        latest: dict[int, StepResult] = {}
        for result in self.results.order_by("step_id", "attempt"):
            latest[result.step_id] = result
        steps = self.plan.steps.all()
        return outcome_of(step_standing(step, latest.get(step.pk)) for step in steps)

    def group_name(self) -> str:
        """The channel-layer group of the run's live pages."""
        return run_group(self.pk)


def step_standing(step: TestStep, result: StepResult | None) -> StepStanding:
    return StepStanding(
        number=step.number,
        mandatory=step.mandatory,
        allowed_na_reasons=step.na_reason_codes(),
        final_verdict=result.final_verdict if result else "",
        na_reason=result.na_reason if result else "",
        minor_issue=result.minor_issue if result else False,
    )


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
    started_anyway = models.TextField(
        blank=True,
        help_text="What was not ready when the step started, and the engineer's reason to "
        "start anyway.",
    )
    # With an N/A verdict: the code of the plan's N/A reason it was given for (TestStep.na_reasons).
    na_reason = models.CharField("N/A reason", max_length=64, blank=True)
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
        """The outcome frozen at publication: Pass, Pass with minor issues, Fail or
        Incomplete (a summary without one is never read as a pass)."""
        return outcome_label(self.summary)

    def is_pass(self) -> bool:
        return self.summary.get("outcome") in {
            Outcome.PASS.value,
            Outcome.PASS_WITH_MINOR_ISSUES.value,
        }

    def file_name(self) -> str:
        return (
            f"ocpp-certification-{self.manufacturer}-{self.charger_model}-{self.firmware}"
            f"-r{self.revision}.pdf"
        ).replace(" ", "_")


class UnattendedRun(models.Model):
    """A whole plan played on a run's charge point without a person
    (certification.unattended): each applicable step started, its faults injected, its bench
    actions driven, its commands sent, its waits waited, and finished for the judge."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Could not run"

    run = models.ForeignKey(TestRun, on_delete=models.CASCADE, related_name="unattended_runs")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    strict = models.BooleanField(default=False, help_text="Minor findings fail a step too.")
    steps = models.JSONField(
        default=list, blank=True, help_text="Step numbers to play; empty: the whole plan."
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    current_step = models.PositiveSmallIntegerField(null=True, blank=True)
    # Progress lines: {"at": iso, "step": n | None, "message": str}.
    log = models.JSONField(default=list, blank=True)
    # Per step: {"number", "result": StepResult id | None, "outcome", "notes": [...]}
    outcomes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stop_requested_at = models.DateTimeField(null=True, blank=True)

    manufacturer_path: ClassVar[str] = "run__charger_model__manufacturer"

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Unattended run {self.pk} of run {self.run_id} ({self.status})"

    @classmethod
    def manufacturer_visible_q(cls) -> models.Q:
        return models.Q(run__rehearsal=True) | models.Q(run__status=TestRun.Status.PUBLISHED)

    def is_active(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}
