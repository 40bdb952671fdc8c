"""Login throttling: one guard, django-axes, for every path that checks a password.

Axes' authentication backend runs inside ``django.contrib.auth.authenticate``, so the
portal's login form, ``/admin/login/`` and the API's login (``/api/auth/login/``, HTTP
Basic) all share it: a guess counted on one path counts on the others. Failures are rows of
axes' ``AccessAttempt`` table (``AxesDatabaseHandler``), so every Daphne worker sees the
same counts; the cache handler would count per worker unless the cache were shared.

The lockout is per (username, client address), plus per client address:

- ``LOGIN_THROTTLE_FAILURES`` failures of one username from one address lock that
  username *from that address* only. A guesser cannot lock a real user out: the user's own
  address has its own count.
- ``LOGIN_THROTTLE_ADDRESS_FAILURES`` failures from one address, whatever the usernames,
  lock the address (one guesser trying many accounts). It is set higher: a lab behind one
  NAT address shares it.

Both within ``LOGIN_THROTTLE_WINDOW`` seconds of the last counted failure. A correct
password is refused too while locked, or the lock would still tell a guesser when they hit
the right one. Refusals while locked are not counted (``AXES_RESET_COOL_OFF_ON_FAILURE_
DURING_LOCKOUT = False``), so the lock lifts once the window passes, and a flood of refused
attempts does not grow the table.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def username_of(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The username a failure is counted against (``AXES_USERNAME_CALLABLE``): as typed,
    trimmed and case-folded, so that ``wei``, ``WEI`` and ``Wei `` share one count."""
    raw = (credentials or {}).get("username")
    if raw is None:
        raw = request.POST.get("username", "") if hasattr(request, "POST") else ""
    return str(raw or "").strip().casefold()[:255]


def failure_limit(request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
    """``AXES_FAILURE_LIMIT``: ``LOGIN_THROTTLE_FAILURES``, read when asked."""
    return int(settings.LOGIN_THROTTLE_FAILURES)


def window(request: HttpRequest | None = None) -> datetime.timedelta:
    """``AXES_COOLOFF_TIME``: ``LOGIN_THROTTLE_WINDOW`` seconds, read when asked."""
    return datetime.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW)


def client_address(request: HttpRequest) -> str:
    """The address failures are counted against (``AXES_CLIENT_IP_CALLABLE``): the one
    Django has in ``REMOTE_ADDR``, never a header of the request itself (axes would read
    ``X-Forwarded-For`` through django-ipware if that were installed)."""
    return str(request.META.get("REMOTE_ADDR") or "")


class LoginFailureHandler(AxesDatabaseHandler):
    """Axes' database handler with two limits: axes compares one number with one limit
    (``AXES_FAILURE_LIMIT``, set to ``LOGIN_THROTTLE_FAILURES``), so the per-address count
    is scaled to that limit: reaching ``LOGIN_THROTTLE_ADDRESS_FAILURES`` reads as reaching
    ``LOGIN_THROTTLE_FAILURES``."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        username = get_client_username(request, credentials)
        counts = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,
            attempt_time__gte=get_cool_off_threshold(request),
        ).aggregate(
            address=Sum("failures_since_start"),
            pair=Sum("failures_since_start", filter=Q(username=username)),
        )
        pair, address = counts["pair"] or 0, counts["address"] or 0
        limit = settings.LOGIN_THROTTLE_FAILURES
        address_limit = settings.LOGIN_THROTTLE_ADDRESS_FAILURES
        scaled = address * limit // address_limit if address_limit > 0 else 0
        return max(pair, scaled)


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The answer to a refused login (``AXES_LOCKOUT_CALLABLE``): 429 Too Many Requests,
    saying how long to wait; JSON for the API, the lockout page otherwise."""
    minutes = max(1, math.ceil(settings.LOGIN_THROTTLE_WINDOW / 60))
    wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
    detail = f"Too many failed attempts; try again in {wait}."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail}, status=429)
    return render(request, "registration/locked_out.html", {"detail": detail}, status=429)


class PortalAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password did not match. Check both and try again.",
    }


class PortalLoginView(LoginView):
    """The login page. A locked-out attempt never reaches it: axes' middleware answers
    429 with registration/locked_out.html."""

    form_class = PortalAuthenticationForm
