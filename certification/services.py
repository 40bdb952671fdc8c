"""The certification workflow: every write of plans, runs and step results goes through
these functions (views, the API and management commands call them)."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import uuid
from typing import Any, Literal, cast

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from certification import judge, plan_data
from certification.applicability import Applicability, evaluate, parse_conditions
from certification.coverage import ProfileCoverage, StepCoverage, coverage_table
from certification.default_plan import COMMON_PRECONDITIONS, PLAN_DESCRIPTION, PLAN_NAME, STEPS
from certification.judge import identity
from certification.judge.outcome import schema_findings
from certification.judge.sequence import ordered
from certification.judge.types import Finding, Severity, StepContext
from certification.models import (
    Outcome,
    Report,
    StepResult,
    TestPlan,
    TestRun,
    TestStep,
    Verdict,
    default_start_checks,
)
from chargers import runs
from chargers.models import (
    CapabilityDeclaration,
    ChargePoint,
    Command,
    ConnectionEvent,
    Frame,
    IdTag,
    InjectedFault,
    Transfer,
    User,
    charge_point_group,
    model_facts,
)
from chargers.ocpp.frames import CENTRAL_SYSTEM_FAILURE, charger_deviations
from chargers.services import end_faults_of_step, group_send_from_sync, locked_declaration
from chargers.templatetags.timestamps import iso_timestamp

log = logging.getLogger(__name__)


class WorkflowError(Exception):
    """An action that the run's state does not allow; the message says what to do instead."""


class StepNotReady(WorkflowError):
    """The step's checkable preconditions do not hold; `not_ready` says which, one sentence
    each. Starting anyway needs a reason, which is recorded on the attempt."""

    def __init__(self, step: TestStep, not_ready: list[str]) -> None:
        self.not_ready = not_ready
        super().__init__(
            f"Step {step.number} is not ready to start: {'; '.join(not_ready)}. Put it right, "
            "or start anyway with a reason (it is recorded with the attempt)."
        )


# --- Plans ---------------------------------------------------------------------------------


def install_default_plan() -> TestPlan:
    """Create version 1 of the default plan unless it exists (idempotent)."""
    return _install_plan(PLAN_NAME, PLAN_DESCRIPTION, STEPS, COMMON_PRECONDITIONS)


def install_full_plan() -> TestPlan:
    """The full OCPP 1.6 charge point plan (certification/full_plan.py): the default plan's
    23 steps and the OCTT cases they leave out."""
    from certification import full_plan

    return _install_plan(
        full_plan.PLAN_NAME, full_plan.PLAN_DESCRIPTION, full_plan.steps(), COMMON_PRECONDITIONS
    )


def install_security_plan() -> TestPlan:
    """Create version 1 of the "OCPP 1.6 Security" plan unless it exists (idempotent):
    certification/security_plan.py, TC_073..TC_088."""
    from certification import security_plan

    return _install_plan(
        security_plan.PLAN_NAME,
        security_plan.PLAN_DESCRIPTION,
        security_plan.STEPS,
        security_plan.PRECONDITIONS,
    )


# What the portal's own plans define of a step, compared to tell whether an installed
# version still is the plan the code describes.
INSTALLED_STEP_FIELDS = plan_data.STEP_FIELDS


def _plan_steps(steps: list[dict[str, Any]], preconditions: str) -> list[dict[str, Any]]:
    """The TestStep fields of a plan defined in code (certification/default_plan.py and its
    siblings), in INSTALLED_STEP_FIELDS order, as JSON would store them."""
    return [
        _as_stored(
            {
                "number": number,
                "profile": step["profile"],
                "title": step["title"],
                "description": step.get("description", ""),
                "manual_actions": step.get("manual_actions", ""),
                "preconditions": step.get("preconditions", preconditions),
                "expected_sequence": step.get("expected_sequence", ""),
                "commands": step.get("commands", []),
                "judge_rule": step.get("judge_rule", ""),
                "judge_params": step.get("judge_params", {}),
                "mandatory": step.get("mandatory", True),
                "na_reasons": step.get("na_reasons", []),
                "applies_when": step.get("applies_when", []),
                "octt_ids": step.get("octt", []),
                "spec_sections": step.get("spec", []),
                "start_checks": step.get("start_checks", default_start_checks()),
                "automation": step.get("automation", []),
            }
        )
        for number, step in enumerate(steps, start=1)
    ]


def _as_stored(fields: dict[str, Any]) -> dict[str, Any]:
    """Tuples as lists, as a JSON column gives them back."""
    return cast(dict[str, Any], json.loads(json.dumps(fields)))


@transaction.atomic
def _install_plan(
    name: str, description: str, steps: list[dict[str, Any]], preconditions: str
) -> TestPlan:
    """The portal's own plan ``name`` as the code defines it, installed once per change.

    The newest version the portal installed (no author, not a copy) is returned when its
    steps are the code's; otherwise the code's steps become a new published version (1 the
    first time). Runs keep the version they started on, and versions engineers made by
    copying and editing stay as they are (certification/plan_data.py, docs/plans.md)."""
    wanted = _plan_steps(steps, preconditions)
    installed = (
        TestPlan.objects.filter(name=name, created_by__isnull=True, based_on__isnull=True)
        .order_by("-version")
        .first()
    )
    if installed is not None:
        stored = [
            _as_stored({field: getattr(step, field) for field in INSTALLED_STEP_FIELDS})
            for step in installed.steps.order_by("number")
        ]
        if stored == wanted:
            return installed
    plan = TestPlan.objects.create(
        name=name,
        version=_next_version(name),
        description=description,
        published_at=timezone.now(),
    )
    TestStep.objects.bulk_create(TestStep(plan=plan, **fields) for fields in wanted)
    return plan


def _next_version(name: str) -> int:
    return (TestPlan.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0) + 1


def default_plan() -> TestPlan | None:
    """The newest version of the default plan, if installed."""
    return TestPlan.objects.filter(name=PLAN_NAME).order_by("-version").first()


@transaction.atomic
def copy_plan(plan: TestPlan, user: User | None, *, name: str | None = None) -> TestPlan:
    """A new draft version of ``plan`` (or a new plan when ``name`` is given), editable
    until it is published."""
    name = name or plan.name
    copy = TestPlan.objects.create(
        name=name,
        version=_next_version(name),
        status=TestPlan.Status.DRAFT,
        ocpp_version=plan.ocpp_version,
        description=plan.description,
        based_on=plan,
        created_by=user,
    )
    steps = list(plan.steps.all())
    for step in steps:
        step.pk = None
        step.plan = copy
    TestStep.objects.bulk_create(steps)
    return copy


