"""Runs in the automation API: what a lab's script or a manufacturer's build pipeline uses
to drive a certification run and read its result."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from certification import plan_data, services
from certification import unattended as unattended_runs
from certification.models import (
    Report,
    StepResult,
    TestPlan,
    TestRun,
    TestStep,
    UnattendedRun,
    Verdict,
)
from certification.reports.junit import junit_xml
from certification.reports.worker import (
    ReportRenderError,
    preview_file_name,
    render_preview_in_worker,
)
from certification.views import pdf_response
from chargers import faults as charger_faults
from chargers import services as charger_services
from chargers.access import can_edit, visible
from chargers.api import EngineersOnly, EngineerWrites
from chargers.models import ChargePoint, Command, FirmwareVersion, Frame, InjectedFault


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class TestStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = TestStep
        fields = [
            "number",
            "profile",
            "title",
            "description",
            "manual_actions",
            "preconditions",
            "expected_sequence",
            "commands",
            "judge_rule",
            "judge_params",
            "mandatory",
            "na_reasons",
            "applies_when",
            "octt_ids",
            "spec_sections",
            "start_checks",
            "automation",
        ]


class TestPlanSerializer(serializers.ModelSerializer):
    steps = TestStepSerializer(many=True, read_only=True)

    class Meta:
        model = TestPlan
        fields = [
            "id",
            "name",
            "version",
            "status",
            "published_at",
            "ocpp_version",
            "description",
            "based_on",
            "steps",
        ]


class TestPlanViewSet(viewsets.ReadOnlyModelViewSet):
    """Plan versions. A lab shares a plan as JSON: ``export/`` gives it, ``import/`` makes a
    new draft version of it, ``publish/`` offers a draft to new runs."""

    serializer_class = TestPlanSerializer
    permission_classes = [permissions.IsAuthenticated, EngineersOnly]
    queryset = TestPlan.objects.prefetch_related("steps").order_by("name", "-version")

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str) -> Response:
        """The plan version as the JSON document another portal imports."""
        return Response(plan_data.export_plan(self.get_object()))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: TestPlanSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def import_plan(self, request: Request) -> Response:
        """A plan document (as ``export/`` gives it) becomes a new draft version."""
        try:
            plan = services.import_plan(request.data, request.user)
        except plan_data.PlanDataError as error:
            raise ValidationError({"document": str(error)}) from None
        return Response(TestPlanSerializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TestPlanSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        try:
            plan = services.publish_plan(self.get_object(), request.user)
        except services.WorkflowError as error:
            raise Conflict(str(error)) from None
        return Response(TestPlanSerializer(plan).data)


class StepResultSerializer(serializers.ModelSerializer):
    number = serializers.IntegerField(source="step.number", read_only=True)
    title = serializers.CharField(source="step.title", read_only=True)
    profile = serializers.CharField(source="step.profile", read_only=True)
    decided_by = serializers.StringRelatedField()

    class Meta:
        model = StepResult
        fields = [
            "id",
            "number",
            "title",
            "profile",
            "attempt",
            "started_at",
            "finished_at",
            "proposed_verdict",
            "findings",
            "measurements",
            "final_verdict",
            "remarks",
            "minor_issue",
            "na_reason",
            "skip_reason",
            "started_anyway",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields


NA_REASON_HELP = (
    "With N/A: the code of one of the step's N/A reasons in its plan (TestStep.na_reasons). "
    "A mandatory step N/A without one leaves the run Incomplete."
)


class StartSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Start although the step's preconditions do not hold: why (recorded).",
    )


class StepNotReadyConflict(Conflict):
    """409 with what is not ready and how to start anyway."""

    def __init__(self, error: services.StepNotReady) -> None:
        super().__init__(
            {
                "detail": str(error),
                "not_ready": error.not_ready,
                "start_anyway": 'POST again with {"reason": "..."}: the step starts and the '
                "reason is recorded with the attempt.",
            }
        )


class DecisionSerializer(serializers.Serializer):
    final_verdict = serializers.ChoiceField(choices=Verdict.choices)
    remarks = serializers.CharField(required=False, allow_blank=True, default="")
    minor_issue = serializers.BooleanField(required=False, default=False)
    na_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=64, help_text=NA_REASON_HELP
    )


class SkipSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    na_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=64, help_text=NA_REASON_HELP
    )


class CommandRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=charger_services.CSMS_ACTIONS)
    payload = serializers.DictField(default=dict)
    deliberately_invalid = serializers.BooleanField(default=False)


class CommandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Command
        fields = [
            "id",
            "action",
            "payload",
            "origin",
            "run",
            "step_result",
            "deliberately_invalid",
            "status",
            "unique_id",
            "response",
            "error",
            "round_trip_ms",
            "requested_at",
            "answered_at",
        ]


class FaultRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=InjectedFault.Kind.choices)
    action = serializers.ChoiceField(
        choices=charger_faults.CHARGER_ACTIONS, required=False, default=""
    )
    seconds = serializers.FloatField(required=False, allow_null=True, default=None)
    error_code = serializers.ChoiceField(
        choices=charger_faults.CALL_ERROR_CODES, required=False, default=""
    )
    boot_status = serializers.ChoiceField(
        choices=["Pending", "Rejected"], required=False, default=""
    )
    interval = serializers.IntegerField(required=False, allow_null=True, default=None)
    times = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)


class FaultSerializer(serializers.ModelSerializer):
    description = serializers.CharField(source="describe", read_only=True)
    ended_at = serializers.DateTimeField(source="end", read_only=True)
    step = serializers.IntegerField(source="step_result.step.number", default=None)

    class Meta:
        model = InjectedFault
        fields = [
            "id",
            "kind",
            "description",
            "action",
            "seconds",
            "error_code",
            "boot_status",
            "interval",
            "times",
            "applied",
            "started_at",
            "ends_at",
            "ended_at",
            "end_reason",
            "step",
        ]
        read_only_fields = fields


class FrameSerializer(serializers.ModelSerializer):
    step = serializers.IntegerField(source="step_result.step.number", default=None)
    attempt = serializers.IntegerField(source="step_result.attempt", default=None)

    class Meta:
        model = Frame
        fields = [
            "id",
            "connection",
            "seq",
            "captured_at",
            "direction",
            "message_type",
            "unique_id",
            "action",
            "raw",
            "payload",
            "validation_error",
            "deliberately_invalid",
            "step",
            "attempt",
        ]


class TestRunSerializer(serializers.ModelSerializer):
    firmware_version = serializers.PrimaryKeyRelatedField(queryset=FirmwareVersion.objects.all())
    tester = serializers.StringRelatedField()
    outcome = serializers.SerializerMethodField(
        help_text="pass, pass_minor, fail or incomplete (see the report's summary for why)."
    )

    class Meta:
        model = TestRun
        fields = [
            "id",
            "charger_model",
            "firmware_version",
            "charge_point",
            "plan",
            "declaration",
            "tester",
            "status",
            "outcome",
            "started_at",
            "finished_at",
            "notes",
            "created_at",
        ]
        read_only_fields = [
            "charger_model",
            "declaration",
            "status",
            "started_at",
            "finished_at",
            "created_at",
        ]

    def get_outcome(self, run: TestRun) -> str:
        return run.outcome().outcome.value

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        charge_point, firmware = data.get("charge_point"), data.get("firmware_version")
        if (
            charge_point
            and firmware
            and charge_point.charger_model_id
            and charge_point.charger_model_id != firmware.charger_model_id
        ):
            raise ValidationError(
                {"firmware_version": f"{firmware} is not firmware of {charge_point.charger_model}."}
            )
        return data

    def create(self, validated_data: dict[str, Any]) -> TestRun:
        try:
            return services.create_run(
                charge_point=validated_data["charge_point"],
                plan=validated_data["plan"],
                tester=self.context["request"].user,
                firmware_version=validated_data["firmware_version"],
                notes=validated_data.get("notes", ""),
            )
        except services.WorkflowError as error:
            raise ValidationError({"plan": str(error)}) from None


STEP = r"steps/(?P<number>\d+)"


class TestRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Runs, their steps, commands, evidence and report. Manufacturer users read their own
    published runs; everything else is for engineers."""

    serializer_class = TestRunSerializer
    permission_classes = [permissions.IsAuthenticated, EngineerWrites]
    filterset_fields = ["status", "charger_model", "firmware_version", "charge_point"]

    def get_queryset(self) -> QuerySet[TestRun]:
        return (
            visible(TestRun.objects.all(), self.request.user)
            .select_related(
                "charger_model__manufacturer", "firmware_version", "charge_point", "plan", "tester"
            )
            .order_by("-pk")
        )

    def _step(self, run: TestRun, number: str) -> TestStep:
        return get_object_or_404(run.plan.steps, number=int(number))

    def _latest(self, run: TestRun, step: TestStep) -> StepResult:
        result = run.results.filter(step=step).order_by("-attempt").first()
        if result is None:
            raise Conflict(f"Step {step.number} has not been run yet.")
        return result

    @extend_schema(request=StartSerializer, responses=StepResultSerializer)
    @action(detail=True, methods=["post"], url_path=f"{STEP}/start")
    def start(self, request: Request, pk: str, number: str) -> Response:
        """Start an attempt at the step (a repeat when it ran before). When a precondition
        the step checks does not hold (charger not connected, a connector busy, a
        transaction running) the answer is 409 listing them in `not_ready`; a `reason`
        starts the step anyway and is recorded with the attempt."""
        run = self.get_object()
        body = StartSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        try:
            result = services.start_step(
                run, self._step(run, number), request.user, anyway=body.validated_data["reason"]
            )
        except services.StepNotReady as error:
            raise StepNotReadyConflict(error) from None
        except services.WorkflowError as error:
            raise Conflict(str(error)) from None
        return Response(StepResultSerializer(result).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=StepResultSerializer)
    @action(detail=True, methods=["post"], url_path=f"{STEP}/finish")
    def finish(self, request: Request, pk: str, number: str) -> Response:
        """Finish the running attempt; the answer holds the judge's proposal and findings."""
        run = self.get_object()
        step = self._step(run, number)
        running = services.running_result(run)
        if running is None or running.step_id != step.pk:
            raise Conflict(f"Step {step.number} is not running.")
        try:
            result = services.finish_step(running)
        except services.WorkflowError as error:
            raise Conflict(str(error)) from None
        return Response(StepResultSerializer(result).data)

    @extend_schema(request=SkipSerializer, responses=StepResultSerializer)
    @action(detail=True, methods=["post"], url_path=f"{STEP}/skip")
    def skip(self, request: Request, pk: str, number: str) -> Response:
        """Record the step as N/A with the reason."""
        run = self.get_object()
        body = SkipSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = services.skip_step(
                run,
                self._step(run, number),
                body.validated_data["reason"],
                request.user,
                na_reason=body.validated_data["na_reason"],
            )
        except services.WorkflowError as error:
            raise Conflict(str(error)) from None
        return Response(StepResultSerializer(result).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], request=None, responses=StepResultSerializer)
    @extend_schema(methods=["PATCH"], request=DecisionSerializer, responses=StepResultSerializer)
    @action(detail=True, methods=["get", "patch"], url_path=STEP)
    def step(self, request: Request, pk: str, number: str) -> Response:
        """The step's latest attempt; PATCH sets the final verdict and remarks."""
        run = self.get_object()
        result = self._latest(run, self._step(run, number))
        if request.method == "GET":
            return Response(StepResultSerializer(result).data)
        if not can_edit(request.user):
            self.permission_denied(request)
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = services.decide_step(
                result,
                verdict=body.validated_data["final_verdict"],
                remarks=body.validated_data["remarks"],
                minor_issue=body.validated_data["minor_issue"],
                user=request.user,
                na_reason=body.validated_data["na_reason"],
            )
        except services.WorkflowError as error:
            raise Conflict(str(error)) from None
        return Response(StepResultSerializer(result).data)

    @extend_schema(
        request=CommandRequestSerializer,
        responses={200: CommandSerializer, 409: CommandSerializer},
        description=(
            "409 with the reason when the run is closed (in review, published, archived), "
            "when another run is under test on its charge point, or when the charger is not "
            "connected (then with the stored command)."
        ),
    )
    @action(detail=True, methods=["post"])
    def commands(self, request: Request, pk: str) -> Response:
        """Send a CSMS-initiated call to the run's charger and wait for its answer."""
        run = self.get_object()
        body = CommandRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            command = services.send_run_command(
                run,
                body.validated_data["action"],
                body.validated_data["payload"],
                user=request.user,
                origin=Command.Origin.API,
                deliberately_invalid=body.validated_data["deliberately_invalid"],
            )
        except services.CommandRefused as error:
            raise Conflict(str(error)) from None
        except charger_services.CommandPayloadError as error:
            raise ValidationError({"payload": [str(error)]}) from None
        data = CommandSerializer(command).data
        if command.status == Command.Status.NOT_CONNECTED:
            # The command never reached a charger: not a success of any kind.
            return Response({"detail": command.error, **data}, status=status.HTTP_409_CONFLICT)
        return Response(data)

    @extend_schema(
        methods=["post"],
        request=FaultRequestSerializer,
        responses={
            201: FaultSerializer,
            503: OpenApiResponse(
                description="The charger is connected but no worker holding its socket "
                "confirmed the fault within OCPP_FAULT_ACK_TIMEOUT: it was ended, not applied."
            ),
        },
    )
    @extend_schema(methods=["get"], request=None, responses=FaultSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def faults(self, request: Request, pk: str) -> Response:
        """The faults injected into the run's charger (GET), or inject one now (POST): close
        the connection and refuse reconnects for ``seconds``, delay or withhold the answers
        to ``action``, answer ``action`` with CALLERROR ``error_code``, or answer
        BootNotification ``boot_status`` with ``interval``; ``times`` answers, or until the
        step finishes. A fault belongs to the step running when it starts.

        The answer (201) comes once the fault is in force: while the charger is connected,
        after the worker holding its socket confirmed it, so the charger's next frame meets
        it; 503 when no worker confirmed it in time (the fault is then ended)."""
        run = self.get_object()
        if request.method == "GET":
            faults = InjectedFault.objects.filter(
                Q(run=run) | Q(charge_point=run.charge_point, ended_at__isnull=True)
            ).select_related("step_result__step")
            return Response(FaultSerializer(faults.order_by("started_at", "pk"), many=True).data)
        body = FaultRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            fault = charger_services.inject_fault(
                run.charge_point, **body.validated_data, created_by_id=request.user.pk
            )
        except charger_services.FaultNotAcknowledged as error:
            return Response({"detail": str(error)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        except charger_services.FaultError as error:
            raise ValidationError({"detail": str(error)}) from None
        return Response(FaultSerializer(fault).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=FaultSerializer)
    @action(detail=True, methods=["post"], url_path=r"faults/(?P<fault_id>\d+)/end")
    def end_fault(self, request: Request, pk: str, fault_id: str) -> Response:
        """End an injected fault now (a refusal window closes early)."""
        run = self.get_object()
        fault = get_object_or_404(InjectedFault, pk=int(fault_id), charge_point=run.charge_point)
        return Response(FaultSerializer(charger_services.end_fault(fault)).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("step", int, description="Only the frames of this step number"),
            OpenApiParameter("attempt", int, description="With step: only this attempt"),
        ],
        responses=FrameSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def evidence(self, request: Request, pk: str) -> Response:
        """Every frame of the run in capture order, paginated."""
        run = self.get_object()
        frames = Frame.objects.filter(run=run).select_related("step_result__step")
        step = request.query_params.get("step", "")
        if step.isdigit():
            frames = frames.filter(step_result__step__number=int(step))
            attempt = request.query_params.get("attempt", "")
            if attempt.isdigit():
                frames = frames.filter(step_result__attempt=int(attempt))
        frames = frames.order_by("captured_at", "seq")
        page = self.paginate_queryset(frames)
        return self.get_paginated_response(FrameSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        description=(
            "The report PDF: the stored latest revision of a published run (what was "
            "approved, byte for byte); for engineers, a DRAFT preview of a run not yet "
            "published, rendered now."
        ),
    )
    def report_pdf(self, request: Request, pk: str) -> HttpResponseBase:
        """Routed in config/urls.py at /api/runs/{id}/report.pdf (a file's address has no
        trailing slash, which the router would add)."""
        run = self.get_object()
        report = visible(Report.objects.filter(run=run), request.user).order_by("-revision").first()
        if report is not None:
            return pdf_response(report)
        if not can_edit(request.user):
            raise NotFound("This run has no published report yet.")
        try:
            pdf = render_preview_in_worker(run.pk)
        except ReportRenderError as error:
            raise APIException(f"The report could not be rendered: {error}") from None
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{preview_file_name(run.pk)}"'
        return response

    @extend_schema(request=None, responses=dict)
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str) -> Response:
        """The whole result: run header, the charger's BootNotification, every step's latest
        attempt with verdicts and findings, and the summary."""
        run = self.get_object()
        return Response(services.run_report(run))


# --- Unattended runs ---------------------------------------------------------------------------


class UnattendedRunRequestSerializer(serializers.Serializer):
    """Either an existing ``run``, or a charge point (``charge_point`` id or
    ``charge_point_id`` identity) for a new run; its registered firmware and the newest
    default plan unless given."""

    run = serializers.IntegerField(required=False)
    charge_point = serializers.IntegerField(required=False)
    charge_point_id = serializers.CharField(required=False, max_length=48)
    firmware_version = serializers.IntegerField(required=False)
    plan = serializers.IntegerField(required=False)
    strict = serializers.BooleanField(default=False)
    steps = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list
    )
    rehearsal = serializers.BooleanField(
        default=False, help_text="Always true for a manufacturer user."
    )


class UnattendedRunSerializer(serializers.ModelSerializer):
    rehearsal = serializers.BooleanField(source="run.rehearsal", read_only=True)
    started_by = serializers.StringRelatedField()

    class Meta:
        model = UnattendedRun
        fields = [
            "id",
            "run",
            "rehearsal",
            "strict",
            "steps",
            "status",
            "current_step",
            "started_by",
            "created_at",
            "started_at",
            "finished_at",
            "stop_requested_at",
            "error",
            "outcomes",
            "log",
        ]
        read_only_fields = fields


class UnattendedRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Whole plans played without a person (certification.unattended). Engineers start
    them on any run; a manufacturer user starts rehearsals on their own charge points,
    which are never published as certification. Results as JSON and JUnit XML."""

    serializer_class = UnattendedRunSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["status", "run"]

    def get_queryset(self) -> QuerySet[UnattendedRun]:
        return visible(UnattendedRun.objects.all(), self.request.user).select_related(
            "run__plan", "run__charge_point", "run__firmware_version", "started_by"
        )

    @extend_schema(request=UnattendedRunRequestSerializer, responses={201: UnattendedRunSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Play a whole plan (or ``steps``) on a charge point now, in one call: the answer
        comes at once; follow ``status`` and ``current_step``, then read ``results/`` or
        ``junit.xml``."""
        body = UnattendedRunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = request.user
        engineer = can_edit(user)
        if not engineer and not getattr(user, "is_manufacturer_user", False):
            self.permission_denied(request)
        try:
            with transaction.atomic():  # a refused start leaves no new run behind
                if data.get("run") is not None:
                    run = get_object_or_404(visible(TestRun.objects.all(), user), pk=data["run"])
                    if not engineer and not (run.rehearsal and run.tester_id == user.pk):
                        self.permission_denied(
                            request, "Manufacturer users play their own rehearsals."
                        )
                else:
                    run = self._new_run(request, data, rehearsal=data["rehearsal"] or not engineer)
                unattended = unattended_runs.start_unattended(
                    run, user, strict=data["strict"], steps=data["steps"] or None
                )
        except unattended_runs.UnattendedError as error:
            raise Conflict(str(error)) from None
        return Response(UnattendedRunSerializer(unattended).data, status=status.HTTP_201_CREATED)

    def _new_run(self, request: Request, data: dict[str, Any], *, rehearsal: bool) -> TestRun:
        charge_points = visible(ChargePoint.objects.filter(enabled=True), request.user)
        if data.get("charge_point") is not None:
            charge_point = charge_points.filter(pk=data["charge_point"]).first()
        elif data.get("charge_point_id"):
            charge_point = charge_points.filter(charge_point_id=data["charge_point_id"]).first()
        else:
            raise ValidationError({"charge_point": ["Give a run, or a charge point to test."]})
        if charge_point is None:
            raise NotFound("No such charge point.")
        firmware = charge_point.firmware_version
        if data.get("firmware_version") is not None:
            firmware = (
                visible(FirmwareVersion.objects.all(), request.user)
                .filter(pk=data["firmware_version"])
                .first()
            )
        if firmware is None:
            raise ValidationError({"firmware_version": ["Say which firmware is under test."]})
        if (
            charge_point.charger_model_id
            and firmware.charger_model_id != charge_point.charger_model_id
        ):
            raise ValidationError(
                {
                    "firmware_version": [
                        f"{firmware} is not firmware of {charge_point.charger_model}."
                    ]
                }
            )
        plan = (
            TestPlan.objects.filter(pk=data["plan"]).first()
            if data.get("plan") is not None
            else services.default_plan()
        )
        if plan is None:
            raise ValidationError({"plan": ["No such plan."]})
        return services.create_run(
            charge_point=charge_point,
            plan=plan,
            tester=request.user,
            firmware_version=firmware,
            rehearsal=rehearsal,
        )

    @extend_schema(request=None, responses=UnattendedRunSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str) -> Response:
        """Stop at the next operation; the running step is finished and judged."""
        unattended = self.get_object()
        if not can_edit(request.user) and unattended.run.tester_id != request.user.pk:
            self.permission_denied(request)
        return Response(UnattendedRunSerializer(unattended_runs.request_stop(unattended)).data)

    @extend_schema(request=None, responses=dict)
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str) -> Response:
        """Every step of the plan with its outcome (passed, failed, not_applicable,
        undecided, not_run), the judge's findings and measurements and the cited frames."""
        return Response(unattended_runs.results(self.get_object()))

    @extend_schema(request=None, responses={(200, "application/xml"): OpenApiTypes.BINARY})
    def junit(self, request: Request, pk: str) -> HttpResponse:
        """Routed in config/urls.py at /api/unattended-runs/{id}/junit.xml: one testcase per
        step, the judge's findings as failure messages, the cited frames as system-out."""
        unattended = self.get_object()
        response = HttpResponse(
            junit_xml(unattended_runs.results(unattended)), content_type="application/xml"
        )
        response["Content-Disposition"] = f'inline; filename="unattended-{unattended.pk}.xml"'
        return response
