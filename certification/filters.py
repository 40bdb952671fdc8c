from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from certification.models import TestPlan, TestRun
from chargers.filters import PortalFilterSet


class RunFilter(PortalFilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=TestRun.Status.choices)

    class Meta:
        model = TestRun
        fields = ["q", "status"]

    def search(self, queryset: QuerySet[TestRun], name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(charger_model__name__icontains=value)
            | Q(charger_model__manufacturer__name__icontains=value)
            | Q(firmware_version__version__icontains=value)
            | Q(charge_point__charge_point_id__icontains=value)
        )


class PlanFilter(PortalFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = TestPlan
        fields = ["name"]