@transaction.atomic
def publish_plan(plan: TestPlan, user: User | None) -> TestPlan:
    """Freeze a draft version and offer it to new runs; runs of older versions keep theirs."""
    plan = TestPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status == TestPlan.Status.PUBLISHED:
        raise WorkflowError(f"{plan} is already published.")
    if not plan.steps.exists():
        raise WorkflowError(f"{plan} has no steps: add one before publishing.")
    plan.status = TestPlan.Status.PUBLISHED
    plan.published_at = timezone.now()
    plan.save(update_fields=["status", "published_at"])
    return plan


@transaction.atomic
def import_plan(document: object, user: User | None) -> TestPlan:
    """A plan from its JSON document (plan_data.FORMAT), as a new draft version of the plan
    of its name: nothing is written unless every step passes plan_data's checks."""

    fields, steps = plan_data.check_plan(document)
    plan = TestPlan.objects.create(
        **fields,
        version=_next_version(fields["name"]),
        status=TestPlan.Status.DRAFT,
        created_by=user,
    )
    TestStep.objects.bulk_create(TestStep(plan=plan, **step) for step in steps)
    return plan


# --- Runs ----------------------------------------------------------------------------------


@transaction.atomic
def create_run(
    *,
    charge_point: ChargePoint,
    plan: TestPlan,
    tester: User,
    firmware_version: Any,
    notes: str = "",
    declaration: CapabilityDeclaration | None = None,
    prefill: bool = True,
    rehearsal: bool = False,
) -> TestRun:
    """A draft run. It pins the firmware's newest locked capability declaration (or the
    one given, which must be locked and of that firmware), and every step the declaration
    rules out is recorded at once as N/A with the plan's reason (``prefill=False``: not, for
    a replayed recording that brings its own results). A ``rehearsal`` (a manufacturer's
    practice before a lab slot) is never reviewed and never published as certification."""
    if plan.status != TestPlan.Status.PUBLISHED:
        raise WorkflowError(f"{plan} is a draft: publish it before a run uses it.")
    if declaration is None:
        declaration = locked_declaration(firmware_version)
    elif not declaration.is_locked() or declaration.firmware_version_id != firmware_version.pk:
        raise WorkflowError(
            f"{declaration} is not a locked declaration of {firmware_version}: an engineer "
            "locks it after review."
        )
    run = TestRun.objects.create(
        charge_point=charge_point,
        plan=plan,
        tester=tester,
        firmware_version=firmware_version,
        charger_model=firmware_version.charger_model,
        declaration=declaration,
        notes=notes,
        rehearsal=rehearsal,
    )
    if prefill:
        prefill_not_applicable(run)
    return run


def run_facts(run: TestRun) -> dict[str, Any]:
    """The answers applicability is decided by: the run's pinned declaration, or what the
    catalog says of the model when the run has none (everything else unanswered)."""
    if run.declaration is not None:
        return run.declaration.facts()
    return model_facts(run.charger_model)


def step_applicability(run: TestRun, step: TestStep) -> Applicability:
    return evaluate(parse_conditions(step.applies_when), run_facts(run))


def run_coverage(run: TestRun) -> list[ProfileCoverage]:
    """The OCTT cases the run's plan covers, per feature profile, by the final verdicts of
    the latest attempts (certification.coverage)."""
    latest = latest_results(run)
    return coverage_table(
        StepCoverage(
            profile=step.profile,
            octt_ids=tuple(step.octt_ids or ()),
            verdict=latest[step.number].final_verdict if step.number in latest else "",
        )
        for step in run.plan.steps.all()
    )


def not_applicable_remark(step: TestStep, applicability: Applicability) -> str:
    """The remark of a step the declaration rules out: the plan's wording of its reasons."""
    texts = [step.na_reason_text(code) or code for code in applicability.na_reasons]
    return "Not applicable: " + " ".join(texts)


def prefill_not_applicable(run: TestRun) -> list[StepResult]:
    """Record every step the declaration rules out, and that has no result yet, as N/A for
    the condition's reason (one the plan allows, so the run's outcome counts it). No one
    decided it: ``decided_by`` stays empty, and the engineer can still run the step, whose
    new attempt then counts."""
    done = set(run.results.values_list("step_id", flat=True))
    now = timezone.now()
    created = []
    for step in run.plan.steps.all():
        if step.pk in done:
            continue
        applicability = step_applicability(run, step)
        if applicability.applies is not False:
            continue
        remark = not_applicable_remark(step, applicability)
        created.append(
            StepResult.objects.create(
                run=run,
                step=step,
                attempt=1,
                final_verdict=Verdict.NOT_APPLICABLE,
                na_reason=applicability.na_reasons[0],
                skip_reason=remark[:300],
                remarks=remark,
                decided_at=now,
            )
        )
    return created


def _begin_run(run: TestRun) -> None:
    if run.status == TestRun.Status.IN_PROGRESS:
        return
    if run.status != TestRun.Status.DRAFT:
        raise WorkflowError(f"Run {run.pk} is {run.get_status_display().lower()}: it is closed.")
    run.status = TestRun.Status.IN_PROGRESS
    run.started_at = run.started_at or timezone.now()
    try:
        with transaction.atomic():
            run.save(update_fields=["status", "started_at", "updated_at"])
    except IntegrityError:
        other = TestRun.objects.filter(
            charge_point=run.charge_point, status=TestRun.Status.IN_PROGRESS
        ).first()
        raise WorkflowError(
            f"{run.charge_point} is already under test in run {other.pk if other else '?'}; "
            "finish or send that run to review first."
        ) from None


def running_result(run: TestRun) -> StepResult | None:
    return run.results.filter(started_at__isnull=False, finished_at__isnull=True).first()


def latest_results(run: TestRun) -> dict[int, StepResult]:
    """The current result of each step (its latest attempt), by step number."""
    latest: dict[int, StepResult] = {}
    for result in run.results.select_related("step").order_by("step__number", "attempt"):
        latest[result.step.number] = result
    return latest


