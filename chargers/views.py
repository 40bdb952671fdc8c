"""Pages of the catalog: manufacturers, charger models and their firmware versions.

Every queryset goes through ``access.visible`` so that a manufacturer user never reaches
another manufacturer's rows (they get a 404, not a hint that the row exists).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, user_passes_test
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet
from django.forms import ModelForm
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.generic import CreateView, DetailView, UpdateView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2.export import ExportMixin

from chargers import api_tokens as api_tokens_module
from chargers import filters, runs, security, services, tables, transfers
from chargers.access import can_declare, can_edit, visible
from chargers.exports import PortalTableExport
from chargers.forms import (
    ChargePointCreateForm,
    ChargePointSettingsForm,
    ChargerModelForm,
    CommandForm,
    DeclarationForm,
    FirmwareVersionForm,
    IdTagForm,
    ManufacturerForm,
)
from chargers.models import (
    CapabilityDeclaration,
    ChargePoint,
    ChargerModel,
    Command,
    Connection,
    ConnectionEvent,
    FirmwareVersion,
    Frame,
    Manufacturer,
    TlsFault,
    Transfer,
    TransferLocation,
)


def engineer_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Function views for engineers: anonymous users log in, others get 403."""

    def check(user: Any) -> bool:
        if user.is_authenticated and not can_edit(user):
            raise PermissionDenied
        return bool(user.is_authenticated)

    return user_passes_test(check)(view)


class EngineerRequiredMixin(LoginRequiredMixin, UserPassesTestMixin):
    """Changing the catalog is for engineers and administrators; others get 403."""

    def test_func(self) -> bool:
        return can_edit(self.request.user)  # type: ignore[attr-defined]


class CatalogListView(LoginRequiredMixin, ExportMixin, SingleTableMixin, FilterView):
    """A filtered, sortable, paginated table that also exports CSV and XLSX."""

    http_method_names = ["get", "head"]
    template_name = "chargers/catalog_list.html"
    table_pagination = {"per_page": 25}
    title = ""
    create_url_name = ""
    export_formats = ("csv", "xlsx")
    export_class = PortalTableExport

    def get_export_filename(self, export_format: str) -> str:
        return f"{self.title.lower().replace(' ', '-')}.{export_format}"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        context["create_url_name"] = self.create_url_name if can_edit(self.request.user) else ""
        return context


class ManufacturerListView(CatalogListView):
    table_class = tables.ManufacturerTable
    filterset_class = filters.ManufacturerFilter
    title = "Manufacturers"
    create_url_name = "chargers:manufacturer-create"

    def get_queryset(self) -> QuerySet[Manufacturer]:
        return (
            visible(Manufacturer.objects.all(), self.request.user)
            .annotate(model_count=Count("charger_models"))
            .order_by("name")
        )


class ChargerModelListView(CatalogListView):
    table_class = tables.ChargerModelTable
    filterset_class = filters.ChargerModelFilter
    title = "Charger models"
    create_url_name = "chargers:model-create"

    def get_queryset(self) -> QuerySet[ChargerModel]:
        return (
            visible(ChargerModel.objects.all(), self.request.user)
            .select_related("manufacturer")
            .annotate(firmware_count=Count("firmware_versions"))
            .order_by("manufacturer__name", "name")
        )

    def get_filterset(self, filterset_class: Any) -> Any:
        filterset = super().get_filterset(filterset_class)
        # Offer only the manufacturers this user may see in the filter's drop-down.
        filterset.form.fields["manufacturer"].queryset = visible(
            Manufacturer.objects.all(), self.request.user
        )
        return filterset


class FirmwareVersionListView(CatalogListView):
    table_class = tables.FirmwareVersionTable
    filterset_class = filters.FirmwareVersionFilter
    title = "Firmware versions"

    def get_queryset(self) -> QuerySet[FirmwareVersion]:
        return visible(FirmwareVersion.objects.all(), self.request.user).select_related(
            "charger_model__manufacturer"
        )


