"""docs/deploy.md followed word for word: Debian's nginx with the guide's configuration,
TLS with a self-signed certificate, two ``serve`` workers on PostgreSQL and Redis.

Through nginx: a login and a page, a charger over ``wss://`` with Basic auth (the
simulator, trusting the lab's CA file, dialling 127.0.0.1 for the portal's name), a forged
``X-Forwarded-For`` that must not reach the evidence, a command sent from the worker that
does not hold the charger, and the charger coming back through the other worker after
its own is killed."""

from __future__ import annotations

import ftplib
import hashlib
import http.client
import io
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import websockets
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection as db_connection
from django.urls import reverse
from websockets.typing import Subprotocol

from certification.models import Report, TestRun
from certification.services import submit_for_review
from chargers import services, transfers
from chargers.models import (
    ChargePoint,
    Command,
    Connection,
    ConnectionEvent,
    FirmwareImage,
    FirmwareVersion,
    Transfer,
    User,
)
from chargers.simulator import ChargerConfig
from tests.certification.test_review import decide_everything
from tests.chargers.test_ocpp_live import auth_header
from tests.deploy.nginx import HOST, Proxy, nginx_binary, nginx_proxy
from tests.deploy.service import USER, ServiceHost, block_lines, guide_block, service_host
from tests.e2e.harness import ChargerThread
from tests.live import ROOT, TEST_REDIS_URL, LiveServer, daphne_server, eventually, redis_available

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        nginx_binary() is None or shutil.which("openssl") is None,
        reason="nginx or openssl is not installed (.ci/system-packages installs them)",
    ),
    pytest.mark.skipif(
        not redis_available(), reason=f"the workers share Redis: none answers at {TEST_REDIS_URL}"
    ),
]

KEY = "deploy-key-0123456789"
FORGED = "203.0.113.66"


