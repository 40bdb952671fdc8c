"""The API's pagination (``DEFAULT_PAGINATION_CLASS``), in a module of its own: DRF
imports it while its own modules are still loading, so it imports nothing of the API."""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination


class PortalPagination(LimitOffsetPagination):
    """``?limit=`` with a maximum (``MAX_PAGE_SIZE``): a larger one is cut to it."""

    @property
    def max_limit(self) -> int:
        return int(settings.MAX_PAGE_SIZE)
