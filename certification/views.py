"""Runs and the step console: the page an engineer keeps open all day."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms import ModelForm
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.generic import CreateView

from certification import filters, plan_data, services, tables, unattended
from certification.forms import (
    DecisionForm,
    FaultForm,
    PlanImportForm,
    RunCreateForm,
    SkipForm,
    StepForm,
    UnattendedForm,
)
from certification.models import Report, StepResult, TestPlan, TestRun, TestStep, UnattendedRun
from chargers import services as charger_services
from chargers import transfers
from chargers.access import can_edit, visible
from chargers.models import ChargePoint, ChargerModel, Command, Frame, InjectedFault
from chargers.views import CatalogListView, EngineerRequiredMixin, engineer_required


def _latest_count(verdict: str) -> Coalesce:
    """How many steps of a run have ``verdict`` in their latest attempt (one query)."""
    later = StepResult.objects.filter(
        run=OuterRef("run"), step=OuterRef("step"), attempt__gt=OuterRef("attempt")
    )
    counted = (
        StepResult.objects.filter(run=OuterRef("pk"), final_verdict=verdict)
        .exclude(Exists(later))
        .order_by()
        .values("run")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


# Frames of an attempt the console shows (the newest, plus any the judge cites).
CONSOLE_FRAMES = 300


def runs_for(user: Any) -> QuerySet[TestRun]:
    return visible(TestRun.objects.all(), user).select_related(
        "charger_model__manufacturer", "firmware_version", "charge_point", "plan", "tester"
    )


class RunListView(CatalogListView):
    table_class = tables.RunTable
    filterset_class = filters.RunFilter
    title = "Test runs"
    create_url_name = "certification:run-create"

    def get_queryset(self) -> QuerySet[TestRun]:
        return (
            runs_for(self.request.user)
            .annotate(
                passed=_latest_count("Y"),
                failed=_latest_count("N"),
                not_applicable=_latest_count("NA"),
            )
            .order_by("-pk")
        )


class RunCreateView(EngineerRequiredMixin, CreateView):
    model = TestRun
    form_class = RunCreateForm
    template_name = "chargers/form.html"
    extra_context = {"title": "New test run"}

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        for field in ("charge_point", "firmware_version"):
            value = self.request.GET.get(field, "")
            if value.isdigit():
                initial[field] = int(value)
        return initial

    def form_valid(self, form: ModelForm) -> HttpResponse:
        data = form.cleaned_data
        run = services.create_run(
            charge_point=data["charge_point"],
            plan=data["plan"],
            tester=self.request.user,  # type: ignore[arg-type]
            firmware_version=data["firmware_version"],
            notes=data.get("notes", ""),
        )
        messages.success(self.request, f"{run} created: start its first step when ready.")
        return redirect(run)


@require_safe
@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(runs_for(request.user), pk=pk)
    if request.GET.get("fragment") == "status" and can_edit(request.user):
        return render(
            request,
            "certification/_charger_status.html",
            {
                "run": run,
                "connectors": run.charge_point.connectors.all(),
                "connected": charger_services.is_connected(run.charge_point),
            },
        )
    steps = list(run.plan.steps.all())
    latest = services.latest_results(run)
    running = services.running_result(run)
    editable = can_edit(request.user) and run.is_open()
    number = request.GET.get("step", "")
    selected: TestStep | None
    if number.isdigit() and any(s.number == int(number) for s in steps):
        selected = next(s for s in steps if s.number == int(number))
    elif running is not None:
        selected = running.step
    else:
        selected = next((s for s in steps if s.number not in latest), steps[0] if steps else None)
    context: dict[str, Any] = {
        "run": run,
        "rows": [(step, latest.get(step.number)) for step in steps],
        "running": running,
        "editable": editable,
        "is_engineer": can_edit(request.user),
        "selected": selected,
        "all_actions": charger_services.CSMS_ACTIONS,
        "unattended_runs": run.unattended_runs.all()[:3],
        "outcome": run.outcome(),
        "reports": visible(Report.objects.filter(run=run), request.user).order_by("revision"),
        "coverage": services.run_coverage(run),
    }
    if selected is not None:
        applicability = services.step_applicability(run, selected)
        attempts = list(run.results.filter(step=selected).order_by("attempt"))
        attempt_no = request.GET.get("attempt", "")
        result = next(
            (a for a in attempts if str(a.attempt) == attempt_no),
            attempts[-1] if attempts else None,
        )
        cited = {i for f in (result.findings if result else []) for i in f.get("frame_ids", [])}
        # The newest frames of the attempt, and those the judge cites: a long attempt
        # (hours of MeterValues) would otherwise render thousands of rows on every visit.
        step_frames = Frame.objects.filter(step_result=result) if result else Frame.objects.none()
        frame_count = step_frames.count()
        newest = list(step_frames.order_by("-captured_at", "-seq")[:CONSOLE_FRAMES])
        shown = {f.pk for f in newest}
        extra = [] if not cited else list(step_frames.filter(pk__in=cited - shown))
        frames = sorted([*newest, *extra], key=lambda f: (f.captured_at, f.seq))
        # Commands of the attempt sent from elsewhere (the charge point page, a script):
        # their frames say so, so that nobody takes them for the console's own.
        commands = (
            list(Command.objects.filter(step_result=result).select_related("requested_by"))
            if result
            else []
        )
        foreign = {
            c.unique_id: c.get_origin_display()
            for c in commands
            if c.unique_id and c.origin not in {Command.Origin.CONSOLE, Command.Origin.API}
        }
        for frame in frames:
            frame.command_origin = foreign.get(frame.unique_id, "")  # type: ignore[attr-defined]
        context.update(
            {
                "applicability": applicability,
                "not_applicable_remark": services.not_applicable_remark(selected, applicability)
                if applicability.applies is False
                else "",
                "attempts": attempts,
                "result": result,
                "frames": frames,
                "frame_count": frame_count,
                "frames_hidden": frame_count - len(frames),
                "cited": cited,
                "decision_form": DecisionForm(
                    initial={
                        "verdict": (result.final_verdict or result.proposed_verdict)
                        if result
                        else "",
                        "remarks": result.remarks if result else "",
                        "minor_issue": result.minor_issue if result else False,
                    }
                ),
                "skip_form": SkipForm(),
                "fault_form": FaultForm(),
                "faults": InjectedFault.objects.filter(step_result=result)
                if result and not result.is_running()
                else charger_services.active_faults(run.charge_point_id),
                "na_choices": selected.na_reason_choices(),
                "na_reason_text": selected.na_reason_text(result.na_reason)
                if result and result.na_reason
                else "",
                "na_not_allowed": bool(
                    result
                    and selected.mandatory
                    and result.final_verdict == "NA"
                    and result.na_reason not in selected.na_reason_codes()
                ),
                "step_commands": [
                    {**c, "payload_json": json.dumps(c.get("payload", {}), indent=2)}
                    for c in selected.commands
                ],
                "placeholders_used": any(
                    _holds_placeholder(c.get("payload", {})) for c in selected.commands
                ),
                "needs_image": "{firmware:valid}" in json.dumps(selected.commands)
                and transfers.target_image(run) is None,
                "transfers": run.transfers.filter(step_result=result) if result else [],
                "commands": commands,
                "measurements": [
                    (key.replace("_", " "), readable(value))
                    for key, value in (result.measurements or {}).items()
                ]
                if result
                else [],
                "unrecorded_uploads": [
                    upload
                    for upload in transfers.unrecorded_uploads(run.pk)
                    if result is not None
                    and result.started_at is not None
                    and result.started_at <= upload.received_at
                    and (result.finished_at is None or upload.received_at <= result.finished_at)
                ],
                "connectors": run.charge_point.connectors.all(),
                "connected": charger_services.is_connected(run.charge_point),
            }
        )
    return render(request, "certification/run_console.html", context)


def readable(value: Any) -> SafeString:
    """A judge's measurement as a reader takes it in: a word or number, a list joined by
    commas, an object as a small two-column table, a list of objects as a table with a row
    each; never a Python repr."""
    if isinstance(value, dict):
        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", ((k, readable(v)) for k, v in value.items())
        )
        return format_html('<table class="small-table">{}</table>', rows)
    if isinstance(value, list | tuple):
        if value and all(isinstance(item, dict) for item in value):
            keys = list(dict.fromkeys(k for item in value for k in item))
            head = format_html_join("", "<th>{}</th>", ((k,) for k in keys))
            body = format_html_join(
                "",
                "<tr>{}</tr>",
                (
                    (
                        format_html_join(
                            "", "<td>{}</td>", ((readable(i.get(k, "")),) for k in keys)
                        ),
                    )
                    for i in value
                ),
            )
            return format_html('<table class="small-table"><tr>{}</tr>{}</table>', head, body)
        return format_html_join(", ", "{}", ((readable(item),) for item in value)) or mark_safe("—")
    if value is None:
        return mark_safe("—")
    if isinstance(value, bool):
        return format_html("{}", "yes" if value else "no")
    return format_html("{}", value)


def _holds_placeholder(payload: Any) -> bool:
    """Whether a command's payload holds a placeholder the portal replaces when it sends
    (a JSON object's braces are not one)."""
    if isinstance(payload, dict):
        return any(_holds_placeholder(value) for value in payload.values())
    if isinstance(payload, list):
        return any(_holds_placeholder(value) for value in payload)
    return transfers.is_placeholder(payload)


def _step_of(request: HttpRequest, pk: int, number: int) -> tuple[TestRun, TestStep]:
    run = get_object_or_404(runs_for(request.user), pk=pk)
    step = get_object_or_404(run.plan.steps, number=number)
    return run, step


def _back(run: TestRun, step: TestStep) -> HttpResponse:
    return redirect(f"{reverse('certification:run-detail', args=[run.pk])}?step={step.number}")


@require_POST
@engineer_required
def run_fault(request: HttpRequest, pk: int) -> HttpResponse:
    """Inject a fault into the run's charger from the console, or end one (``end``)."""
    run = get_object_or_404(runs_for(request.user), pk=pk)
    running = services.running_result(run)
    back = redirect(
        f"{reverse('certification:run-detail', args=[run.pk])}"
        + (f"?step={running.step.number}" if running else "")
    )
    if request.POST.get("end"):
        fault = get_object_or_404(
            InjectedFault, pk=request.POST["end"], charge_point=run.charge_point
        )
        charger_services.end_fault(fault)
        messages.success(request, f"Fault #{fault.pk} ended.")
        return back
    form = FaultForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "; ".join(str(e) for errors in form.errors.values() for e in errors)
        )
        return back
    data = form.cleaned_data
    try:
        fault = charger_services.inject_fault(
            run.charge_point,
            data["kind"],
            action=data["action"],
            seconds=data["seconds"],
            error_code=data["error_code"],
            boot_status=data["boot_status"],
            interval=data["interval"],
            times=data["times"],
            created_by_id=request.user.pk,
        )
    except charger_services.FaultError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Fault #{fault.pk}: {fault.describe()}.")
    return back


