"""Nothing lost to a locked database (issue 13, item 11): every way of naming an SQLite
database gets the portal's settings, and the FTP upload path retries a refused write and
never loses an upload: a file it can never record is kept and shown."""

from __future__ import annotations

import ftplib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connections
from django.test import Client
from django.urls import reverse

from certification.models import TestRun
from certification.services import start_step
from chargers import transfers
from chargers.ftp import build_server, ftp_root
from chargers.models import Transfer, User
from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]


def database_settings(tmp_path: Path, database_url: str | None) -> dict[str, Any]:
    """The default database as a fresh process configures and opens it."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATABASE_NAME"}}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    script = (
        "import json, django; django.setup()\n"
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('PRAGMA journal_mode')\n"
        "    journal = cursor.fetchone()[0]\n"
        "    cursor.execute('PRAGMA busy_timeout')\n"
        "    busy = cursor.fetchone()[0]\n"
        "d = connection.settings_dict\n"
        "print(json.dumps({'options': d['OPTIONS'], 'conn_max_age': d['CONN_MAX_AGE'],"
        " 'journal': journal, 'busy_timeout_ms': busy}))\n"
    )
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["VAR_DIR"] = str(tmp_path)
    output = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def test_every_way_of_naming_sqlite_gets_the_same_durability_settings(tmp_path: Path) -> None:
    default = database_settings(tmp_path, None)
    by_url = database_settings(tmp_path, f"sqlite:///{tmp_path / 'named.sqlite3'}")
    assert by_url == default
    assert by_url["options"]["transaction_mode"] == "IMMEDIATE"
    assert by_url["journal"] == "wal"
    assert by_url["busy_timeout_ms"] >= 1000
    assert by_url["conn_max_age"] is None


@pytest.fixture
def ftp_server(transactional_db: None) -> Iterator[int]:
    port = free_port()
    server = build_server("127.0.0.1", port)

    def serve() -> None:
        try:
            server.serve_forever(timeout=0.2)
        finally:
            connections.close_all()  # the server thread's own connection

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close_all()
        thread.join(5)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfers, "WRITE_RETRY_DELAYS", (0.01, 0.02, 0.05))


def refuse(times: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the database refuse the upload's record ``times`` times, as a locked SQLite
    database does; returns the list of tries made."""
    tries: list[int] = []
    store = transfers.store_diagnostics

    def locked(*args: Any, **kwargs: Any) -> Transfer:
        tries.append(1)
        if len(tries) <= times:
            raise OperationalError("database is locked")
        return store(*args, **kwargs)

    monkeypatch.setattr(transfers, "store_diagnostics", locked)
    return tries


def upload(port: int, location: Any, name: str, content: bytes) -> None:
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", port, timeout=10)
        ftp.login(location.ftp_username, location.ftp_password)
        ftp.storbinary(f"STOR {name}", io.BytesIO(content))


@pytest.mark.django_db(transaction=True)
def test_an_upload_the_database_refuses_for_a_while_is_retried_and_recorded(
    ftp_server: int,
    run: TestRun,
    engineer: User,
    monkeypatch: pytest.MonkeyPatch,
    fast_retries: None,
) -> None:
    result = start_step(
        run, run.plan.steps.get(number=20), engineer, anyway="no charger in this test"
    )
    location = transfers.diagnostics_location(run.charge_point, run)
    tries = refuse(2, monkeypatch)
    upload(ftp_server, location, "diag.zip", b"PK\x03\x04 diagnostics")
    record = Transfer.objects.get()
    assert len(tries) == 3
    assert record.step_result == result and record.file.read() == b"PK\x03\x04 diagnostics"
    assert not any(ftp_root().rglob("diag.zip"))
    assert transfers.unrecorded_uploads() == []


@pytest.mark.django_db(transaction=True)
def test_an_upload_the_database_never_takes_is_kept_and_shown(
    ftp_server: int,
    run: TestRun,
    engineer: User,
    engineer_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    fast_retries: None,
) -> None:
    step = run.plan.steps.get(number=20)
    start_step(run, step, engineer, anyway="no charger in this test")
    location = transfers.diagnostics_location(run.charge_point, run)
    refuse(100, monkeypatch)
    upload(ftp_server, location, "never.zip", b"the charger's diagnostics")
    try:
        assert not Transfer.objects.exists()
        [kept] = transfers.unrecorded_uploads(run.pk)
        assert kept.path.read_bytes() == b"the charger's diagnostics"
        assert kept.file_name == "never.zip" and "database is locked" in kept.error
        assert kept.location == location

        connected = engineer_client.get(reverse("chargers:connected")).content.decode()
        assert "never.zip" in connected and "could not be recorded" in connected
        console = engineer_client.get(
            f"{reverse('certification:run-detail', args=[run.pk])}?step={step.number}"
        ).content.decode()
        assert "never.zip" in console and "could not be recorded" in console
    finally:
        for path in transfers.unrecorded_root().rglob("*"):
            if path.is_file():
                path.unlink()


def refuse_records(times: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the database refuse ``times`` writes of a Transfer record, as a locked SQLite
    database does, after the upload's bytes were received; returns the tries made."""
    tries: list[int] = []
    save = Transfer.save

    def locked(self: Transfer, *args: Any, **kwargs: Any) -> None:
        tries.append(1)
        if len(tries) <= times:
            raise OperationalError("database is locked")
        save(self, *args, **kwargs)

    monkeypatch.setattr(Transfer, "save", locked)
    return tries


def put_diagnostics(client: Client, location: Any, name: str, content: bytes) -> Any:
    return client.put(
        reverse("chargers:diagnostics-upload-named", args=[location.token, name]),
        data=content,
        content_type="application/octet-stream",
    )


@pytest.mark.django_db(transaction=True)
def test_an_http_upload_the_database_refuses_for_a_while_is_retried_and_recorded(
    run: TestRun, engineer: User, monkeypatch: pytest.MonkeyPatch, fast_retries: None
) -> None:
    result = start_step(
        run, run.plan.steps.get(number=20), engineer, anyway="no charger in this test"
    )
    location = transfers.diagnostics_location(run.charge_point, run)
    tries = refuse_records(2, monkeypatch)

    response = put_diagnostics(Client(), location, "diag.log", b"the charger's log")

    assert response.status_code == 201
    assert len(tries) == 3
    record = Transfer.objects.get()
    assert record.step_result == result and record.file.read() == b"the charger's log"
    assert transfers.unrecorded_uploads() == []


@pytest.mark.django_db(transaction=True)
def test_an_http_upload_the_database_never_takes_is_kept_and_shown(
    run: TestRun,
    engineer: User,
    engineer_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    fast_retries: None,
) -> None:
    step = run.plan.steps.get(number=20)
    start_step(run, step, engineer, anyway="no charger in this test")
    location = transfers.diagnostics_location(run.charge_point, run)
    refuse_records(100, monkeypatch)

    response = put_diagnostics(Client(), location, "never.log", b"the charger's log")
    try:
        assert response.status_code == 503 and response["Retry-After"] == "30"
        assert not Transfer.objects.exists()
        [kept] = transfers.unrecorded_uploads(run.pk)
        assert kept.path.read_bytes() == b"the charger's log"
        assert kept.file_name == "never.log" and "database is locked" in kept.error
        connected = engineer_client.get(reverse("chargers:connected")).content.decode()
        assert "never.log" in connected and "could not be recorded" in connected
    finally:
        for path in transfers.unrecorded_root().rglob("*"):
            if path.is_file():
                path.unlink()