def step_not_ready(run: TestRun, step: TestStep) -> list[str]:
    """The plan's preconditions that the portal can check and finds not holding, for the
    checks the step names (TestStep.start_checks): the charger connected, its connectors
    idle (Available, or Unavailable as an earlier step may leave one), no transaction
    running. One sentence each; empty when the step is ready."""
    from chargers.services import is_connected

    charge_point = run.charge_point
    checks = set(step.start_checks or ())
    not_ready: list[str] = []
    if "connected" in checks and not is_connected(charge_point):
        not_ready.append(f"{charge_point} is not connected")
    if "connectors_idle" in checks:
        for connector in charge_point.connectors.filter(connector_id__gt=0).exclude(
            status__in=("Available", "Unavailable")
        ):
            not_ready.append(f"connector {connector.connector_id} is {connector.status}")
    if "no_transaction" in checks:
        for ongoing in charge_point.transactions.filter(stopped_at__isnull=True).order_by("pk"):
            not_ready.append(
                f"transaction {ongoing.pk} is running on connector {ongoing.connector_id} "
                f"(idTag {ongoing.id_tag}, started {ongoing.started_at:%Y-%m-%d %H:%M:%S})"
            )
    return not_ready


@transaction.atomic
def start_step(
    run: TestRun, step: TestStep, user: User | None = None, *, anyway: str = ""
) -> StepResult:
    """Start an attempt at ``step`` (a repeat when it was done before). Frames captured from
    now on belong to it.

    Raises StepNotReady when a precondition the step checks does not hold, unless
    ``anyway`` gives the engineer's reason to start all the same; what was not ready and
    that reason are then recorded on the attempt (``started_anyway``)."""
    run = TestRun.objects.select_for_update().get(pk=run.pk)
    if step.plan_id != run.plan_id:
        raise WorkflowError(f"Step {step.number} is not part of this run's plan.")
    _begin_run(run)  # rolled back with the rest when the step is not ready
    running = running_result(run)
    if running is not None:
        raise WorkflowError(
            f"Step {running.step.number} is still running: finish it before starting another."
        )
    not_ready = step_not_ready(run, step)
    if not_ready and not anyway.strip():
        raise StepNotReady(step, not_ready)
    attempt = (run.results.filter(step=step).aggregate(a=Max("attempt"))["a"] or 0) + 1
    result = StepResult.objects.create(
        run=run,
        step=step,
        attempt=attempt,
        started_at=timezone.now(),
        started_anyway=(
            f"Not ready: {'; '.join(not_ready)}. Started anyway: {anyway.strip()}"
            if not_ready
            else ""
        ),
    )
    transaction.on_commit(lambda: _announce(run, result))
    return result


@transaction.atomic
def finish_step(result: StepResult) -> StepResult:
    """Close the attempt, attach the evidence captured during it, and let the judge propose
    a verdict with its findings."""
    result = StepResult.objects.select_for_update().select_related("run", "step").get(pk=result.pk)
    if result.finished_at is not None:
        raise WorkflowError(f"Step {result.step.number} attempt {result.attempt} is finished.")
    result.finished_at = timezone.now()
    run = result.run
    window = Q(captured_at__gte=result.started_at, captured_at__lte=result.finished_at)
    # Frames captured in the window belong to this attempt even if the charger's worker had
    # not yet heard of the step when it recorded them; never those another run owns.
    ours = Q(run__isnull=True) | Q(run=run)
    Frame.objects.filter(window, ours, charge_point=run.charge_point_id).update(
        run=run, step_result=result
    )
    ConnectionEvent.objects.filter(
        ours,
        at__gte=result.started_at,
        at__lte=result.finished_at,
        charge_point=run.charge_point_id,
    ).update(run=run, step_result=result)
    Transfer.objects.filter(
        ours,
        started_at__gte=result.started_at,
        started_at__lte=result.finished_at,
        charge_point=run.charge_point_id,
    ).update(run=run, step_result=result)
    InjectedFault.objects.filter(
        started_at__gte=result.started_at,
        started_at__lte=result.finished_at,
        charge_point=run.charge_point_id,
    ).update(run=run, step_result=result)
    end_faults_of_step(result.pk, result.finished_at)
    _apply_judgement(result)
    result.save()
    transaction.on_commit(lambda: _announce(run, None, finished=result))
    return result


def _apply_judgement(result: StepResult) -> None:
    context = judge_context(result)
    verdict, findings, measurements = _judged(result, context)
    result.proposed_verdict = verdict
    result.findings = [
        {"severity": f.severity, "message": f.message, "frame_ids": list(f.frame_ids)}
        for f in findings
    ]
    result.measurements = _jsonable(measurements)
    result.minor_issue = any(f.severity == "minor" for f in findings)
    _add_identity_findings(result, context.frames)


def _judged(
    result: StepResult, context: StepContext
) -> tuple[str, tuple[Finding, ...], dict[str, Any]]:
    """The step's proposal, findings and measurements. Without a rule, or when the rule raised
    on the evidence (a shape no rule expected), there is no proposal: the schema violations
    the step holds and a sentence say that the engineer decides, and the traceback goes to
    the log for the portal's developers (never a 500). When the portal itself failed to
    handle a message of the step (answered InternalError), the evidence is incomplete by the
    portal's fault: the rule's findings are shown, the failure is named, and there is no
    proposal either."""
    rule = result.step.judge_rule
    if not rule:
        return "", (Finding("info", "This step has no judge rule: the engineer decides."),), {}
    try:
        judgement = judge.judge(rule, context)
    except Exception as error:
        log.exception("judge: rule %s raised on the evidence of step result %s", rule, result.pk)
        reason = (
            f"The judge's rule {rule} could not read this step's evidence "
            f"({type(error).__name__}: {str(error)[:120]}); it proposes nothing and the "
            "engineer decides"
        )
        found = schema_findings(ordered(context.frames)).items
        return "", (*found, Finding("info", reason)), {}
    failed = list(
        Frame.objects.filter(
            step_result=result, validation_error__contains=CENTRAL_SYSTEM_FAILURE
        ).values_list("pk", "action")
    )
    if failed:
        actions = ", ".join(dict.fromkeys(action for _, action in failed))
        reason = (
            f"The portal failed to handle {len(failed)} of the charger's messages in this step "
            f"({actions}; answered InternalError, the cause is in the portal's log). That is "
            "not the charger's fault, and the evidence is incomplete: the judge proposes "
            "nothing; repeat the step"
        )
        named = Finding("info", reason, tuple(pk for pk, _ in failed))
        return "", (*judgement.findings, named), judgement.measurements
    return judgement.verdict, judgement.findings, judgement.measurements


