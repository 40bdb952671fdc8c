"""A real Daphne server in a subprocess, serving the test database, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12"
# The channel-layer prefix a test process and the Daphne it starts share on Redis (CI sets
# its own per run, so that two runs on one Redis do not meet).
TEST_CHANNEL_PREFIX = os.environ.get("CHANNEL_LAYER_PREFIX") or "ocpp-test"


def redis_available(url: str = TEST_REDIS_URL) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def eventually(condition: Callable[[], bool], timeout: float = 10) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass (for effects that
    another process records after the fact)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    port: int
    ftp_port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def daphne_server(
    tmp_path: Path,
    *,
    redis_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    unit: tuple[str, dict[str, str], dict[str, Any]] | None = None,
) -> Iterator[LiveServer]:
    """Start ``manage.py serve`` on the database the tests use; stop it afterwards.

    ``unit``: (interpreter, environment, ``Popen`` options) to start it as a systemd unit
    of docs/deploy.md would (tests/deploy/service.py: as the service user, with the env
    file's environment, its own ``VAR_DIR``) instead of as this process with its settings."""
    port = free_port()
    python, base_env, options = unit or (sys.executable, dict(os.environ), {})
    env = {k: v for k, v in base_env.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env["DATABASE_NAME"] = str(connection.settings_dict["NAME"])
    env["PYTHONUNBUFFERED"] = "1"
    # Links the portal gives chargers (firmware, diagnostics) point at this server.
    env["PORTAL_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    env["FTP_PORT"] = str(free_port())
    env["FTP_PASSIVE_PORTS"] = ""
    if unit is None:
        # Files stored by the test (firmware images) are the files the server serves.
        env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["CHANNEL_LAYER_PREFIX"] = TEST_CHANNEL_PREFIX
    env.update(extra_env or {})
    log_path = tmp_path / f"daphne-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [python, "manage.py", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            **options,
        )
    server = LiveServer(port, int(env["FTP_PORT"]), process, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Daphne exited early:\n{server.log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Daphne did not listen in 30 s:\n{server.log()}") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
