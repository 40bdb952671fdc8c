"""Websocket routes: one list, so the ASGI application and the tests share it.

Chargers connect to /ocpp/<id> with HTTP Basic credentials and no browser session; the
step console connects to /ws/runs/<id>/ with the engineer's session, checked against the
allowed hosts' origins (no cross-site websocket hijacking)."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import URLPattern, URLResolver, re_path

from certification.consumers import RunConsoleConsumer
from chargers.ocpp.consumer import OcppConsumer

browser_patterns: list[URLPattern | URLResolver] = [
    re_path(r"^runs/(?P<run_id>\d+)/$", RunConsoleConsumer.as_asgi()),  # under /ws/
]

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^ocpp/(?P<charge_point_id>[^/]{1,200})/?$", OcppConsumer.as_asgi()),
    re_path(
        r"^ws/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(browser_patterns))),
    ),
]