class ManufacturerDetailView(LoginRequiredMixin, DetailView):
    http_method_names = ["get", "head"]
    template_name = "chargers/manufacturer_detail.html"
    context_object_name = "manufacturer"

    def get_queryset(self) -> QuerySet[Manufacturer]:
        return visible(Manufacturer.objects.all(), self.request.user)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        models_qs = (
            visible(ChargerModel.objects.all(), self.request.user)
            .filter(manufacturer=self.object)
            .select_related("manufacturer")
            .annotate(firmware_count=Count("firmware_versions"))
            .order_by("name")
        )
        table = tables.ChargerModelTable(models_qs, exclude=("manufacturer",))
        RequestConfig(self.request, paginate={"per_page": 25}).configure(table)
        context["models_table"] = table
        context["can_edit"] = can_edit(self.request.user)
        return context


class ChargerModelDetailView(LoginRequiredMixin, DetailView):
    http_method_names = ["get", "head"]
    template_name = "chargers/chargermodel_detail.html"
    context_object_name = "charger_model"

    def get_queryset(self) -> QuerySet[ChargerModel]:
        return visible(ChargerModel.objects.all(), self.request.user).select_related("manufacturer")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        editable = can_edit(self.request.user)
        table = tables.ModelFirmwareTable(
            self.object.firmware_versions.all(), exclude=() if editable else ("edit",)
        )
        RequestConfig(self.request, paginate={"per_page": 25}).configure(table)
        context["firmware_table"] = table
        context["can_edit"] = editable
        versions = self.object.firmware_versions.prefetch_related("images")
        context["images_by_version"] = [(v, list(v.images.all())) for v in versions]
        declarations = _declarations(self.request.user).filter(
            firmware_version__charger_model=self.object
        )
        context["declarations_by_version"] = [
            (v, [d for d in declarations if d.firmware_version_id == v.pk])
            for v in self.object.firmware_versions.all()
        ]
        context["can_declare"] = can_declare(self.request.user)
        context["ca_certificates"] = self.object.ca_certificates.select_related("uploaded_by")
        return context


class CatalogFormMixin(EngineerRequiredMixin, SuccessMessageMixin):
    """The catalog's create and edit forms: one template, a title naming the row."""

    template_name: str | None = "chargers/form.html"
    new_title = ""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        row = getattr(self, "object", None)
        context["title"] = f"Edit {row}" if row is not None else self.new_title
        return context


class ManufacturerCreateView(CatalogFormMixin, CreateView):
    model = Manufacturer
    form_class = ManufacturerForm
    new_title = "New manufacturer"
    success_message = "Manufacturer %(name)s created."


class ManufacturerUpdateView(CatalogFormMixin, UpdateView):
    model = Manufacturer
    form_class = ManufacturerForm
    success_message = "Manufacturer %(name)s saved."


class ChargerModelCreateView(CatalogFormMixin, CreateView):
    model = ChargerModel
    form_class = ChargerModelForm
    new_title = "New charger model"

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        manufacturer = self.request.GET.get("manufacturer", "")
        if manufacturer.isdigit():
            initial["manufacturer"] = int(manufacturer)
        return initial

    def get_success_message(self, cleaned_data: dict[str, Any]) -> str:
        return f"Charger model {self.object} created."


class ChargerModelUpdateView(CatalogFormMixin, UpdateView):
    model = ChargerModel
    form_class = ChargerModelForm

    def get_success_message(self, cleaned_data: dict[str, Any]) -> str:
        return f"Charger model {self.object} saved."


class FirmwareVersionFormMixin(EngineerRequiredMixin):
    def get_charger_model(self) -> ChargerModel:
        raise NotImplementedError  # each view says where its charger model comes from

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_form_kwargs()  # type: ignore[misc]
        kwargs["charger_model"] = self.get_charger_model()
        return kwargs

    def get_success_url(self) -> str:
        return self.get_charger_model().get_absolute_url()

    def form_valid(self, form: ModelForm) -> HttpResponse:
        messages.success(
            self.request,  # type: ignore[attr-defined]
            f"Firmware {form.instance.version} saved for {self.get_charger_model()}.",
        )
        return super().form_valid(form)  # type: ignore[misc]


