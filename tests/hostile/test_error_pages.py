"""A DEBUG error page never shows a password: not in DATABASE_URL, REDIS_URL, the channel
layer's address or a local variable; and `make run` says it starts a development server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from django.test import RequestFactory
from django.views.debug import get_exception_reporter_class

from chargers.error_reports import mask_url_passwords

ROOT = Path(__file__).resolve().parents[2]


# Built at run time: the page also shows the source lines around each frame.
DB, REDIS, CACHE, LOCAL = (f"{kind}-{'s3cret'}" for kind in ("db", "redis", "cache", "local"))


def error_page(settings: object) -> str:
    settings.DEBUG = True  # type: ignore[attr-defined]
    settings.DATABASE_URL = f"postgres://portal:{DB}@db.internal:5432/portal"  # type: ignore[attr-defined]
    settings.REDIS_URL = f"redis://:{REDIS}@redis.internal:6379/0"  # type: ignore[attr-defined]
    settings.CACHES = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"rediss://cache:{CACHE}@cache.internal:6380/1",
        }
    }
    broker_url = f"amqp://guest:{LOCAL}@mq.internal//"
    try:
        raise RuntimeError(f"could not reach {broker_url}")
    except RuntimeError:
        request = RequestFactory().get("/boom/")
        reporter_class: Any = get_exception_reporter_class(request)
        reporter = reporter_class(request, *sys.exc_info())
        return reporter.get_traceback_html()


def test_the_debug_page_masks_every_url_password(settings: object) -> None:
    page = error_page(settings)
    for secret in (DB, REDIS, CACHE, LOCAL):
        assert secret not in page, secret
    # What one debugs stays: the host of each URL.
    assert "db.internal:5432/portal" in page and "redis.internal:6379" in page


def test_masking_keeps_urls_without_a_password() -> None:
    assert mask_url_passwords("redis://redis.internal:6379/0") == "redis://redis.internal:6379/0"
    assert mask_url_passwords("postgres://u:p@h/x") == "postgres://u:********************@h/x"


def test_make_run_says_it_starts_a_development_server() -> None:
    recipe = subprocess.run(
        ["make", "-n", "-W", ".venv/.installed-run", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "DEVELOPMENT server" in recipe and "not for production" in recipe