# The step whose subject is the charger's identity: a mismatch there fails it.
IDENTITY_RULES = frozenset({"boot"})


def _add_identity_findings(result: StepResult, frames: tuple[judge.Frame, ...]) -> None:
    """Every BootNotification of the attempt is compared with the run's pinned manufacturer,
    model and firmware (and their aliases): a mismatch fails the boot step and is a minor
    issue of any other step. The report's header warns of it too (identity_warnings)."""
    boots = [f for f in frames if identity.is_boot_notification(f)]
    if not boots:
        return
    severity: Severity = "fail" if result.step.judge_rule in IDENTITY_RULES else "minor"
    found = identity.identity_findings(
        boots, expected_identity(result.run, result.started_at, result.step.judge_rule), severity
    )
    if not found:
        return
    result.findings = [
        *result.findings,
        *(
            {"severity": f.severity, "message": f.message, "frame_ids": list(f.frame_ids)}
            for f in found
        ),
    ]
    if severity == "fail":
        result.proposed_verdict = Verdict.FAIL
    else:
        result.minor_issue = True


class _IdentityExpectations:
    """What BootNotifications of one run may say, read from the database once (a handful
    of queries whatever the number of frames): the pinned manufacturer, model and firmware
    with their aliases; during and after the firmware update step (rule firmware_install)
    also the new image's version: that of the image the portal serves for the run, or, for
    an image it does not know, the version the charger reported in that step (any version
    during it). The firmware under test stays accepted after the update: a lab may flash it
    back."""

    def __init__(self, run: TestRun) -> None:
        from chargers import transfers

        charger_model = run.charger_model
        self.vendor = charger_model.reported_vendors()
        self.model = charger_model.reported_models()
        self.pinned = run.firmware_version.reported_versions()
        image = transfers.target_image(run)
        if image is not None and image.firmware_version_id == run.firmware_version_id:
            image = None
        self.image_versions = image.firmware_version.reported_versions() if image else None
        updates = run.results.filter(
            step__judge_rule="firmware_install", started_at__isnull=False
        ).values_list("pk", "started_at")
        self.update_starts = sorted(started for _, started in updates if started is not None)
        self.reported_in_updates = tuple(
            str(payload["firmwareVersion"])
            for payload in Frame.objects.filter(
                step_result__in=[pk for pk, _ in updates],
                action="BootNotification",
                direction=Frame.Direction.IN,
                message_type=Frame.MessageType.CALL,
            ).values_list("payload", flat=True)
            if isinstance(payload, dict) and payload.get("firmwareVersion")
        )

    def at(
        self, moment: datetime.datetime | None, judge_rule: str = ""
    ) -> identity.ExpectedIdentity:
        firmware = list(self.pinned)
        any_firmware = False
        if judge_rule == "firmware_install":
            if self.image_versions is None:
                any_firmware = True
            else:
                firmware.extend(self.image_versions)
        elif moment is not None and self.update_starts and self.update_starts[0] <= moment:
            firmware.extend(self.image_versions or self.reported_in_updates)
        return identity.ExpectedIdentity(
            vendor=self.vendor,
            model=self.model,
            firmware=tuple(dict.fromkeys(firmware)),
            any_firmware=any_firmware,
        )


def expected_identity(
    run: TestRun, at: datetime.datetime | None, judge_rule: str = ""
) -> identity.ExpectedIdentity:
    """What a BootNotification of ``run`` may say at ``at`` (see _IdentityExpectations)."""
    return _IdentityExpectations(run).at(at, judge_rule)


def identity_warnings(run: TestRun) -> list[str]:
    """One sentence per BootNotification of the run that names another charger than the
    run certifies (the report header's warning), in capture order."""
    expectations = _IdentityExpectations(run)
    warnings = []
    for frame in (
        Frame.objects.filter(
            run=run,
            action="BootNotification",
            direction=Frame.Direction.IN,
            message_type=Frame.MessageType.CALL,
        )
        .select_related("step_result__step")
        .order_by("captured_at", "seq")
    ):
        attempt = frame.step_result
        if attempt is not None:
            expected = expectations.at(attempt.started_at, attempt.step.judge_rule)
            where = f"step {attempt.step.number} attempt {attempt.attempt}"
        else:
            expected = expectations.at(frame.captured_at)
            where = "between steps"
        found = identity.mismatches(frame.payload, expected)
        if found:
            warnings.append(
                f"The BootNotification of {iso_timestamp(frame.captured_at)} "
                f"({where}, frame {frame.pk}) reports "
                + "; ".join(m.sentence() for m in found)
                + "."
            )
    return warnings


def judge_context(result: StepResult) -> judge.StepContext:
    """What the judge sees of an attempt: its frames and connection events, and the run's
    settings. Frames the engineer sent invalid on purpose (expert mode) are not held
    against the charger."""
    run = result.run
    # The judge orders by ``seq`` across the whole attempt, while a Frame's own seq counts
    # within one connection (it restarts after every reboot): number them in capture order.
    ordered = Frame.objects.filter(step_result=result).order_by("captured_at", "connection", "seq")
    frames = tuple(
        judge.Frame(
            id=f.pk,
            seq=position,
            at=f.captured_at,
            direction="in" if f.direction == Frame.Direction.IN else "out",
            message_type=f.message_type,
            unique_id=f.unique_id or None,
            action=f.action or None,
            payload=f.payload if isinstance(f.payload, dict) else None,
            validation_error=(
                charger_deviations(f.validation_error) if not f.deliberately_invalid else None
            ),
            connection_id=f.connection_id,
        )
        for position, f in enumerate(ordered, start=1)
    )
    events = tuple(
        judge.ConnectionEvent(
            id=e.pk,
            at=e.at,
            kind=cast(Literal["connected", "refused", "closed", "replaced"], e.kind),
            detail=e.detail,
            close_code=e.close_code,
            tls=e.tls if isinstance(e.tls, dict) else None,
            connection_id=e.connection_id,
        )
        for e in ConnectionEvent.objects.filter(step_result=result).order_by("at", "pk")
    )
    faults = tuple(
        judge.InjectedFault(
            id=f.pk,
            kind=cast(
                Literal["disconnect", "delay", "withhold", "call_error", "boot_status"], f.kind
            ),
            started_at=f.started_at,
            ended_at=f.end(),
            action=f.action,
            seconds=f.seconds,
            error_code=f.error_code,
            times=f.times,
            applied=f.applied,
        )
        for f in InjectedFault.objects.filter(step_result=result).order_by("started_at", "pk")
    )
    return judge.StepContext(
        frames=frames,
        events=events,
        settings=run_settings(run),
        params=derived_params(result) | dict(result.step.judge_params or {}),
        faults=faults,
        started_at=result.started_at,
        finished_at=result.finished_at,
    )


