"""Filters of the catalog lists (django-filter); the tables render what they leave."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django_filters import rest_framework as api_filters

from chargers.access import visible
from chargers.models import (
    ChargePoint,
    ChargerModel,
    ConnectionEvent,
    FirmwareVersion,
    Frame,
    Manufacturer,
)


class VisibleChoicesMixin:
    """Every filter on a related row (``?manufacturer=``, ``?charger_model=``,
    ``?firmware_version=``, ``?charge_point=``, ...) chooses among the rows the user may
    see (chargers.access.visible). An id the user may not see is then answered exactly like
    an id that does not exist (400, "Select a valid choice"), instead of 200 with no rows,
    which told a manufacturer user that another manufacturer's row exists; and a page's
    select lists only the user's own rows."""

    filters: dict[str, Any]

    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, request=request, **kwargs)  # type: ignore[call-arg]
        user = getattr(request, "user", None)
        for choice in self.filters.values():
            if isinstance(
                choice, django_filters.ModelChoiceFilter | django_filters.ModelMultipleChoiceFilter
            ) and isinstance(choice.queryset, QuerySet):
                choice.queryset = visible(choice.queryset, user) if user else choice.queryset.none()


class PortalFilterSet(VisibleChoicesMixin, django_filters.FilterSet):
    """The base of the pages' filters."""


class ApiFilterSet(VisibleChoicesMixin, api_filters.FilterSet):
    """The base of the filters DRF builds from a viewset's ``filterset_fields``."""


class VisibleFilterBackend(api_filters.DjangoFilterBackend):
    """The API's filter backend (``DEFAULT_FILTER_BACKENDS``): filters built on
    ``ApiFilterSet``."""

    filterset_base = ApiFilterSet


class ManufacturerFilter(PortalFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    country = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Manufacturer
        fields = ["q", "country"]

    def search(self, queryset: QuerySet[Manufacturer], name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(name__icontains=value) | Q(country__icontains=value) | Q(website__icontains=value)
        )


class ChargerModelFilter(PortalFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    current_type = django_filters.ChoiceFilter(
        choices=ChargerModel.CurrentType.choices, label="AC or DC"
    )
    outlet = django_filters.ChoiceFilter(choices=ChargerModel.Outlet.choices)

    class Meta:
        model = ChargerModel
        fields = ["q", "manufacturer", "current_type", "outlet"]

    def search(self, queryset: QuerySet[ChargerModel], name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(name__icontains=value)
            | Q(manufacturer__name__icontains=value)
            | Q(notes__icontains=value)
        )


class FirmwareVersionFilter(PortalFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    released_after = django_filters.DateFilter(
        field_name="release_date", lookup_expr="gte", label="Released on or after"
    )

    class Meta:
        model = FirmwareVersion
        fields = ["q", "released_after"]

    def search(self, queryset: QuerySet[FirmwareVersion], name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(version__icontains=value)
            | Q(charger_model__name__icontains=value)
            | Q(charger_model__manufacturer__name__icontains=value)
        )


class FrameFilter(PortalFilterSet):
    action = django_filters.CharFilter(lookup_expr="iexact")
    direction = django_filters.ChoiceFilter(choices=Frame.Direction.choices)
    message_type = django_filters.ChoiceFilter(choices=Frame.MessageType.choices)
    invalid = django_filters.BooleanFilter(method="only_invalid", label="Invalid only")
    since = django_filters.IsoDateTimeFilter(
        field_name="captured_at", lookup_expr="gte", label="Since (ISO time)"
    )

    class Meta:
        model = Frame
        fields = ["action", "direction", "message_type", "invalid", "since"]

    def only_invalid(self, queryset: QuerySet[Frame], name: str, value: bool | None) -> QuerySet:
        if value:
            return queryset.exclude(validation_error="")
        return queryset


class ConnectionEventFilter(PortalFilterSet):
    identity = django_filters.CharFilter(
        field_name="charge_point_identity", lookup_expr="icontains", label="chargePointId"
    )
    kind = django_filters.ChoiceFilter(choices=ConnectionEvent.Kind.choices)

    class Meta:
        model = ConnectionEvent
        fields = ["identity", "kind"]


class ChargePointFilter(PortalFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = ChargePoint
        fields = ["q", "enabled"]

    def search(self, queryset: QuerySet[ChargePoint], name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(charge_point_id__icontains=value)
            | Q(charger_model__name__icontains=value)
            | Q(reported_serial__icontains=value)
        )
