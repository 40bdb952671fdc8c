"""One way to write a moment on every page: ISO 8601 with the zone (RFC 3339), in the portal's
time zone (``TIME_ZONE``); dates as ISO 8601 ``YYYY-MM-DD``, never dd/mm or mm/dd.

``{{ frame.captured_at|iso_ms }}`` → ``2023-09-22T09:50:02.118+00:00``;
``{{ run.started_at|iso }}`` → ``2023-09-22T09:50:02+00:00``; ``{{ day|iso_date }}`` →
``2023-09-22``. An empty value gives "" (use ``|default:"—"``)."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone

register = template.Library()


def iso_timestamp(value: object, timespec: str = "seconds") -> str:
    if not isinstance(value, datetime.datetime):
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.isoformat(timespec=timespec)


@register.filter
def iso(value: object) -> str:
    return iso_timestamp(value)


@register.filter
def iso_ms(value: object) -> str:
    """Evidence: frames often arrive within one second."""
    return iso_timestamp(value, "milliseconds")


@register.filter
def iso_date(value: object) -> str:
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value.isoformat() if isinstance(value, datetime.date) else ""