def _judge_frame(position: int, f: Frame) -> judge.Frame:
    return judge.Frame(
        id=f.pk,
        seq=position,
        at=f.captured_at,
        direction="in" if f.direction == Frame.Direction.IN else "out",
        message_type=f.message_type,
        unique_id=f.unique_id or None,
        action=f.action or None,
        payload=f.payload if isinstance(f.payload, dict) else None,
        validation_error=None,
        connection_id=f.connection_id,
    )


def configuration_before(result: StepResult) -> dict[str, str]:
    """The configuration values the charger accepted (ChangeConfiguration Accepted or
    RebootRequired) or reported (GetConfiguration) in the run before this attempt, key ->
    value, the latest of each: a step is judged against a value set in an earlier one."""
    from certification.judge.sequence import configured_value

    rows = Frame.objects.filter(
        run=result.run,
        action__in=("ChangeConfiguration", "GetConfiguration"),
        captured_at__lt=result.started_at,
    ).order_by("captured_at", "connection", "seq")
    frames = tuple(_judge_frame(position, f) for position, f in enumerate(rows, start=1))
    keys: set[str] = set()
    for frame in frames:
        payload = frame.payload or {}
        if frame.action == "ChangeConfiguration" and isinstance(payload.get("key"), str):
            keys.add(payload["key"])
        for entry in payload.get("configurationKey") or []:
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                keys.add(entry["key"])
    values: dict[str, str] = {}
    for key in sorted(keys):
        value, _ = configured_value(frames, key)
        if value is not None:
            values[key] = value
    return values


def last_presented_id_tag(result: StepResult) -> str | None:
    """The idTag of the charger's latest Authorize or StartTransaction in the run before this
    attempt: the card its authorization cache holds at the start of the step."""
    latest = (
        Frame.objects.filter(
            run=result.run,
            action__in=("Authorize", "StartTransaction"),
            direction=Frame.Direction.IN,
            message_type=Frame.MessageType.CALL,
            captured_at__lt=result.started_at,
        )
        .order_by("-captured_at")
        .first()
    )
    if latest is None or not isinstance(latest.payload, dict):
        return None
    id_tag = latest.payload.get("idTag")
    return id_tag if isinstance(id_tag, str) else None


def presented_id_tags(result: StepResult) -> list[str]:
    """Every idTag of the charger's Authorize and StartTransaction calls in the run before this
    attempt, oldest first: the cards its authorization cache may hold (OCPP 1.6 §3.5.1: the
    cache keeps each identifier the Central System answered, not only the latest)."""
    payloads = Frame.objects.filter(
        run=result.run,
        action__in=("Authorize", "StartTransaction"),
        direction=Frame.Direction.IN,
        message_type=Frame.MessageType.CALL,
        captured_at__lt=result.started_at,
    ).order_by("captured_at")
    tags: list[str] = []
    for payload in payloads.values_list("payload", flat=True):
        id_tag = payload.get("idTag") if isinstance(payload, dict) else None
        if isinstance(id_tag, str) and id_tag not in tags:
            tags.append(id_tag)
    return tags


def derived_params(result: StepResult) -> dict[str, Any]:
    """Rule parameters the portal knows from outside the step's frames: the configuration
    the charger accepted or reported earlier in the run, the card it last presented, the
    firmware it reported before the attempt, and the portal's own records of files that
    travelled (the plan's own parameters take precedence)."""
    rule = result.step.judge_rule
    params: dict[str, Any] = {}
    if result.started_at is None:
        return params
    params["configuration"] = configuration_before(result)
    if rule == "clear_cache":
        params["last_authorized_id_tag"] = last_presented_id_tag(result)
        params["presented_id_tags"] = presented_id_tags(result)
    if rule == "firmware_install":
        last_boot = (
            Frame.objects.filter(
                charge_point=result.run.charge_point_id,
                action="BootNotification",
                direction=Frame.Direction.IN,
                message_type=Frame.MessageType.CALL,
                captured_at__lt=result.started_at,
            )
            .order_by("-captured_at")
            .first()
        )
        if last_boot is not None and isinstance(last_boot.payload, dict):
            version = last_boot.payload.get("firmwareVersion")
            if version:
                params["previous_firmware_version"] = version
    transfers = Transfer.objects.filter(step_result=result).order_by("started_at")
    if rule in {"firmware_installation_failed", "firmware_install"} and _sent_location(
        result, "UpdateFirmware", "/transfers/firmware/"
    ):
        params["portal_downloads"] = [
            {"status": t.status, "bytes": t.bytes_transferred}
            for t in transfers.filter(direction=Transfer.Direction.DOWNLOAD)
        ]
    if rule == "diagnostics_upload" and (
        _sent_location(result, "GetDiagnostics", "/transfers/diagnostics/")
        or _sent_location(result, "GetDiagnostics", "ftp://diag-")
    ):
        params["received_file_names"] = [
            t.file_name
            for t in transfers.filter(
                direction=Transfer.Direction.UPLOAD, status=Transfer.Status.COMPLETED
            )
        ]
    return params


def _sent_location(result: StepResult, action: str, marker: str) -> bool:
    """Whether the attempt sent ``action`` with a location the portal itself hosts."""
    for payload in Frame.objects.filter(
        step_result=result, action=action, direction=Frame.Direction.OUT, message_type=2
    ).values_list("payload", flat=True):
        if isinstance(payload, dict) and marker in str(payload.get("location", "")):
            return True
    return False


def run_settings(run: TestRun) -> judge.RunSettings:
    charge_point = run.charge_point
    tags = IdTag.objects.filter(charge_point=charge_point)
    facts = run_facts(run)
    profiles = facts.get("profiles")
    return judge.RunSettings(
        timing_tolerance_s=run.timing_tolerance_s,
        connectors=int(facts.get("connectors") or run.charger_model.connectors),
        can_unlock_connector=facts.get("outlet") != "cable",
        supported_profiles=tuple(profiles) if isinstance(profiles, list) else ("Core",),
        heartbeat_interval=charge_point.heartbeat_interval,
        accepted_id_tags=tuple(t.id_tag for t in tags if t.status == IdTag.Status.ACCEPTED),
        rejected_id_tags=tuple(t.id_tag for t in tags if t.status != IdTag.Status.ACCEPTED),
    )


