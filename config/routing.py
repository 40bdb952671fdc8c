"""Websocket routes: one list, so the ASGI application and the tests share it.

Chargers connect to /ocpp/<id> with HTTP Basic credentials and no browser session; the
step console connects to /ws/runs/<id>/ with the engineer's session, checked against the
allowed hosts' origins (no cross-site websocket hijacking). Every other path is refused
before the upgrade by UnroutedConsumer."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import URLPattern, URLResolver, re_path

from certification.consumers import RunConsoleConsumer
from chargers.ocpp.consumer import OcppConsumer, UnroutedConsumer

browser_patterns: list[URLPattern | URLResolver] = [
    re_path(r"^runs/(?P<run_id>\d+)/$", RunConsoleConsumer.as_asgi()),  # under /ws/
    re_path(r"", UnroutedConsumer.as_asgi()),
]

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^ocpp/(?P<charge_point_id>[^/]{1,200})/?$", OcppConsumer.as_asgi()),
    re_path(
        r"^ws/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(browser_patterns))),
    ),
    # Any other path: refused cleanly (HTTP 403), not a routing error (HTTP 500).
    re_path(r"", UnroutedConsumer.as_asgi()),
]
