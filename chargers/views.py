"""Pages of the catalog: manufacturers, charger models and their firmware versions.

Every queryset goes through ``access.visible`` so that a manufacturer user never reaches
another manufacturer's rows (they get a 404, not a hint that the row exists).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.functional import cached_property
from django.views.decorators.http import require_safe
from django.views.generic import CreateView, DetailView, UpdateView
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2.export import ExportMixin

from chargers import filters, tables
from chargers.access import can_edit, visible
from chargers.forms import ChargerModelForm, FirmwareVersionForm, ManufacturerForm
from chargers.models import ChargerModel, FirmwareVersion, Manufacturer


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
        return context


class ManufacturerCreateView(EngineerRequiredMixin, CreateView):
    model = Manufacturer
    form_class = ManufacturerForm
    template_name = "chargers/form.html"
    extra_context = {"title": "New manufacturer"}

    def form_valid(self, form: ModelForm) -> HttpResponse:
        messages.success(self.request, f"Manufacturer {form.instance.name} created.")
        return super().form_valid(form)


class ManufacturerUpdateView(EngineerRequiredMixin, UpdateView):
    model = Manufacturer
    form_class = ManufacturerForm
    template_name = "chargers/form.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = f"Edit {self.object}"
        return context

    def form_valid(self, form: ModelForm) -> HttpResponse:
        messages.success(self.request, f"Manufacturer {form.instance.name} saved.")
        return super().form_valid(form)


class ChargerModelCreateView(EngineerRequiredMixin, CreateView):
    model = ChargerModel
    form_class = ChargerModelForm
    template_name = "chargers/form.html"
    extra_context = {"title": "New charger model"}

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        manufacturer = self.request.GET.get("manufacturer", "")
        if manufacturer.isdigit():
            initial["manufacturer"] = int(manufacturer)
        return initial

    def form_valid(self, form: ModelForm) -> HttpResponse:
        messages.success(self.request, f"Charger model {form.instance} created.")
        return super().form_valid(form)


class ChargerModelUpdateView(EngineerRequiredMixin, UpdateView):
    model = ChargerModel
    form_class = ChargerModelForm
    template_name = "chargers/form.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["title"] = f"Edit {self.object}"
        return context

    def form_valid(self, form: ModelForm) -> HttpResponse:
        messages.success(self.request, f"Charger model {form.instance} saved.")
        return super().form_valid(form)


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
    context = {
        "manufacturer_count": visible(Manufacturer.objects.all(), user).count(),
        "model_count": charger_models.count(),
        "firmware_count": visible(FirmwareVersion.objects.all(), user).count(),
        "recent_models": charger_models[:8],
        "can_edit": can_edit(user),
    }
    return render(request, "home.html", context)