@require_POST
@engineer_required
def step_start(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    run, step = _step_of(request, pk, number)
    try:
        result = services.start_step(
            run,
            step,
            request.user,  # type: ignore[arg-type]
            anyway=request.POST.get("reason", ""),
        )
    except services.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Step {step.number} attempt {result.attempt} started.")
    return _back(run, step)


@require_POST
@engineer_required
def step_finish(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    run, step = _step_of(request, pk, number)
    result = services.running_result(run)
    if result is None or result.step_id != step.pk:
        messages.error(request, f"Step {step.number} is not running.")
        return _back(run, step)
    try:
        result = services.finish_step(result)
    except services.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Step {step.number} finished: the judge proposes "
            f"{result.get_proposed_verdict_display() or 'nothing'}.",
        )
    return _back(run, step)


@require_POST
@engineer_required
def step_skip(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    run, step = _step_of(request, pk, number)
    form = SkipForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the step does not apply.")
        return _back(run, step)
    try:
        services.skip_step(
            run,
            step,
            form.cleaned_data["reason"],
            request.user,  # type: ignore[arg-type]
            na_reason=form.cleaned_data["na_reason"],
        )
    except services.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Step {step.number} recorded as N/A.")
    return _back(run, step)


@require_POST
@engineer_required
def step_decide(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    run, step = _step_of(request, pk, number)
    result = run.results.filter(step=step).order_by("-attempt").first()
    form = DecisionForm(request.POST)
    if result is None:
        messages.error(request, f"Step {step.number} has not been run yet.")
    elif not form.is_valid():
        messages.error(request, "Choose a verdict: Y, N or N/A.")
    else:
        try:
            services.decide_step(
                result,
                verdict=form.cleaned_data["verdict"],
                remarks=form.cleaned_data["remarks"],
                minor_issue=form.cleaned_data["minor_issue"],
                user=request.user,  # type: ignore[arg-type]
                na_reason=form.cleaned_data["na_reason"],
            )
        except services.WorkflowError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Verdict of step {step.number} saved.")
    return _back(run, step)


@require_POST
@engineer_required
def run_command(request: HttpRequest, pk: int) -> JsonResponse:
    """Send a command to the run's charger from the console (fetch, JSON in and out)."""
    run = get_object_or_404(runs_for(request.user), pk=pk)
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        return JsonResponse({"error": "The request body is not JSON."}, status=400)
    try:
        command = services.send_run_command(
            run,
            body.get("action", ""),
            body.get("payload", {}),
            user=request.user,  # type: ignore[arg-type]
            origin=Command.Origin.CONSOLE,
            deliberately_invalid=bool(body.get("deliberately_invalid")),
        )
    except services.CommandRefused as error:
        return JsonResponse({"error": str(error)}, status=409)
    except charger_services.CommandPayloadError as error:
        return JsonResponse({"error": str(error)}, status=400)
    if command.status == Command.Status.NOT_CONNECTED:
        # Not an answer of the charger: the command never left the portal.
        return JsonResponse(
            {"error": command.error, "id": command.pk, "status": command.status}, status=409
        )
    return JsonResponse(
        {
            "id": command.pk,
            "action": command.action,
            "status": command.status,
            "status_display": command.get_status_display(),
            "response": command.response,
            "error": command.error,
            "round_trip_ms": command.round_trip_ms,
        }
    )


# --- Plans ---------------------------------------------------------------------------------


class PlanListView(EngineerRequiredMixin, CatalogListView):
    table_class = tables.PlanTable
    title = "Test plans"
    filterset_class = filters.PlanFilter
    create_url_name = "certification:plan-import"
    extra_context = {"create_label": "Import a plan"}

    def get_queryset(self) -> QuerySet[TestPlan]:
        return TestPlan.objects.annotate(
            step_count=Count("steps", distinct=True), run_count=Count("runs", distinct=True)
        ).order_by("name", "-version")


@require_safe
@engineer_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(TestPlan, pk=pk)
    return render(
        request,
        "certification/plan_detail.html",
        {
            "plan": plan,
            "steps": plan.steps.all(),
            "in_use": plan.is_in_use(),
            "editable": plan.is_editable(),
        },
    )


@require_POST
@engineer_required
def plan_publish(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(TestPlan, pk=pk)
    try:
        services.publish_plan(plan, request.user)  # type: ignore[arg-type]
    except services.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{plan} published: new runs can use it.")
    return redirect(plan)


@require_safe
@engineer_required
def plan_export(request: HttpRequest, pk: int) -> JsonResponse:
    """The plan version as JSON (plan_data.FORMAT), to share with another lab."""
    plan = get_object_or_404(TestPlan, pk=pk)
    response = JsonResponse(plan_data.export_plan(plan), json_dumps_params={"indent": 2})
    slug = "".join(c if c.isalnum() else "-" for c in plan.name.lower()).strip("-")
    response["Content-Disposition"] = f'attachment; filename="{slug}-v{plan.version}.json"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@engineer_required
def plan_import(request: HttpRequest) -> HttpResponse:
    """Upload a plan's JSON: it becomes a new draft version, or nothing with the reason."""
    form = PlanImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["document"]
        try:
            document = json.loads(upload.read(plan_data.MAX_DOCUMENT_BYTES + 1))
            if upload.size > plan_data.MAX_DOCUMENT_BYTES:
                raise plan_data.PlanDataError("The file is larger than 2 MiB.")
            plan = services.import_plan(document, request.user)  # type: ignore[arg-type]
        except (json.JSONDecodeError, UnicodeDecodeError):
            form.add_error("document", "The file is not JSON.")
        except plan_data.PlanDataError as error:
            form.add_error("document", str(error))
        else:
            messages.success(request, f"{plan} imported as a draft: review it, then publish it.")
            return redirect(plan)
    return render(
        request,
        "chargers/form.html",
        {"form": form, "title": "Import a plan", "multipart": True},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@engineer_required
def plan_copy(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(TestPlan, pk=pk)
    copy = services.copy_plan(plan, request.user)  # type: ignore[arg-type]
    messages.success(request, f"{copy} created from {plan}: edit its steps here.")
    return redirect(copy)


@engineer_required
def step_edit(request: HttpRequest, pk: int, number: int | None = None) -> HttpResponse:
    plan = get_object_or_404(TestPlan, pk=pk)
    if not plan.is_editable():
        messages.error(
            request, f"{plan} is published or used by runs: copy it into a new version to edit."
        )
        return redirect(plan)
    step = get_object_or_404(plan.steps, number=number) if number is not None else None
    form = StepForm(request.POST or None, instance=step or TestStep(plan=plan))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Step {form.instance.number} saved.")
        return redirect(plan)
    title = f"Edit step {step.number} of {plan}" if step else f"New step in {plan}"
    return render(
        request,
        "chargers/form.html",
        {"form": form, "title": title, "cancel_url": plan.get_absolute_url()},
        status=400 if request.method == "POST" else 200,
    )


# --- Review, publication and the published report -----------------------------------------


def _workflow(
    request: HttpRequest, pk: int, act: Callable[[TestRun, Any], object], done: str
) -> HttpResponse:
    run = get_object_or_404(runs_for(request.user), pk=pk)
    try:
        act(run, request.user)
    except services.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect(run)


@require_POST
@engineer_required
def run_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _workflow(request, pk, services.submit_for_review, "Run sent to review.")


@require_POST
@engineer_required
def run_return(request: HttpRequest, pk: int) -> HttpResponse:
    note = request.POST.get("note", "")
    return _workflow(
        request,
        pk,
        lambda run, user: services.return_for_changes(run, user, note),
        "Run sent back to the tester.",
    )


@require_POST
@engineer_required
def run_publish(request: HttpRequest, pk: int) -> HttpResponse:
    return _workflow(
        request,
        pk,
        lambda run, user: services.publish_run(run, user),
        "Run approved and published; its report is stored and can be downloaded.",
    )


@require_POST
@engineer_required
def run_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _workflow(
        request,
        pk,
        lambda run, user: services.reopen_run(run, user, reason),
        "Run reopened; the published report stays as it was.",
    )


@require_POST
@engineer_required
def run_archive(request: HttpRequest, pk: int) -> HttpResponse:
    return _workflow(request, pk, services.archive_run, "Run archived.")


def pdf_response(report: Report) -> FileResponse:
    response = FileResponse(
        report.pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=report.file_name(),
    )
    response["X-Report-Id"] = str(report.report_id)
    return response


@require_safe
@login_required
def report_pdf(
    request: HttpRequest, pk: int, revision: int | None = None
) -> HttpResponse | FileResponse:
    """The stored PDF of a published revision (the latest one by default): downloads never
    re-render, so what a manufacturer downloads is what was approved."""
    run = get_object_or_404(runs_for(request.user), pk=pk)
    reports = visible(Report.objects.filter(run=run), request.user)
    report = (
        get_object_or_404(reports, revision=revision)
        if revision is not None
        else reports.order_by("-revision").first()
    )
    if report is None:
        raise Http404("This run has no published report yet.")
    return pdf_response(report)


@require_safe
def verify_report(request: HttpRequest, report_id: str) -> HttpResponse:
    """Public: anyone holding a PDF checks that the portal issued it, and whether a newer
    revision replaced it."""
    report = get_object_or_404(Report.objects.select_related("run"), report_id=report_id)
    latest = Report.objects.filter(run=report.run_id).order_by("-revision").first()
    return render(
        request,
        "certification/verify.html",
        {"report": report, "superseded_by": latest if latest != report else None},
    )


@require_safe
@login_required
def firmware_comparison(request: HttpRequest, pk: int) -> HttpResponse:
    """Steps by firmware versions of one charger model, each version's latest published
    verdicts, with regressions (a pass that became a fail) highlighted."""
    charger_model = get_object_or_404(visible(ChargerModel.objects.all(), request.user), pk=pk)
    matrix = services.firmware_matrix(charger_model)
    return render(
        request,
        "certification/comparison.html",
        {"charger_model": charger_model, "matrix": matrix},
    )


# --- Unattended runs -------------------------------------------------------------------------


def _unattended_for(user: Any) -> QuerySet[UnattendedRun]:
    return visible(UnattendedRun.objects.all(), user).select_related(
        "run__plan", "run__charge_point", "run__firmware_version", "started_by"
    )


@login_required
def rehearsal_create(request: HttpRequest) -> HttpResponse:
    """A manufacturer user rehearses the certification on one of their charge points: the
    whole default plan, unattended, marked as a rehearsal and never published."""
    if not (can_edit(request.user) or getattr(request.user, "is_manufacturer_user", False)):
        raise PermissionDenied
    charge_points = visible(ChargePoint.objects.filter(enabled=True), request.user)
    form = UnattendedForm(request.POST or None, charge_points=charge_points)
    plan = services.default_plan()
    if request.method == "POST" and form.is_valid():
        if plan is None:
            messages.error(request, "The default plan is not installed.")
        else:
            charge_point = form.cleaned_data["charge_point"]
            try:
                with transaction.atomic():  # no rehearsal run left behind by a refusal
                    run = services.create_run(
                        charge_point=charge_point,
                        plan=plan,
                        tester=request.user,  # type: ignore[arg-type]
                        firmware_version=charge_point.firmware_version,
                        rehearsal=True,
                    )
                    played = unattended.start_unattended(
                        run,
                        request.user,  # type: ignore[arg-type]
                        strict=form.cleaned_data["strict"],
                        steps=form.cleaned_data["steps"] or None,
                    )
            except unattended.UnattendedError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, f"Rehearsal of {plan} on {charge_point} started.")
                return redirect("certification:unattended-detail", pk=played.pk)
    return render(
        request,
        "certification/rehearsal_form.html",
        {"form": form, "plan": plan, "rehearsals": _unattended_for(request.user)[:20]},
    )


@require_POST
@engineer_required
def run_unattended(request: HttpRequest, pk: int) -> HttpResponse:
    """An engineer plays the rest of the plan of a run unattended, from its console."""
    run = get_object_or_404(runs_for(request.user), pk=pk)
    try:
        played = unattended.start_unattended(
            run,
            request.user,  # type: ignore[arg-type]
            strict=bool(request.POST.get("strict")),
        )
    except unattended.UnattendedError as error:
        messages.error(request, str(error))
        return redirect(run)
    messages.success(request, f"Unattended run {played.pk} started.")
    return redirect(run)


@require_safe
@login_required
def unattended_detail(request: HttpRequest, pk: int) -> HttpResponse:
    played = get_object_or_404(_unattended_for(request.user), pk=pk)
    results = unattended.results(played)
    return render(
        request,
        "certification/unattended_detail.html",
        {
            "played": played,
            "results": results,
            "log": list(reversed(played.log[-30:])),
            "can_stop": played.is_active()
            and (can_edit(request.user) or played.run.tester_id == request.user.pk),
        },
    )


@require_POST
@login_required
def unattended_stop(request: HttpRequest, pk: int) -> HttpResponse:
    played = get_object_or_404(_unattended_for(request.user), pk=pk)
    if not (can_edit(request.user) or played.run.tester_id == request.user.pk):
        raise PermissionDenied
    unattended.request_stop(played)
    messages.success(request, "Stopping at the next operation; the running step is judged.")
    return redirect("certification:unattended-detail", pk=played.pk)