class FirmwareVersionCreateView(FirmwareVersionFormMixin, CreateView):
    model = FirmwareVersion
    form_class = FirmwareVersionForm
    template_name = "chargers/form.html"

    @cached_property
    def charger_model(self) -> ChargerModel:
        return get_object_or_404(
            visible(ChargerModel.objects.all(), self.request.user), pk=self.kwargs["model_pk"]
        )

    def get_charger_model(self) -> ChargerModel:
        return self.charger_model

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = f"New firmware version of {self.charger_model}"
        context["cancel_url"] = self.charger_model.get_absolute_url()
        return context


class FirmwareVersionUpdateView(FirmwareVersionFormMixin, UpdateView):
    model = FirmwareVersion
    form_class = FirmwareVersionForm
    template_name = "chargers/form.html"

    def get_queryset(self) -> QuerySet[FirmwareVersion]:
        return visible(FirmwareVersion.objects.all(), self.request.user).select_related(
            "charger_model__manufacturer"
        )

    def get_charger_model(self) -> ChargerModel:
        return self.object.charger_model

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = f"Edit firmware {self.object.version} of {self.object.charger_model}"
        context["cancel_url"] = self.object.charger_model.get_absolute_url()
        return context


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The first page after login: what this user can reach, at a glance."""
    user = request.user
    charger_models = (
        visible(ChargerModel.objects.all(), user)
        .select_related("manufacturer")
        .annotate(firmware_count=Count("firmware_versions"))
        .order_by("-updated_at")
    )
    # Run data reaches the catalog's pages only through the seam (chargers/runs.py).
    overview = runs.overview(user)
    context = {
        "published_reports": overview.published_reports,
        "open_runs": overview.open_runs,
        "manufacturer_count": visible(Manufacturer.objects.all(), user).count(),
        "model_count": charger_models.count(),
        "firmware_count": visible(FirmwareVersion.objects.all(), user).count(),
        "recent_models": charger_models[:8],
        "can_edit": can_edit(user),
    }
    return render(request, "home.html", context)


# --- Charge point identities and the central system (engineers only) -----------------------


def _charge_points(user: Any) -> QuerySet[ChargePoint]:
    open_connection = Connection.objects.filter(charge_point=OuterRef("pk"), closed_at__isnull=True)
    return (
        visible(ChargePoint.objects.all(), user)
        .select_related("charger_model__manufacturer", "firmware_version")
        .annotate(connected=Exists(open_connection))
    )


class ChargePointListView(EngineerRequiredMixin, CatalogListView):
    table_class = tables.ChargePointTable
    filterset_class = filters.ChargePointFilter
    title = "Charge points"
    create_url_name = "chargers:chargepoint-create"

    def get_queryset(self) -> QuerySet[ChargePoint]:
        return _charge_points(self.request.user).order_by("charge_point_id")


class ConnectionEventListView(EngineerRequiredMixin, CatalogListView):
    table_class = tables.ConnectionEventTable
    filterset_class = filters.ConnectionEventFilter
    title = "Connection events"
    table_pagination = {"per_page": 50}

    def get_queryset(self) -> QuerySet[ConnectionEvent]:
        # Refused attempts of unknown identities belong to no charge point: engineers see all.
        return ConnectionEvent.objects.order_by("-at", "-pk")


class ChargePointCreateView(EngineerRequiredMixin, CreateView):
    model = ChargePoint
    form_class = ChargePointCreateForm
    template_name = "chargers/form.html"
    extra_context = {"title": "New charge point identity"}

    def form_valid(self, form: ModelForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            charge_point, key = services.create_charge_point(
                data["charge_point_id"],
                authorization_key=data.get("authorization_key") or None,
                no_auth=data.get("no_auth", False),
                charger_model=data.get("charger_model"),
                firmware_version=data.get("firmware_version"),
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        if key:
            self.request.session[f"new-key-{charge_point.pk}"] = key
        messages.success(self.request, f"Charge point {charge_point} created.")
        return redirect(charge_point)


@require_safe
@engineer_required
def chargepoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    charge_point = get_object_or_404(_charge_points(request.user), pk=pk)
    return render_chargepoint(request, charge_point)


def render_chargepoint(
    request: HttpRequest,
    charge_point: ChargePoint,
    *,
    settings_form: ChargePointSettingsForm | None = None,
    id_tag_form: IdTagForm | None = None,
    command_form: CommandForm | None = None,
    status: int = 200,
) -> HttpResponse:
    commands = tables.CommandTable(
        charge_point.commands.select_related("requested_by")[:15], orderable=False
    )
    events = tables.ConnectionEventTable(
        charge_point.events.all()[:15], orderable=False, exclude=("charge_point_identity",)
    )
    context = {
        "charge_point": charge_point,
        "new_key": request.session.pop(f"new-key-{charge_point.pk}", None),
        "connectors": charge_point.connectors.select_related("current_transaction"),
        "transactions": charge_point.transactions.all()[:10],
        "id_tags": charge_point.id_tags.all(),
        "settings_form": settings_form or ChargePointSettingsForm(instance=charge_point),
        "id_tag_form": id_tag_form or IdTagForm(charge_point=charge_point),
        "command_form": command_form or CommandForm(initial=_last_command(request, charge_point)),
        "command_examples": services.COMMAND_EXAMPLES,
        "commands_table": commands,
        "events_table": events,
        "frame_count": charge_point.frames.count(),
        "security_profiles": ChargePoint.SecurityProfile.choices,
        "tls_faults": TlsFault.Kind.choices,
        "security_events": security.security_events(charge_point)[:20],
    }
    return render(request, "chargers/chargepoint_detail.html", context, status=status)


@require_POST
@engineer_required
def chargepoint_settings(request: HttpRequest, pk: int) -> HttpResponse:
    charge_point = get_object_or_404(_charge_points(request.user), pk=pk)
    form = ChargePointSettingsForm(request.POST, instance=charge_point)
    if not form.is_valid():
        return render_chargepoint(request, charge_point, settings_form=form, status=400)
    form.save()
    messages.success(request, "Central system answers saved; they apply to the next frames.")
    return redirect(charge_point)


@require_POST
@engineer_required
def chargepoint_rotate_key(request: HttpRequest, pk: int) -> HttpResponse:
    charge_point = get_object_or_404(_charge_points(request.user), pk=pk)
    key = services.rotate_authorization_key(charge_point)
    request.session[f"new-key-{charge_point.pk}"] = key
    messages.success(request, "New AuthorizationKey set; the old one no longer connects.")
    return redirect(charge_point)


@require_POST
@engineer_required
def chargepoint_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    charge_point = get_object_or_404(_charge_points(request.user), pk=pk)
    services.set_enabled(charge_point, not charge_point.enabled)
    state = "enabled" if charge_point.enabled else "disabled: its connection was closed"
    messages.success(request, f"{charge_point} {state}.")
    return redirect(charge_point)


@require_safe
@engineer_required
def lab_root_certificate(request: HttpRequest) -> HttpResponse:
    """The lab root CA (PEM), to install on chargers of security profiles 2 and 3."""
    response = HttpResponse(security.lab_root_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="ocpp-portal-lab-root.pem"'
    return response


@require_POST
@engineer_required
def chargermodel_ca_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Trust a manufacturer's CA for the model's security profile 3 client certificates,
    pasted as PEM or uploaded as a PEM file."""
    charger_model = get_object_or_404(visible(ChargerModel.objects.all(), request.user), pk=pk)
    pem = request.POST.get("certificate_pem", "").strip()
    upload = request.FILES.get("certificate_file")
    if not pem and upload is not None:
        if upload.size is not None and upload.size > 64 * 1024:
            messages.error(request, "That file is over 64 KiB: a CA certificate in PEM is smaller.")
            return redirect(f"{charger_model.get_absolute_url()}#ca-certificates")
        pem = upload.read().decode("ascii", errors="replace").strip()
    if not pem:
        messages.error(request, "Paste the CA certificate in PEM, or choose its PEM file.")
    else:
        try:
            ca = security.add_manufacturer_ca(charger_model, pem, uploaded_by=request.user)
        except (ValueError, ValidationError) as error:
            reason = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            messages.error(request, f"The certificate was not added: {reason}.")
        else:
            messages.success(request, f"Certificates signed by {ca.subject} are now trusted.")
    return redirect(f"{charger_model.get_absolute_url()}#ca-certificates")


