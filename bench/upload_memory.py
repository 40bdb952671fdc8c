"""Upload memory benchmark: the peak memory of a worker receiving a large firmware image,
as a ratio to the same worker at rest, for several image sizes.

An engineer uploads one image of each ``--megabytes`` size (20, 60 and 200 MiB by default)
through the firmware page (multipart POST, as a browser sends it), to ``manage.py serve``
and, for comparison, to plain ``daphne`` serving the same application (Daphne's and
Twisted's own body handling: Twisted parses a multipart body into ``request.args`` in
memory, and Daphne queues the whole body, before the application reads any of it). Each
upload goes to a fresh server. Printed per server and size: the resident memory at rest
(after a login and a page), the peak during the upload (``VmHWM``), their ratio, and
whether the image was stored with the right SHA-256. Bounded memory is a ratio that stays
the same whatever the size.

    .venv/bin/python bench/upload_memory.py
    .venv/bin/python bench/upload_memory.py --megabytes 50 --only serve
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import re
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ocpp_ingest import HOST, PYTHON, Server, manage, server_env

PASSWORD = "bench-upload-password-1"
BLOCK = bytes(range(256)) * 4096  # 1 MiB of a pattern
BOUNDARY = "----bench-upload-boundary"

SETUP = f"""
from chargers.models import ChargerModel, FirmwareVersion, Manufacturer, User
user = User.objects.create_user("bench", password={PASSWORD!r}, role=User.Role.ENGINEER)
maker = Manufacturer.objects.create(name="Bench", country="Nowhere")
model = ChargerModel.objects.create(manufacturer=maker, name="B1", current_type="AC")
version = FirmwareVersion.objects.create(charger_model=model, version="1.0")
print("BENCH-FIRMWARE", version.pk)
"""

STORED = """
from chargers.models import FirmwareImage
for image in FirmwareImage.objects.order_by("pk"):
    print("BENCH-IMAGE", image.size, image.sha256)
"""

SERVERS = {
    "serve": [PYTHON, "manage.py", "serve", "--no-ftp", "--bind", HOST, "--port"],
    "daphne": [PYTHON, "-m", "daphne", "config.asgi:application", "-b", HOST, "-p"],
}


def kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


class Browser:
    """An engineer's cookies against one server, over plain HTTP."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=600)
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        connection.close()
        return response.status, text

    def login(self) -> None:
        _, page = self.request("GET", "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None, page[:500]
        form = {"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": token[1]}
        status, page = self.request(
            "POST",
            "/accounts/login/",
            urllib.parse.urlencode(form).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302, page[:2000]


def multipart(megabytes: int, csrf: str) -> tuple[Iterator[bytes], int, str]:
    """The image as a browser posts it: (body chunks, length, SHA-256 of the file)."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f"{csrf}\r\n--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="image"; filename="bench-image.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    digest = hashlib.sha256()
    for _ in range(megabytes):
        digest.update(BLOCK)

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(megabytes):
            yield BLOCK
        yield tail

    return chunks(), len(head) + megabytes * len(BLOCK) + len(tail), digest.hexdigest()


def measure(name: str, megabytes: int, root: Path) -> dict[str, object]:
    var_dir = root / f"{name}-{megabytes}"
    var_dir.mkdir()
    env = server_env(var_dir, None, "tests.browser.portal_settings")
    env.update(
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        FTP_PORT="0",
    )
    manage(env, "migrate", "--noinput")
    firmware = manage(env, "shell", "-c", SETUP).split("BENCH-FIRMWARE ")[1].split()[0]
    server = Server(name, SERVERS[name], env, var_dir / "server.log")
    server.start()
    try:
        browser = Browser(server.port)
        browser.login()
        status, _ = browser.request("GET", "/catalog/models/")
        time.sleep(1.0)
        rest = kib(server.pid, "VmRSS")
        # The peak from here on: start-up's own peak is not the upload's.
        Path(f"/proc/{server.pid}/clear_refs").write_text("5")
        body, length, sha256 = multipart(megabytes, browser.cookies["csrftoken"])
        started = time.monotonic()
        status, page = browser.request(
            "POST",
            f"/catalog/firmware/{firmware}/images/",
            body,
            {
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(length),
                "Referer": f"http://{HOST}:{server.port}/catalog/models/",
            },
        )
        seconds = time.monotonic() - started
        peak = kib(server.pid, "VmHWM")
    finally:
        server.stop()
    stored = [
        line.split()[1:]
        for line in manage(env, "shell", "-c", STORED).splitlines()
        if line.startswith("BENCH-IMAGE ")
    ]
    return {
        "server": name,
        "megabytes": megabytes,
        "status": status,
        "rest_mib": rest / 1024,
        "peak_mib": peak / 1024,
        "ratio": peak / rest,
        "seconds": seconds,
        "stored": stored == [[str(megabytes * len(BLOCK)), sha256]],
        "detail": f"{stored} {page[:300]}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--megabytes", type=int, nargs="+", default=[20, 60, 200], help="image sizes in MiB"
    )
    parser.add_argument("--only", choices=list(SERVERS), default=None)
    options = parser.parse_args()
    names = [options.only] if options.only else list(SERVERS)
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as root:
        results = [
            measure(name, megabytes, Path(root))
            for name in names
            for megabytes in options.megabytes
        ]
    print("One firmware image per server and size, multipart POST through the firmware page")
    header = f"{'server':8} {'MiB':>4} {'HTTP':>4} {'rest MiB':>9} {'peak MiB':>9} {'peak/rest':>9}"
    print(f"{header} {'s':>6}  stored")
    for r in results:
        print(
            f"{r['server']:8} {r['megabytes']:>4} {r['status']:>4} "
            f"{r['rest_mib']:9.0f} {r['peak_mib']:9.0f} "
            f"{r['ratio']:9.2f} {r['seconds']:6.1f}  "
            + ("yes, SHA-256 right" if r["stored"] else "NO")
        )
        if not r["stored"]:
            print("   ", r["detail"])
    if not all(r["stored"] for r in results if r["server"] == "serve"):
        sys.exit(1)


if __name__ == "__main__":
    main()