@dataclass
class Session:
    """A browser's cookies, talking HTTPS to nginx (or HTTP straight to one worker)."""

    proxy: Proxy
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        worker: LiveServer | None = None,
        body: bytes | None = None,
    ) -> tuple[int, http.client.HTTPResponse, str]:
        if worker is None:
            context = ssl.create_default_context(cafile=str(self.proxy.certificate))
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.proxy.https_port, context=context, timeout=60
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=60)
        sent = {"Host": HOST, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = self.proxy.origin
            sent["Referer"] = self.proxy.origin + path
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            conn.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response, text

    def login(self, username: str, password: str) -> None:
        status, _, page = self.request("GET", "/accounts/login/")
        assert status == 200, page[:500]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        status, _response, page = self.request(
            "POST",
            "/accounts/login/",
            form={"username": username, "password": password, "csrfmiddlewaretoken": token[1]},
        )
        assert status == 302, page[:2000]
        assert "sessionid" in self.cookies

    def csrf_form(self, **fields: str) -> dict[str, str]:
        return {**fields, "csrfmiddlewaretoken": self.cookies["csrftoken"]}


@dataclass
class Deployment:
    proxy: Proxy
    workers: list[LiveServer]
    # The guide's service user and directories, the workers running as that user (None
    # when the test is not root: the workers then run as the test's own user).
    host: ServiceHost | None


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    if db_connection.vendor != "postgresql":
        pytest.skip("the deployment runs on PostgreSQL (the suite's PostgreSQL + Redis run)")
    https = {"port": 0}
    layer = f"deploy-{uuid.uuid4().hex[:12]}"
    secret_key = f"deploy-test-{secrets.token_urlsafe(40)}"  # one env file for both workers

    def env() -> dict[str, str]:
        origin = f"https://{HOST}:{https['port']}"
        return {
            # Production settings, except static files from the source folders (no
            # collectstatic: tests/browser/portal_settings.py says why).
            "DJANGO_SETTINGS_MODULE": "tests.browser.portal_settings",
            "DEBUG": "false",
            "SECRET_KEY": secret_key,
            "ALLOWED_HOSTS": HOST,
            "CSRF_TRUSTED_ORIGINS": origin,
            "PORTAL_PUBLIC_URL": origin,
            "TRUSTED_PROXIES": "127.0.0.1,::1",
            "CHANNEL_LAYER_PREFIX": layer,
            "FTP_PORT": "0",
        }

    # nginx needs the workers' ports and the workers need nginx's: pick nginx's first.
    from tests.live import free_port

    https["port"] = free_port()
    with service_host() as host:
        unit = None
        if host is not None:
            # The env file every unit reads, as the guide has it filled in.
            host.write_env(
                {
                    **env(),
                    "DATABASE_URL": os.environ["DATABASE_URL"],
                    "DATABASE_NAME": str(db_connection.settings_dict["NAME"]),
                    "REDIS_URL": TEST_REDIS_URL,
                    "VAR_DIR": str(host.var_dir),
                }
            )
            unit = (host.python, host.unit_env(), host.unit_process())
        with (
            daphne_server(tmp_path, redis_url=TEST_REDIS_URL, extra_env=env(), unit=unit) as a,
            daphne_server(tmp_path, redis_url=TEST_REDIS_URL, extra_env=env(), unit=unit) as b,
            nginx_proxy(tmp_path / "nginx", [a.port, b.port], https_port=https["port"]) as proxy,
        ):
            yield Deployment(proxy, [a, b], host)


def test_the_guides_deployment_works_through_nginx(
    deployment: Deployment, engineer: User, c8eu_firmware: FirmwareVersion
) -> None:
    proxy, workers = deployment.proxy, deployment.workers
    # The workers know production's hashers only, not the tests' fast one.
    pbkdf2 = PBKDF2PasswordHasher()
    engineer.password = pbkdf2.encode("pw-engineer-1", pbkdf2.salt(), iterations=1000)
    engineer.save(update_fields=["password"])
    logs = lambda: "\n".join([proxy.log(), *(w.log()[-3000:] for w in workers)])  # noqa: E731
    browser = Session(proxy)

    # Plain HTTP is sent to HTTPS; nginx does not say its version.
    plain = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=10)
    plain.request("GET", "/charge-points/", headers={"Host": HOST})
    answer = plain.getresponse()
    assert answer.status == 301
    assert answer.getheader("Location") == f"https://{HOST}/charge-points/"
    assert answer.getheader("Server") == "nginx"
    plain.close()

    # A login and a page, through nginx, over HTTPS with HTTP/1.1.
    browser.login("wei", "pw-engineer-1")
    status, response, page = browser.request("GET", "/charge-points/connected/")
    assert status == 200, logs()
    assert response.getheader("Strict-Transport-Security", "").startswith("max-age=")
    assert response.getheader("Server") == "nginx"

    # A firmware image through the firmware page: nginx passes the body as it arrives.
    upload_through_nginx(browser, c8eu_firmware)

    # A simulated charger over wss:// with Basic auth, trusting the lab's certificate.
    charge_point, _ = services.create_charge_point("DEPLOY-1", authorization_key=KEY)
    charger = ChargerThread(
        ChargerConfig(
            charge_point_id="DEPLOY-1",
            url=f"wss://{HOST}:{proxy.https_port}/ocpp/DEPLOY-1",
            password=KEY,
            ca_file=str(proxy.certificate),
            connect_to=f"127.0.0.1:{proxy.https_port}",
            response_timeout=15,
        )
    )
    try:
        charger.do(charger.charger.connect(), timeout=30)
        assert eventually(lambda: open_connection(charge_point) is not None, timeout=15), logs()
        first = open_connection(charge_point)
        assert first is not None
        # The address nginx saw (127.0.0.1), as the guide's proxy passes it.
        assert first.remote_address == "127.0.0.1:0", first.remote_address
        status, _, page = browser.request("GET", "/charge-points/connected/")
        assert "DEPLOY-1" in page and first.worker in page

        # A forged X-Forwarded-For, on a charger handshake and on an upload: not evidence.
        forged_handshake(proxy)
        location = transfers.diagnostics_location(charge_point)
        path = urllib.parse.urlsplit(transfers.http_url(location, proxy.origin)).path
        status, _, page = browser.request(
            "PUT", path + "diag.txt", body=b"log", headers={"X-Forwarded-For": FORGED}
        )
        assert status == 201, page
        recorded = [
            *ConnectionEvent.objects.values_list("remote_address", flat=True),
            *Transfer.objects.values_list("remote_address", flat=True),
            *Connection.objects.values_list("remote_address", flat=True),
        ]
        assert not [a for a in recorded if FORGED in a], recorded
        assert ConnectionEvent.objects.filter(kind="refused").exists()

        # A command from the worker that does not hold the charger's websocket.
        holder = next(w for w in workers if first.worker.endswith(f":{w.process.pid}"))
        other = next(w for w in workers if w is not holder)
        status, _, page = browser.request(
            "POST",
            f"/charge-points/{charge_point.pk}/commands/",
            form=browser.csrf_form(
                action="ChangeAvailability", payload='{"connectorId": 1, "type": "Operative"}'
            ),
            headers={"X-Forwarded-Proto": "https"},  # as nginx would send it
            worker=other,
        )
        assert status == 302, page[:2000]
        command = Command.objects.get(action="ChangeAvailability")
        assert (command.status, command.response) == ("answered", {"status": "Accepted"})

        # The charger's worker dies; the charger comes back through nginx to the other.
        os.kill(holder.process.pid, signal.SIGKILL)
        holder.process.wait(10)

        def reconnected() -> bool:
            current = open_connection(charge_point)
            return current is not None and current.pk != first.pk and charger.charger.online

        assert eventually(reconnected, timeout=30), logs()
        second = open_connection(charge_point)
        assert second is not None and second.worker.endswith(f":{other.process.pid}")
        status, _, page = browser.request(
            "POST",
            f"/charge-points/{charge_point.pk}/commands/",
            form=browser.csrf_form(
                action="ChangeAvailability", payload='{"connectorId": 1, "type": "Operative"}'
            ),
        )
        assert status == 302, page[:2000]
        latest = Command.objects.filter(action="ChangeAvailability").latest("pk")
        assert latest.pk != command.pk and latest.status == "answered", latest.error
    finally:
        charger.stop()


