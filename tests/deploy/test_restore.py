"""A portal started on a restored copy of the database never reaches the original's
chargers, even with the production Redis and the same ``CHANNEL_LAYER_PREFIX``: its
channel layer is keyed by its own database (chargers/channel_layer.py) and its workers
close, at start, every connection row the original's workers left open."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from chargers import services
from chargers.models import Command, Connection, Frame
from tests.chargers.test_ocpp_live import KEY, AnsweringCharger
from tests.live import (
    ROOT,
    TEST_CHANNEL_PREFIX,
    TEST_REDIS_URL,
    daphne_server,
    eventually,
    redis_available,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not redis_available(), reason=f"needs Redis at {TEST_REDIS_URL}"),
    pytest.mark.skipif(
        shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
        reason="needs PostgreSQL's pg_dump and pg_restore",
    ),
]

CHANGE_AVAILABILITY = {"connectorId": 1, "type": "Inoperative"}

# Run on the restored copy, as an operator's shell on the restored portal would: the
# command the portal sends, then the channel-layer message itself, past the portal's own
# "not connected" answer.
ON_THE_COPY = """
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from chargers import services
from chargers.models import ChargePoint, Connection
charge_point = ChargePoint.objects.get(charge_point_id="LIVE-1")
print("open", Connection.objects.filter(closed_at__isnull=True).count())
command = services.send_command(charge_point, "ChangeAvailability", %(payload)r)
print("status", command.status)
async_to_sync(get_channel_layer().group_send)(
    charge_point.group_name(),
    {"type": "ocpp.command", "command_id": command.pk, "action": "ChangeAvailability",
     "payload": %(payload)r, "invalid": False, "reply_channel": ""},
)
"""


def postgres(command: str, *args: str) -> subprocess.CompletedProcess[str]:
    database = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(database.get("PASSWORD") or "")}
    where = ["-h", str(database["HOST"] or "127.0.0.1"), "-p", str(database["PORT"] or 5432)]
    user = ["-U", str(database["USER"])] if database.get("USER") else []
    return subprocess.run(
        [command, *where, *user, *args], env=env, capture_output=True, text=True, check=True
    )


@contextmanager
def restored_copy_of(tmp_path: Path) -> Iterator[str]:
    """A dump of the test database now, restored into a second database as docs/deploy.md's
    restore procedure does; dropped afterwards."""
    original = str(connection.settings_dict["NAME"])
    copy = f"{original}_restored_{uuid.uuid4().hex[:6]}"
    dump = tmp_path / "portal.dump"
    postgres("pg_dump", "-Fc", "-f", str(dump), original)
    postgres("createdb", copy)
    try:
        postgres("pg_restore", "--no-owner", "-d", copy, str(dump))
        yield copy
    finally:
        postgres("psql", "-q", "-d", "postgres", "-c", f'DROP DATABASE "{copy}" WITH (FORCE)')


def test_a_portal_on_a_restored_copy_cannot_reach_the_originals_charger(
    tmp_path: Path, settings: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the restore procedure is PostgreSQL's (pg_dump -Fc, pg_restore)")
    charge_point, _ = services.create_charge_point("LIVE-1", authorization_key=KEY)
    # This process talks to the original's workers like one of them.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chargers.channel_layer.PortalChannelLayer",
            "CONFIG": {
                "hosts": [{"address": TEST_REDIS_URL, "socket_timeout": None}],
                "prefix": TEST_CHANNEL_PREFIX,
            },
        }
    }
    with daphne_server(tmp_path, redis_url=TEST_REDIS_URL) as original:
        charger = AnsweringCharger(f"{original.ws_url}/ocpp/LIVE-1")
        charger.start()
        try:
            assert charger.connected.wait(10)
            assert eventually(lambda: services.is_connected(charge_point))
            script = ON_THE_COPY % {"payload": CHANGE_AVAILABILITY}
            with (
                restored_copy_of(tmp_path) as copy,
                # The copy's worker, on the same Redis with the same prefix (what an
                # operator gets by copying the production env file).
                daphne_server(
                    tmp_path, redis_url=TEST_REDIS_URL, extra_env={"DATABASE_NAME": copy}
                ) as worker,
            ):
                assert "opened by workers of another database" in worker.log()
                shell = subprocess.run(
                    [sys.executable, "manage.py", "shell", "-c", script],
                    cwd=ROOT,
                    env={
                        **os.environ,
                        "DATABASE_NAME": copy,
                        "REDIS_URL": TEST_REDIS_URL,
                        "CHANNEL_LAYER_PREFIX": TEST_CHANNEL_PREFIX,
                    },
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert shell.returncode == 0, shell.stderr
                # The copy's connection rows were closed when its worker started.
                assert "open 0" in shell.stdout and "status not_connected" in shell.stdout
                time.sleep(2)  # what would arrive has arrived
            assert charger.received == [], charger.received
            # The original is untouched, and still reaches its charger.
            assert not Command.objects.exists()
            assert not Frame.objects.filter(action="ChangeAvailability").exists()
            assert Connection.objects.get(charge_point=charge_point).closed_at is None
            command = services.send_command(charge_point, "ChangeAvailability", CHANGE_AVAILABILITY)
            assert command.status == Command.Status.ANSWERED, command.error
        finally:
            charger.stop.set()
            charger.join(10)
    assert charger.received[0][2] == "ChangeAvailability"