@transaction.atomic
def skip_step(
    run: TestRun, step: TestStep, reason: str, user: User, *, na_reason: str = ""
) -> StepResult:
    """Record the step as not applicable, with the reason, without running it.

    ``na_reason`` is the code of one of the plan's N/A reasons for the step
    (``TestStep.na_reasons``); a mandatory step skipped without one leaves the run
    Incomplete. A code the plan does not know is refused."""
    _check_na_reason(step, na_reason)
    if not reason.strip():
        reason = step.na_reason_text(na_reason)
    if not reason.strip():
        raise WorkflowError("Say why the step does not apply (it goes into the report).")
    run = TestRun.objects.select_for_update().get(pk=run.pk)
    _begin_run(run)
    running = running_result(run)
    if running is not None and running.step_id == step.pk:
        raise WorkflowError(f"Step {step.number} is running: finish it first.")
    attempt = (run.results.filter(step=step).aggregate(a=Max("attempt"))["a"] or 0) + 1
    now = timezone.now()
    result = StepResult.objects.create(
        run=run,
        step=step,
        attempt=attempt,
        final_verdict=Verdict.NOT_APPLICABLE,
        na_reason=na_reason,
        skip_reason=reason.strip()[:300],
        remarks=reason.strip(),
        decided_by=user,
        decided_at=now,
    )
    transaction.on_commit(lambda: _announce(run, None, finished=result))
    return result


def decide_step(
    result: StepResult,
    *,
    verdict: str,
    remarks: str,
    minor_issue: bool,
    user: User,
    na_reason: str = "",
) -> StepResult:
    """The engineer's last word: confirm or override the proposal, with remarks. An N/A
    verdict names one of the plan's N/A reasons for the step (``na_reason``); without one a
    mandatory step leaves the run Incomplete."""
    if result.is_running():
        raise WorkflowError("Finish the step before deciding its verdict.")
    if result.run.status not in {TestRun.Status.DRAFT, TestRun.Status.IN_PROGRESS}:
        raise WorkflowError("The run is closed; its verdicts no longer change.")
    if verdict not in Verdict.values:
        raise WorkflowError(f"{verdict!r} is not a verdict: use Y, N or NA.")
    if result.proposed_verdict and verdict != result.proposed_verdict and not remarks.strip():
        raise WorkflowError("You override the proposed verdict: write in the remarks why.")
    if verdict != Verdict.NOT_APPLICABLE:
        na_reason = ""
    _check_na_reason(result.step, na_reason)
    result.final_verdict = verdict
    result.na_reason = na_reason
    result.remarks = remarks.strip()
    result.minor_issue = minor_issue
    result.decided_by = user
    result.decided_at = timezone.now()
    result.save(
        update_fields=[
            "final_verdict",
            "na_reason",
            "remarks",
            "minor_issue",
            "decided_by",
            "decided_at",
        ]
    )
    _announce(result.run, None, finished=result)
    return result


def _check_na_reason(step: TestStep, na_reason: str) -> None:
    if na_reason and na_reason not in step.na_reason_codes():
        allowed = ", ".join(sorted(step.na_reason_codes())) or "none"
        raise WorkflowError(
            f"{na_reason!r} is not an N/A reason of step {step.number} (the plan allows: "
            f"{allowed})."
        )


class CommandRefused(WorkflowError):
    """A command the run may not send now (HTTP 409); the message says why."""


def send_run_command(
    run: TestRun,
    action: str,
    payload: Any,
    *,
    user: User | None,
    origin: str = Command.Origin.OTHER,
    deliberately_invalid: bool = False,
) -> Any:
    """Send a command to the run's charger, the step payload's placeholders replaced by
    this run's own transfer locations (console and API alike). Returns the Command row;
    its frames are evidence of this run's running step attempt only (of the run alone when
    no step runs).

    Raises CommandRefused when the run is closed (in review, published, archived) or does
    not hold its charge point (another run is under test on it), and CommandPayloadError
    for a payload that is not valid OCPP 1.6."""
    from chargers import transfers
    from chargers.services import send_command

    run = TestRun.objects.select_related("charge_point").get(pk=run.pk)
    if not run.is_open():
        raise CommandRefused(
            f"Run {run.pk} is {run.get_status_display().lower()}: it is closed, and no "
            "command is sent in its name any more."
        )
    holder = (
        TestRun.objects.filter(charge_point=run.charge_point_id, status=TestRun.Status.IN_PROGRESS)
        .exclude(pk=run.pk)
        .first()
    )
    if holder is not None:
        raise CommandRefused(
            f"{run.charge_point} is under test in run {holder.pk}: run {run.pk} does not hold "
            "it. Send the command through that run, or finish it first."
        )
    running = running_result(run)
    return send_command(
        run.charge_point,
        action,
        transfers.resolve_placeholders(run, payload, settings.PORTAL_PUBLIC_URL),
        requested_by_id=user.pk if user is not None else None,
        deliberately_invalid=deliberately_invalid,
        origin=origin,
        evidence_of=runs.Attempt(run.pk, running.pk if running is not None else None),
    )


# --- Live updates --------------------------------------------------------------------------


def current_context(charge_point_pk: int) -> tuple[int | None, int | None]:
    """The run in progress on a charge point and its running step attempt, if any."""
    run = (
        TestRun.objects.filter(charge_point_id=charge_point_pk, status=TestRun.Status.IN_PROGRESS)
        .only("pk")
        .first()
    )
    if run is None:
        return None, None
    result = running_result(run)
    return run.pk, result.pk if result else None


class _RunDirectory:
    """What chargers may know of runs (chargers.runs): registered at start-up."""

    def current_attempt(self, charge_point_pk: int) -> runs.Attempt:
        return runs.Attempt(*current_context(charge_point_pk))

    def overview(self, user: Any) -> runs.Overview:
        from chargers.access import can_edit, visible

        published = list(
            visible(Report.objects.all(), user)
            .select_related("run")
            .order_by("-generated_at")
            .distinct()[:10]
        )
        open_runs = (
            list(
                visible(TestRun.objects.exclude(status__in=["published", "archived"]), user)
                .select_related("charger_model__manufacturer", "firmware_version", "charge_point")
                .order_by("-updated_at")[:10]
            )
            if can_edit(user)
            else []
        )
        return runs.Overview(open_runs=open_runs, published_reports=published)


