"""Login throttling: after too many failed logins for one username, or from one client
address, the login form refuses without checking the password until the window passes.

The failures are counted in Django's cache, not in a table: they are short-lived, need no
migration and no cleanup, and the check costs no query. The default cache (LocMemCache)
is per process, so with several Daphne workers each worker counts on its own and an
attacker gets up to (workers x limit) guesses per window; configure a shared cache
(``CACHES`` with Redis) to count across workers. The read-modify-write of a counter is not
atomic either: two concurrent failures may count as one, which only loosens the limit by
a guess or two.

Wire it as the login view: ``path("accounts/login/", ThrottledLoginView.as_view(),
name="login")``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache

log = logging.getLogger(__name__)

CACHE_PREFIX = "login-failures"


def _now() -> float:
    return time.time()


def _key(kind: str, value: str) -> str:
    # Hashed: a username may hold characters memcached keys must not.
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"{CACHE_PREFIX}:{kind}:{digest}"


def _recent(key: str, now: float) -> list[float]:
    """The failure times still inside the window."""
    window = settings.LOGIN_THROTTLE_WINDOW
    return [at for at in cache.get(key, []) if at > now - window]


def _minutes(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing early once a username or an address collected
    ``LOGIN_THROTTLE_FAILURES`` / ``LOGIN_THROTTLE_ADDRESS_FAILURES`` failed logins within
    ``LOGIN_THROTTLE_WINDOW`` seconds. A correct password is refused too while throttled,
    or the throttle would still let a guesser try passwords."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password did not match. Check both and try again.",
        "throttled": "Too many failed attempts; try again in %(minutes)s.",
    }

    def clean(self) -> dict[str, Any]:
        username = (self.cleaned_data.get("username") or "").strip().lower()
        address = self._client_address()
        keys = [
            (_key("username", username), settings.LOGIN_THROTTLE_FAILURES),
            (_key("address", address), settings.LOGIN_THROTTLE_ADDRESS_FAILURES if address else 0),
        ]
        now = _now()
        for key, limit in keys:
            failures = _recent(key, now)
            if limit > 0 and len(failures) >= limit:
                wait = failures[-limit] + settings.LOGIN_THROTTLE_WINDOW - now
                log.warning(
                    "login: refused %r from %s: %d failed logins in %d s",
                    username,
                    address or "an unknown address",
                    len(failures),
                    settings.LOGIN_THROTTLE_WINDOW,
                )
                raise forms.ValidationError(
                    self.error_messages["throttled"],
                    code="throttled",
                    params={"minutes": _minutes(wait)},
                )
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if error.code == "invalid_login":
                log.info("login: failed for %r from %s", username, address or "?")
                for key, limit in keys:
                    if limit > 0:
                        failures = [*_recent(key, now), now]
                        cache.set(key, failures, settings.LOGIN_THROTTLE_WINDOW)
            raise
        cache.delete(keys[0][0])  # the user got in: earlier typos no longer count
        return cleaned

    def _client_address(self) -> str:
        # Behind the TLS proxy, Daphne (--proxy-headers) puts the forwarded client here.
        if self.request is None:
            return ""
        return str(self.request.META.get("REMOTE_ADDR", ""))


class ThrottledLoginView(LoginView):
    """The login page; registration/login.html shows the form's own error, so a throttled
    user reads why they are refused and for how long."""

    form_class = ThrottledAuthenticationForm