@require_POST
@engineer_required
def chargepoint_security(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the security profile the portal demands, or arm a TLS fault (TC_078)."""
    charge_point = get_object_or_404(_charge_points(request.user), pk=pk)
    try:
        if "tls_fault" in request.POST:
            kind = request.POST["tls_fault"]
            if kind not in TlsFault.Kind.values:
                raise ValidationError(f"Unknown TLS fault {kind!r}.")
            security.arm_tls_fault(charge_point, kind, armed_by=request.user)
            messages.success(
                request,
                f"The next TLS handshake gets: {TlsFault.Kind(kind).label}. Make the charger "
                "reconnect.",
            )
        else:
            profile = request.POST.get("security_profile", "")
            if not profile.isdigit() or int(profile) not in ChargePoint.SecurityProfile.values:
                raise ValidationError(f"Unknown security profile {profile!r}.")
            security.set_security_profile(charge_point, int(profile))
            messages.success(request, f"{charge_point} must connect with profile {profile}.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(charge_point)


@require_POST
@engineer_required
def idtag_add(request: HttpRequest, pk: int) -> HttpResponse:
    charge_point = get_object_or_404(_charge_points(request.user), pk=pk)
    form = IdTagForm(request.POST, charge_point=charge_point)
    if not form.is_valid():
        return render_chargepoint(request, charge_point, id_tag_form=form, status=400)
    form.save()
    messages.success(request, f"idTag {form.instance.id_tag} is {form.instance.status}.")
    return redirect(charge_point)


@require_POST
@engineer_required
def idtag_delete(request: HttpRequest, pk: int, tag_pk: int) -> HttpResponse:
    charge_point = get_object_or_404(_charge_points(request.user), pk=pk)
    tag = get_object_or_404(charge_point.id_tags, pk=tag_pk)
    tag.delete()
    messages.success(request, f"idTag {tag.id_tag} removed: it is Invalid from now on.")
    return redirect(charge_point)


def _last_command(request: HttpRequest, charge_point: ChargePoint) -> dict[str, str]:
    """The form starts from the last action sent to this charge point from this session,
    else from a command that changes nothing (never a reset)."""
    last = request.session.get(f"last-command-{charge_point.pk}")
    if isinstance(last, dict) and last.get("action") in services.CSMS_ACTIONS:
        return {"action": last["action"], "payload": str(last.get("payload", "{}"))}
    return {"action": "GetConfiguration", "payload": "{}"}


@require_POST
@engineer_required
def command_send(request: HttpRequest, pk: int) -> HttpResponse:
    charge_point = get_object_or_404(_charge_points(request.user), pk=pk)
    form = CommandForm(request.POST)
    if not form.is_valid():
        return render_chargepoint(request, charge_point, command_form=form, status=400)
    command = services.send_command(
        charge_point,
        form.cleaned_data["action"],
        form.cleaned_data["payload"],
        requested_by_id=request.user.pk,
        deliberately_invalid=form.cleaned_data["deliberately_invalid"],
        origin=Command.Origin.CHARGE_POINT_PAGE,
    )
    request.session[f"last-command-{charge_point.pk}"] = {
        "action": command.action,
        "payload": json.dumps(form.cleaned_data["payload"]),
    }
    if command.status == Command.Status.ANSWERED:
        messages.success(
            request,
            f"{command.action}: {json.dumps(command.response)} ({command.round_trip_ms} ms)",
        )
    else:
        messages.error(
            request, f"{command.action}: {command.get_status_display()}. {command.error}"
        )
    return redirect(charge_point)


class FrameListView(EngineerRequiredMixin, CatalogListView):
    """The evidence of one charge point, newest connection first, exportable."""

    table_class = tables.FrameTable
    filterset_class = filters.FrameFilter
    table_pagination = {"per_page": 100}
    export_formats = ("csv", "xlsx")

    @cached_property
    def charge_point(self) -> ChargePoint:
        return get_object_or_404(
            visible(ChargePoint.objects.all(), self.request.user), pk=self.kwargs["pk"]
        )

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"Evidence of {self.charge_point}"

    def get_queryset(self) -> QuerySet[Frame]:
        return Frame.objects.filter(charge_point=self.charge_point).order_by("captured_at", "seq")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["back_url"] = self.charge_point.get_absolute_url()
        return context


@require_safe
@engineer_required
def connected_charge_points(request: HttpRequest) -> HttpResponse:
    """Who is connected now, with each connector's last status; the page refreshes the
    table itself (``?fragment=1`` returns only the table)."""
    charge_points = (
        _charge_points(request.user)  # type: ignore[misc]
        .filter(connected=True)
        .prefetch_related(
            "connectors",
            # Which worker holds each websocket: after a worker dies, its rows are the ones
            # to look at (docs/deploy.md, "When a worker dies").
            Prefetch(
                "connections",
                queryset=Connection.objects.filter(closed_at__isnull=True),
                to_attr="open_connections",
            ),
        )
        .order_by("charge_point_id")
    )
    template = (
        "chargers/_connected_table.html"
        if request.GET.get("fragment")
        else "chargers/connected.html"
    )
    context = {
        "charge_points": charge_points,
        "now": timezone.now(),
        "evidence_trouble": evidence_writer_trouble(),
        "unrecorded_uploads": transfers.unrecorded_uploads(),
    }
    return render(request, template, context)


def evidence_writer_trouble() -> dict[str, Any] | None:
    """What this worker's evidence writer has to tell engineers, if anything: writes the
    database refused (each is retried until it succeeds, the chargers' answers wait) and
    frames still queued. Its log says the same, but engineers look at this page."""
    # The writer belongs to the worker's event loop; this view runs in a thread of the same
    # process, which is why the page speaks for this worker only.
    from chargers.ocpp.consumer import WORKER
    from chargers.ocpp.evidence import writer_health

    health = writer_health()
    if not health.failures:
        # Frames queued under load are normal: only failed writes are news.
        return None
    return {
        "worker": WORKER,
        "failures": health.failures,
        "waiting": health.backlog,
        "last_error": health.last_error,
    }


# --- File transfers: served to chargers, no login (the unguessable token is the key) -------

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


@require_safe
def firmware_download(
    request: HttpRequest, token: str, name: str
) -> HttpResponse | StreamingHttpResponse:
    """A firmware image for UpdateFirmware, with single-range requests so a charger can
    resume. Every request is evidence of the step that was running: which charge point (by
    the token), when, how many bytes, completed or cut."""
    location = transfers.open_location(token, TransferLocation.Kind.FIRMWARE)
    started = timezone.now()
    if location is None or location.image is None or location.image.original_name != name:
        raise Http404("No such firmware location.")
    image = location.image
    if location.is_expired():
        transfers.record_transfer(
            location,
            direction="download",
            started_at=started,
            finished_at=started,
            status="refused",
            detail="location expired",
            file_name=image.original_name,
            remote_address=_client_address(request),
        )
        return HttpResponse(
            "This firmware location has expired.", status=410, content_type="text/plain"
        )
    size = image.size
    start, end = 0, size - 1
    status = 200
    byte_range = request.headers.get("Range", "")
    if byte_range:
        match = _RANGE.match(byte_range.strip())
        if match and (match.group(1) or match.group(2)):
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            else:  # the last N bytes
                start = max(0, size - int(match.group(2)))
            status = 206
        if not match or start > end or start >= size:
            transfers.record_transfer(
                location,
                direction="download",
                started_at=started,
                finished_at=started,
                status="refused",
                detail=f"unsatisfiable range {byte_range!r}",
                byte_range=byte_range[:100],
                file_name=image.original_name,
                remote_address=_client_address(request),
            )
            refusal = HttpResponse(status=416)
            refusal["Content-Range"] = f"bytes */{size}"
            return refusal
    length = end - start + 1
    remote = _client_address(request)

    def stream() -> Iterator[bytes]:
        sent = 0
        try:
            with image.file.open("rb") as handle:
                handle.seek(start)
                while sent < length:
                    chunk = handle.read(min(64 * 1024, length - sent))
                    if not chunk:
                        break
                    sent += len(chunk)
                    yield chunk
        finally:
            complete = sent == length and end == size - 1
            transfers.record_transfer(
                location,
                direction="download",
                started_at=started,
                finished_at=timezone.now(),
                status="completed" if sent == length else "cut",
                detail="" if complete else f"bytes {start}-{start + sent - 1} of {size}",
                byte_range=byte_range[:100],
                bytes_transferred=sent,
                expected_bytes=length,
                file_name=image.original_name,
                sha256=image.sha256 if complete and start == 0 else "",
                remote_address=remote,
            )

    response = StreamingHttpResponse(
        stream(), status=status, content_type="application/octet-stream"
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Disposition"] = f'attachment; filename="{image.original_name}"'
    return response


@csrf_exempt
@require_http_methods(["PUT", "POST"])
def diagnostics_upload(request: HttpRequest, token: str, name: str = "") -> HttpResponse:
    """Where a charger uploads diagnostics (GetDiagnostics): HTTP PUT of the raw file
    (the location plus the file name) or a multipart POST with a "file" field."""
    location = transfers.open_location(token, TransferLocation.Kind.DIAGNOSTICS)
    if location is None:
        raise Http404("No such upload location.")
    started = timezone.now()
    remote = _client_address(request)
    refusal = transfers.upload_refusal(location)
    limit = settings.TRANSFER_MAX_UPLOAD_BYTES
    declared = int(request.headers.get("Content-Length") or 0)
    if refusal is None and declared > limit:
        refusal = f"{declared} bytes declared, over the limit of {limit}"
    if refusal is not None:
        transfers.record_transfer(
            location,
            direction="upload",
            protocol="http",
            started_at=started,
            finished_at=started,
            status="refused",
            detail=refusal,
            file_name=name,
            remote_address=remote,
        )
        status = 413 if declared > limit else 410
        return HttpResponse(f"Upload refused: {refusal}.", status=status, content_type="text/plain")
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            return HttpResponse(
                'Send the file in a multipart field named "file".',
                status=400,
                content_type="text/plain",
            )
        file_name = name or upload.name or "diagnostics.bin"
        chunks: Iterable[bytes] = upload.chunks(transfers.CHUNK_BYTES)
    else:
        # The body as it arrives (a chunked one too), never request.body: that would hold
        # it in memory and refuse it over DATA_UPLOAD_MAX_MEMORY_SIZE.
        file_name = name or "diagnostics.bin"
        chunks = transfers.read_in_chunks(request)
    try:
        transfer = transfers.store_diagnostics(
            location,
            chunks,
            file_name=file_name,
            protocol="http",
            remote_address=remote,
            started_at=started,
        )
    except transfers.UploadNotRecorded:
        # The file is kept and shown to the engineers; the charger hears that it may retry.
        return HttpResponse(
            "Upload received and kept, but the portal could not record it: try again later.",
            status=503,
            content_type="text/plain",
            headers={"Retry-After": "30"},
        )
    if transfer.status == Transfer.Status.REFUSED:
        return HttpResponse(
            f"Upload refused: {transfer.detail}.", status=413, content_type="text/plain"
        )
    return HttpResponse(
        f"Stored {transfer.file_name} ({transfer.bytes_transferred} bytes).\n",
        status=201,
        content_type="text/plain",
    )


@require_POST
@engineer_required
def firmware_image_upload(request: HttpRequest, pk: int) -> HttpResponse:
    firmware = get_object_or_404(visible(FirmwareVersion.objects.all(), request.user), pk=pk)
    upload = request.FILES.get("image")
    if upload is None:
        messages.error(request, "Choose an image file to upload.")
    else:
        try:
            image = transfers.store_firmware_image(firmware, upload, user=request.user)
        except transfers.TransferError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                f"{image.original_name} ({image.size} bytes) stored for {firmware.version}.",
            )
    return redirect(firmware.charger_model)


@require_safe
@engineer_required
def transfer_file(request: HttpRequest, pk: int) -> FileResponse:
    """An uploaded diagnostics file, for engineers."""
    transfer = get_object_or_404(Transfer.objects.exclude(file=""), pk=pk)
    return FileResponse(transfer.file.open("rb"), as_attachment=True, filename=transfer.file_name)


# --- API tokens: each user's own (chargers/api_tokens.py) ----------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens; POST makes a new one, shown on this answer only."""
    new_token = ""
    status = 200
    if request.method == "POST":
        _, new_token = api_tokens_module.create_api_token(request.user)  # type: ignore[arg-type]
        status = 201
    response = render(
        request,
        "accounts/api_tokens.html",
        {
            "title": "API tokens",
            "tokens": api_tokens_module.api_tokens_of(request.user),  # type: ignore[arg-type]
            "new_token": new_token,
            "token_hours": settings.API_TOKEN_HOURS,
        },
        status=status,
    )
    # The page holding a token in clear is never cached.
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def api_token_revoke(request: HttpRequest, digest: str) -> HttpResponse:
    if not api_tokens_module.revoke_api_token(request.user, digest):  # type: ignore[arg-type]
        raise Http404("No such token of yours.")
    messages.success(request, "The token is revoked.")
    return redirect("chargers:api-tokens")


# --- Capability declarations ---------------------------------------------------------------


def _declarations(user: Any) -> QuerySet[CapabilityDeclaration]:
    return visible(CapabilityDeclaration.objects.all(), user).select_related(
        "firmware_version__charger_model__manufacturer", "locked_by", "created_by"
    )


def declaration_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Engineers and manufacturer users; anybody else gets a 403."""

    @login_required
    def check(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_declare(request.user):
            raise PermissionDenied("Only engineers and manufacturer users fill in declarations.")
        response: HttpResponse = view(request, *args, **kwargs)
        return response

    return check


@require_safe
@login_required
def declaration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = get_object_or_404(_declarations(request.user), pk=pk)
    others = _declarations(request.user).filter(firmware_version=declaration.firmware_version)
    return render(
        request,
        "chargers/declaration_detail.html",
        {
            "declaration": declaration,
            "versions": others.order_by("-version"),
            "facts": declaration.facts(),
            "can_fill": can_declare(request.user) and not declaration.is_locked(),
            "can_lock": can_edit(request.user) and not declaration.is_locked(),
            "can_declare": can_declare(request.user),
        },
    )


@require_POST
@declaration_required
def declaration_create(request: HttpRequest, firmware_pk: int) -> HttpResponse:
    """A new draft version for a firmware (copying the latest), or its open draft."""
    firmware = get_object_or_404(
        visible(FirmwareVersion.objects.all(), request.user), pk=firmware_pk
    )
    declaration = services.new_declaration(firmware, request.user)  # type: ignore[arg-type]
    return redirect("chargers:declaration-edit", declaration.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@declaration_required
def declaration_edit(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = get_object_or_404(_declarations(request.user), pk=pk)
    if declaration.is_locked():
        messages.error(request, f"{declaration} is locked for runs: start a new version.")
        return redirect(declaration)
    form = DeclarationForm(request.POST or None, instance=declaration)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_declaration(declaration, form.answers(), request.user)  # type: ignore[arg-type]
        except services.DeclarationError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"{declaration} saved.")
        return redirect(declaration)
    return render(
        request,
        "chargers/form.html",
        {
            "form": form,
            "title": f"{declaration}",
            "cancel_url": declaration.get_absolute_url(),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@engineer_required
def declaration_lock(request: HttpRequest, pk: int) -> HttpResponse:
    declaration = get_object_or_404(_declarations(request.user), pk=pk)
    try:
        services.lock_declaration(declaration, request.user)  # type: ignore[arg-type]
    except services.DeclarationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{declaration} locked: new runs of this firmware pin it.")
    return redirect(declaration)