def upload_through_nginx(browser: Session, firmware: FirmwareVersion) -> None:
    """A 3 MiB image posted through the firmware page over HTTPS, as a browser sends it,
    over HTTP/1.1 and (with curl) over HTTP/2: stored whole, with its SHA-256."""
    image = bytes(range(256)) * (3 * 1024 * 1024 // 256)
    boundary = "----deploy-upload-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
            f"{browser.cookies['csrftoken']}\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name="image"; filename="deploy-image.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    path = f"/catalog/firmware/{firmware.pk}/images/"
    status, _, page = browser.request(
        "POST",
        path,
        body=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Origin": browser.proxy.origin,
            "Referer": browser.proxy.origin + path,
        },
    )
    assert status == 302, page[:2000]
    stored = FirmwareImage.objects.get(firmware_version=firmware)
    assert (stored.size, stored.sha256) == (len(image), hashlib.sha256(image).hexdigest())
    if shutil.which("curl") is None:
        return
    # Browsers upload over HTTP/2 (the guide's "listen 443 ssl http2"): curl's own form
    # upload, over HTTP/2, with the same session.
    second = image[::-1]
    file = browser.proxy.directory / "deploy-image-h2.bin"
    file.write_bytes(second)
    cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    answered = subprocess.run(
        [
            "curl", "--silent", "--show-error", "--http2", "--output", "/dev/null",
            "--write-out", "%{http_version} %{http_code}",
            "--cacert", str(browser.proxy.certificate),
            "--resolve", f"{HOST}:{browser.proxy.https_port}:127.0.0.1",
            "--cookie", cookies, "--referer", browser.proxy.origin + path,
            "--form", f"csrfmiddlewaretoken={browser.cookies['csrftoken']}",
            "--form", f"image=@{file}",
            browser.proxy.origin + path,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert answered.stdout == "2 302", (answered.stdout, answered.stderr, browser.proxy.log())
    latest = FirmwareImage.objects.filter(firmware_version=firmware).latest("pk")
    assert (latest.size, latest.sha256) == (len(second), hashlib.sha256(second).hexdigest())


def open_connection(charge_point: ChargePoint) -> Connection | None:
    return Connection.objects.filter(charge_point=charge_point, closed_at__isnull=True).first()


def forged_handshake(proxy: Proxy) -> None:
    """A handshake with a wrong key and a forged address, through nginx."""
    import asyncio

    async def attempt() -> None:
        context = ssl.create_default_context(cafile=str(proxy.certificate))
        headers = {**auth_header("DEPLOY-1", "wrong-key-0123456789"), "X-Forwarded-For": FORGED}
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(
                f"wss://{HOST}:{proxy.https_port}/ocpp/DEPLOY-1",
                subprotocols=[Subprotocol("ocpp1.6")],
                additional_headers=headers,
                ssl=context,
                host="127.0.0.1",
                port=proxy.https_port,
            ):
                pass

    asyncio.run(attempt())


def test_the_guides_service_user_runs_the_portal(
    deployment: Deployment, engineer: User, run: TestRun
) -> None:
    """docs/deploy.md's service user, directories and backups: the workers run as
    ``ocpp-portal``, who can publish a report (a PDF written under ``VAR_DIR/media``) and run
    the FTP server; ``run`` works from the env file; backups are private."""
    host = deployment.host
    if host is None:
        pytest.skip("creating the service user and running the portal as it needs root")
    proxy, workers = deployment.proxy, deployment.workers
    service = pwd.getpwnam(USER)
    assert service.pw_uid != 0 and service.pw_shell == "/usr/sbin/nologin"
    for worker in workers:
        uids = Path(f"/proc/{worker.process.pid}/status").read_text().split("\nUid:")[1]
        assert uids.split()[:2] == [str(service.pw_uid)] * 2, uids  # real and effective
    # The directories as the guide made them.
    assert (host.owner(host.var_dir), oct(host.var_dir.stat().st_mode & 0o777)) == (USER, "0o750")
    assert oct(host.env_file.stat().st_mode & 0o777) == "0o640"
    assert host.owner(host.env_file) == "root" and host.env_file.stat().st_gid == service.pw_gid

    # The guide's run(): a management command as the service user, with the env file.
    install = guide_block(
        "cd /opt/ocpp-portal && python3 -m venv .venv && .venv/bin/pip install -e .   # as root"
    )
    [define_run] = [c for c in block_lines(install) if c.startswith("run() {")]
    [migrate] = [c for c in block_lines(install) if c == "run .venv/bin/python manage.py migrate"]
    output = host.sh(
        [define_run, migrate.replace(".venv/bin/python", host.python)], env=host.python_env
    )
    assert "No migrations to apply" in output, output

    # Publishing, through nginx, by a reviewer: the worker renders and writes the PDF.
    pbkdf2 = PBKDF2PasswordHasher()
    engineer.password = pbkdf2.encode("pw-engineer-1", pbkdf2.salt(), iterations=1000)
    engineer.save(update_fields=["password"])
    reviewer = User.objects.create_user("ana", role=User.Role.ENGINEER)
    reviewer.password = pbkdf2.encode("pw-ana-1", pbkdf2.salt(), iterations=1000)
    reviewer.save(update_fields=["password"])
    decide_everything(run, engineer)
    submit_for_review(run, engineer)
    browser = Session(proxy)
    browser.login("ana", "pw-ana-1")
    logs = lambda: "\n".join([proxy.log(), *(w.log()[-3000:] for w in workers)])  # noqa: E731
    status, _, page = browser.request(
        "POST", reverse("certification:run-publish", args=[run.pk]), form=browser.csrf_form()
    )
    assert status == 302, f"{page[:2000]}\n{logs()}"
    report = Report.objects.get(run=run)
    pdf = host.var_dir / "media" / str(report.pdf.name)
    assert pdf.read_bytes().startswith(b"%PDF") and host.owner(pdf) == USER
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == report.sha256

    # The FTP server, as its unit starts it, takes a charger's diagnostics.
    charge_point, _ = services.create_charge_point("DEPLOY-FTP", no_auth=True)
    location = transfers.diagnostics_location(charge_point)
    from tests.live import free_port

    ftp_port = free_port()
    environment = {**host.unit_env(), "FTP_PORT": str(ftp_port), "FTP_BIND": "127.0.0.1"}
    environment["FTP_PASSIVE_PORTS"] = ""
    with (Path(workers[0].log_path).parent / "ftpserver.log").open("wb") as log:
        ftp_server = subprocess.Popen(
            [host.python, "manage.py", "ftpserver"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            **host.unit_process(),  # type: ignore[call-overload]
        )
    try:
        assert eventually(lambda: port_open(ftp_port) or ftp_server.poll() is not None, 30)
        assert ftp_server.poll() is None, (workers[0].log_path.parent / "ftpserver.log").read_text()
        with ftplib.FTP() as ftp:
            ftp.connect("127.0.0.1", ftp_port, timeout=10)
            ftp.login(location.ftp_username, location.ftp_password)
            ftp.storbinary("STOR diagnostics.zip", io.BytesIO(b"PK\x03\x04 deploy"))
    finally:
        ftp_server.terminate()
        ftp_server.wait(10)
    received = Transfer.objects.get(location=location)
    assert (received.status, received.bytes_transferred) == ("completed", 11)
    stored = host.var_dir / "media" / str(received.file.name)
    assert stored.read_bytes() == b"PK\x03\x04 deploy" and host.owner(stored) == USER
    assert host.owner(host.var_dir / "media/ftp-incoming") == USER

    # The nightly backup block, as root: a private dump and a private copy of the media.
    # The guide's host runs PostgreSQL; a suite whose database is elsewhere has no postgres
    # user to dump as.
    if "postgres" not in {user.pw_name for user in pwd.getpwall()}:
        pytest.skip("no postgres user on this host: the backup block dumps as postgres")
    nightly = block_lines(guide_block("# Nightly, as root (cron or a systemd timer)."))
    database = db_connection.settings_dict
    name = str(database["NAME"])
    host.sh(
        [c.replace(".dump portal'", f".dump {name}'") for c in nightly],
        env={
            "PGHOST": str(database["HOST"] or "127.0.0.1"),
            "PGPORT": str(database["PORT"] or 5432),
            "PGUSER": str(database["USER"] or "postgres"),
        },
    )
    [dump] = (host.root / "var/backups/ocpp-portal").glob("portal-*.dump")
    assert oct(dump.parent.stat().st_mode & 0o777) == "0o700"
    assert (host.owner(dump), oct(dump.stat().st_mode & 0o777)) == ("postgres", "0o600")
    assert dump.read_bytes().startswith(b"PGDMP")
    media_copy = host.root / "srv/backup/ocpp-portal/media"
    assert oct(media_copy.parent.stat().st_mode & 0o777) == "0o700"
    copied = list(media_copy.rglob("*"))
    assert media_copy / str(report.pdf.name) in copied
    assert media_copy / str(received.file.name) in copied
    assert [p for p in [media_copy, *copied] if p.stat().st_mode & 0o077] == []


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True
