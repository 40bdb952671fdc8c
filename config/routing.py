"""Websocket routes: one list, so the ASGI application and the tests share it."""

from django.urls import URLPattern, URLResolver, re_path

from chargers.ocpp.consumer import OcppConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    re_path(r"^ocpp/(?P<charge_point_id>[^/]{1,200})/?$", OcppConsumer.as_asgi()),
]
