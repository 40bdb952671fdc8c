"""What Django's DEBUG error page (and an error e-mail) may show: never a password.

Django hides settings whose *names* look secret (``PASSWORD``, ``SECRET_KEY``, ...), but a
URL carries its password inside the *value*: ``DATABASE_URL``, ``REDIS_URL``, the channel
layer's ``hosts`` address, a cache ``LOCATION``. This filter masks the password of every
``scheme://user:password@host`` it meets, in settings (nested too) and in the local
variables of the traceback. The rest of the URL stays, since it is what one debugs.

Configured as ``DEFAULT_EXCEPTION_REPORTER_FILTER`` and ``DEFAULT_EXCEPTION_REPORTER`` (the
exception's own message may hold a URL too).
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# scheme://user:password@ ; also scheme://:password@ (Redis has no user).
_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s]+)@")


def mask_url_passwords(text: str) -> str:
    """``text`` with the password of each URL in it replaced by the filter's mask."""
    return _CREDENTIALS.sub(
        lambda m: f"{m['head']}{SafeExceptionReporterFilter.cleansed_substitute}@", text
    )


class PortalExceptionReporterFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        # type(), not isinstance: a lazy object (axes puts one in settings) passes as a str.
        return mask_url_passwords(cleansed) if type(cleansed) is str else cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        return [
            (name, _masked(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class PortalExceptionReporter(ExceptionReporter):
    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if "exception_value" in data:
            data["exception_value"] = mask_url_passwords(str(data["exception_value"]))
        return data


def _masked(value: Any) -> Any:
    if type(value) is str:
        return mask_url_passwords(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_masked(item) for item in value)
    return value