RUN_DIRECTORY = _RunDirectory()


def _announce(run: TestRun, running: StepResult | None, finished: StepResult | None = None) -> None:
    """Tell the charger's consumer (any worker) which run and step its frames belong to,
    and the run's open consoles that a step changed."""
    layer = get_channel_layer()
    if layer is None:
        return
    run_id, result_id = current_context(run.charge_point_id)
    changed = running or finished
    messages = [
        (
            charge_point_group(run.charge_point_id),
            {"type": "ocpp.context", "run_id": run_id, "step_result_id": result_id},
        ),
        (run.group_name(), {"type": "run.step", "step_result_id": changed.pk if changed else None}),
    ]
    for group, message in messages:
        group_send_from_sync(layer, group, message)


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return value


# --- The result of a run -------------------------------------------------------------------


def run_report(run: TestRun) -> dict[str, Any]:
    """The whole result of a run as plain data (the API's report, and later the PDF's)."""
    latest = latest_results(run)
    steps = []
    for step in run.plan.steps.all():
        result = latest.get(step.number)
        steps.append(
            {
                "number": step.number,
                "profile": step.profile,
                "title": step.title,
                "mandatory": step.mandatory,
                "attempts": run.results.filter(step=step).count(),
                "timestamp": _iso(result.started_at or result.decided_at) if result else None,
                "proposed_verdict": result.proposed_verdict if result else None,
                "final_verdict": (result.final_verdict or None) if result else None,
                "minor_issue": result.minor_issue if result else False,
                "na_reason": (result.na_reason or None) if result else None,
                "remarks": result.remarks if result else "",
                "findings": result.findings if result else [],
                "measurements": result.measurements if result else {},
                "octt_ids": list(step.octt_ids or []),
                "spec_sections": list(step.spec_sections or []),
            }
        )
    verdicts = [s["final_verdict"] for s in steps]
    charge_point = run.charge_point
    return {
        "run": run.pk,
        "status": run.status,
        "rehearsal": run.rehearsal,
        "manufacturer": run.charger_model.manufacturer.name,
        "hardware_model": run.charger_model.name,
        "firmware": run.firmware_version.version,
        "tester": str(run.tester),
        "reviewer": str(run.reviewer) if run.reviewer else None,
        "plan": {"name": run.plan.name, "version": run.plan.version},
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "charge_point": {
            "id": charge_point.charge_point_id,
            "vendor": charge_point.reported_vendor,
            "model": charge_point.reported_model,
            "serial": charge_point.reported_serial,
            "firmware": charge_point.reported_firmware,
            "iccid": charge_point.reported_iccid,
        },
        "summary": {
            "steps": len(steps),
            "passed": verdicts.count("Y"),
            "failed": verdicts.count("N"),
            "not_applicable": verdicts.count("NA"),
            "undecided": verdicts.count(None),
            "minor_issues": sum(1 for s in steps if s["minor_issue"]),
            **run.outcome().as_summary(),
        },
        "steps": steps,
        "declaration": declaration_data(run.declaration),
        "coverage": [
            {
                "profile": row.profile,
                "covered": row.covered,
                "passed": len(row.passed),
                "failed": len(row.failed),
                "not_applicable": len(row.not_applicable),
                "untested": len(row.untested),
                "cases": row.cases,
            }
            for row in run_coverage(run)
        ],
    }


def declaration_data(declaration: CapabilityDeclaration | None) -> dict[str, Any] | None:
    """The pinned declaration as the report prints it: its version and every answer."""
    if declaration is None:
        return None
    from chargers.services import DECLARATION_FIELDS

    return {
        "id": declaration.pk,
        "version": declaration.version,
        "locked_at": _iso(declaration.locked_at),
        "locked_by": str(declaration.locked_by) if declaration.locked_by else None,
        **{name: getattr(declaration, name) for name in DECLARATION_FIELDS},
    }


# --- Review and publication ----------------------------------------------------------------


def testing_period(run: TestRun) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """From the first to the last step attempt of the run: when the testing was done (not
    when the run was created, sent to review or published). A started attempt spans its
    start to its end; a step recorded N/A without being run counts at its decision."""
    moments: list[datetime.datetime] = []
    for started, finished, decided in run.results.values_list(
        "started_at", "finished_at", "decided_at"
    ):
        if started is not None:
            moments.extend(m for m in (started, finished) if m is not None)
        elif decided is not None:
            moments.append(decided)
    return (min(moments), max(moments)) if moments else (None, None)


def undecided_mandatory_steps(run: TestRun) -> list[int]:
    latest = latest_results(run)
    return [
        step.number
        for step in run.plan.steps.filter(mandatory=True)
        if step.number not in latest or not latest[step.number].final_verdict
    ]


def _refuse_incomplete(run: TestRun) -> None:
    """An Incomplete run is never handed over nor approved: its report would claim more
    than its evidence proves."""
    outcome = run.outcome()
    if outcome.outcome == Outcome.INCOMPLETE:
        raise WorkflowError(
            f"{outcome.explanation()} Run or decide those steps (a step may be N/A only for "
            "a reason its plan allows)."
        )


@transaction.atomic
def submit_for_review(run: TestRun, user: User) -> TestRun:
    """The tester hands the run over: every mandatory step has its final verdict."""
    run = TestRun.objects.select_for_update().get(pk=run.pk)
    if run.rehearsal:
        raise WorkflowError("A rehearsal is never reviewed or published as certification.")
    if run.status not in {TestRun.Status.DRAFT, TestRun.Status.IN_PROGRESS}:
        raise WorkflowError(f"Run {run.pk} is {run.get_status_display().lower()}.")
    running = running_result(run)
    if running is not None:
        raise WorkflowError(f"Step {running.step.number} is still running: finish it first.")
    missing = undecided_mandatory_steps(run)
    if missing:
        listed = ", ".join(str(n) for n in missing)
        raise WorkflowError(f"Steps without a final verdict: {listed}. Decide them first.")
    _refuse_incomplete(run)
    run.status = TestRun.Status.IN_REVIEW
    run.submitted_at = run.finished_at = timezone.now()
    run.review_note = ""
    run.save(update_fields=["status", "submitted_at", "finished_at", "review_note", "updated_at"])
    transaction.on_commit(lambda: _announce(run, None))
    return run


