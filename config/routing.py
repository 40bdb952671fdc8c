"""Websocket routes: one list, so the ASGI application and the tests share it."""

from django.urls import URLPattern, URLResolver

websocket_urlpatterns: list[URLPattern | URLResolver] = []
