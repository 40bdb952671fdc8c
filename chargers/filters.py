"""Filters of the catalog lists (django-filter); the tables render what they leave."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from chargers.models import ChargerModel, FirmwareVersion, Manufacturer


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
