"""The channel layer of one portal: channels_redis, its keys qualified by the database the
portal serves.

Commands, step changes and "close your older connection" messages travel on groups named
after charge points. Two portals that share a Redis and a ``CHANNEL_LAYER_PREFIX`` would
share those groups: a portal started on a restored copy of the database sent
ChangeAvailability to the live charger, added frames to the live evidence and overwrote a
live Command's answer. Qualifying the prefix by the database (engine, host, port, name)
keeps every copy of the database on its own groups without anyone remembering to set a
prefix; ``CHANNEL_LAYER_PREFIX`` still separates portals whose databases look alike (a
copy restored under the same name on another server sharing this Redis).

``database_key()`` is also written on every ``Connection`` (``services.open_connection``):
a worker that starts closes the open rows another database's workers wrote
(``services.close_connections_of_other_databases``), which in a restored copy is all of
them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import redis
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.response import Response
from rest_framework.views import exception_handler

log = logging.getLogger(__name__)

# What the channel layer raises when Redis cannot be reached.
UNREACHABLE: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)
OUTAGE = (
    "The portal cannot reach its channel layer (Redis at REDIS_URL): commands, step changes "
    "and live updates cannot be delivered until it is back. Pages and reads still work."
)


def database_key(database: dict[str, Any] | None = None) -> str:
    """12 hex digits naming the database (``settings.DATABASES["default"]`` by default):
    the same for every worker of one deployment, different for a copy under another name
    or on another server."""
    settings_dict: Any = database or settings.DATABASES["default"]
    parts = [str(settings_dict.get(part) or "") for part in ("ENGINE", "HOST", "PORT", "NAME")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


class PortalChannelLayer(RedisChannelLayer):
    """channels_redis's layer with ``prefix`` + ``:`` + ``database_key()`` as its prefix.

    The key is taken when the layer is first used, from the settings of that moment (a test
    database's name included)."""

    def __init__(self, *args: Any, prefix: str = "ocpp-portal", **kwargs: Any) -> None:
        super().__init__(*args, prefix=f"{prefix}:{database_key()}", **kwargs)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: Redis unreachable is a JSON 503 saying so, not an HTML 500."""
    if isinstance(exc, UNREACHABLE):
        log.error("channel layer unreachable: %s", exc)
        return Response({"detail": OUTAGE}, status=503)
    return exception_handler(exc, context)


class ChannelLayerOutageMiddleware:
    """A page whose action needed Redis while it is down answers 503 with what is wrong."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UNREACHABLE):
            return None
        log.error("channel layer unreachable: %s", exception)
        return render(request, "503.html", {"message": OUTAGE}, status=503)
