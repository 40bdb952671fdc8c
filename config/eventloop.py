"""The event loop Daphne serves on.

Daphne creates its event loop (and installs Twisted's asyncio reactor on it) as soon as
Django loads the ``daphne`` app, so the loop policy has to be chosen before settings and
apps are loaded: ``manage.py serve`` calls ``install()`` first thing. ``PORTAL_EVENT_LOOP``
is ``uvloop`` (libuv, the default: bench/ocpp_ingest.py measured about 15% more OCPP calls
per second for the same CPU) or ``asyncio`` (the standard library's loop).
"""

from __future__ import annotations

import asyncio
import os

CHOICES = ("uvloop", "asyncio")


def configured() -> str:
    name = os.environ.get("PORTAL_EVENT_LOOP", "uvloop")
    if name not in CHOICES:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"PORTAL_EVENT_LOOP must be uvloop or asyncio, not {name!r}")
    return name


def install() -> str:
    """Make new event loops of this process the configured kind; returns its name."""
    name = configured()
    if name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return name
