"""Filters of the catalog lists (django-filter); the tables render what they leave."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from chargers.models import (
    ChargePoint,
    ChargerModel,
    ConnectionEvent,
    FirmwareVersion,
    Frame,
    Manufacturer,
)


class ManufacturerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    country = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Manufacturer
        fields = ["q", "country"]

    def search(self, queryset: QuerySet[Manufacturer], name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(name__icontains=value) | Q(country__icontains=value) | Q(website__icontains=value)
        )


class ChargerModelFilter(django_filters.FilterSet):
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


class FirmwareVersionFilter(django_filters.FilterSet):
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


class FrameFilter(django_filters.FilterSet):
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


class ConnectionEventFilter(django_filters.FilterSet):
    identity = django_filters.CharFilter(
        field_name="charge_point_identity", lookup_expr="icontains", label="chargePointId"
    )
    kind = django_filters.ChoiceFilter(choices=ConnectionEvent.Kind.choices)

    class Meta:
        model = ConnectionEvent
        fields = ["identity", "kind"]


class ChargePointFilter(django_filters.FilterSet):
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