@transaction.atomic
def return_for_changes(run: TestRun, reviewer: User, note: str) -> TestRun:
    """The reviewer sends the run back to the tester, saying why."""
    run = TestRun.objects.select_for_update().get(pk=run.pk)
    if run.status != TestRun.Status.IN_REVIEW:
        raise WorkflowError("Only a run in review can be sent back.")
    if not note.strip():
        raise WorkflowError("Say what the tester should change.")
    run.status = TestRun.Status.IN_PROGRESS
    run.review_note = note.strip()
    try:
        with transaction.atomic():
            run.save(update_fields=["status", "review_note", "updated_at"])
    except IntegrityError:
        raise WorkflowError(
            f"{run.charge_point} is under test in another run; finish that one first."
        ) from None
    return run


def publish_run(run: TestRun, reviewer: User) -> Report:
    """Another engineer approves the run: its report is rendered once, in a separate
    process, stored with a new report id, and from now on never changes. Its verification
    link (text and QR code) is on ``PORTAL_PUBLIC_URL``, never on the host the reviewer's
    browser named: a Host header is the client's to choose."""
    with transaction.atomic():
        run = TestRun.objects.select_for_update().get(pk=run.pk)
        if run.rehearsal:
            raise WorkflowError("A rehearsal is never published as certification.")
        if run.status != TestRun.Status.IN_REVIEW:
            raise WorkflowError("Send the run to review before publishing it.")
        if run.tester_id == reviewer.pk:
            raise WorkflowError("Another engineer must approve the run: not its tester.")
        _refuse_incomplete(run)
        run.reviewer = reviewer
        run.save(update_fields=["reviewer", "updated_at"])
    report_id = uuid.uuid4()
    generated_at = timezone.now()
    verification_url = settings.PORTAL_PUBLIC_URL.rstrip("/") + reverse(
        "certification:verify", args=[report_id]
    )
    # Imported here: the renderer pulls in WeasyPrint, which the rest of the portal (and
    # the process serving chargers) never needs.
    from certification.reports.worker import ReportRenderError, render_pdf_in_worker

    # The renderer reads the committed run; the transaction above is closed on purpose.
    try:
        pdf = render_pdf_in_worker(
            run.pk,
            report_id=str(report_id),
            verification_url=verification_url,
            generated_at=generated_at,
            final=True,
        )
    except ReportRenderError as error:
        raise WorkflowError(
            f"The report could not be rendered; nothing was published ({error})."
        ) from error
    summary = run_report(run)["summary"]
    with transaction.atomic():
        run = TestRun.objects.select_for_update().get(pk=run.pk)
        revision = (run.reports.aggregate(r=Max("revision"))["r"] or 0) + 1
        report = Report(
            run=run,
            revision=revision,
            report_id=report_id,
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
            generated_at=generated_at,
            tester=str(run.tester),
            reviewer=str(reviewer),
            manufacturer=run.charger_model.manufacturer.name,
            charger_model=run.charger_model.name,
            firmware=run.firmware_version.version,
            summary=summary,
        )
        report.pdf.save(f"{report_id}.pdf", ContentFile(pdf), save=False)
        report.save()
        run.status = TestRun.Status.PUBLISHED
        run.published_at = generated_at
        run.save(update_fields=["status", "published_at", "updated_at"])
    return report


@transaction.atomic
def reopen_run(run: TestRun, user: User, reason: str) -> TestRun:
    """Reopen a published run for corrections. Its published revisions stay as they are;
    publishing again makes a new revision with a new report id."""
    run = TestRun.objects.select_for_update().get(pk=run.pk)
    if run.status != TestRun.Status.PUBLISHED:
        raise WorkflowError("Only a published run can be reopened.")
    if not reason.strip():
        raise WorkflowError("Say why the published run is reopened.")
    run.status = TestRun.Status.IN_PROGRESS
    run.review_note = f"Reopened by {user}: {reason.strip()}"
    try:
        with transaction.atomic():
            run.save(update_fields=["status", "review_note", "updated_at"])
    except IntegrityError:
        raise WorkflowError(
            f"{run.charge_point} is under test in another run; finish that one first."
        ) from None
    return run


@transaction.atomic
def archive_run(run: TestRun, user: User) -> TestRun:
    run = TestRun.objects.select_for_update().get(pk=run.pk)
    if run.status == TestRun.Status.IN_PROGRESS:
        raise WorkflowError("A run in progress cannot be archived: send it to review first.")
    run.status = TestRun.Status.ARCHIVED
    run.save(update_fields=["status", "updated_at"])
    return run


def latest_report(run: TestRun) -> Report | None:
    return run.reports.order_by("-revision").first()


# --- Firmware comparison -------------------------------------------------------------------


def firmware_matrix(charger_model: Any) -> dict[str, Any]:
    """For each firmware version of a model (oldest first), the final verdicts of its latest
    published run, step by step; a step that passed on the previous version with a result
    and fails on this one is a regression, one that failed and now passes a fix."""
    firmware_versions = list(charger_model.firmware_versions.order_by("release_date", "created_at"))
    columns = []
    steps: dict[int, str] = {}
    for firmware in firmware_versions:
        run = (
            TestRun.objects.filter(firmware_version=firmware, status=TestRun.Status.PUBLISHED)
            .order_by("-published_at")
            .first()
        )
        verdicts: dict[int, str] = {}
        if run is not None:
            for number, result in latest_results(run).items():
                verdicts[number] = result.final_verdict
                steps.setdefault(number, result.step.title)
        columns.append({"firmware": firmware, "run": run, "verdicts": verdicts})
    rows: list[dict[str, Any]] = []
    for number in sorted(steps):
        cells: list[dict[str, str]] = []
        previous = ""
        for column in columns:
            verdict = column["verdicts"].get(number, "")
            change = ""
            if previous == "Y" and verdict == "N":
                change = "regression"
            elif previous == "N" and verdict == "Y":
                change = "fixed"
            cells.append({"verdict": verdict, "change": change})
            previous = verdict or previous
        rows.append({"number": number, "title": steps[number], "cells": cells})
    return {
        "columns": columns,
        "rows": rows,
        "regressions": sum(c["change"] == "regression" for r in rows for c in r["cells"]),
    }
