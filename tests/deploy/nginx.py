"""The reverse proxy of docs/deploy.md, run for a test: Debian's nginx with the guide's own
configuration, taken from the guide's ``nginx`` code block, on free ports of 127.0.0.1 and
a self-signed certificate, as a foreground child process with its own prefix directory."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live import ROOT, free_port

GUIDE = ROOT / "docs" / "deploy.md"
HOST = "portal.example.org"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )


def guide_configuration() -> str:
    """The ``nginx`` code block of docs/deploy.md, exactly as printed."""
    blocks = re.findall(r"^```nginx\n(.*?)^```$", GUIDE.read_text(), re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, f"docs/deploy.md has {len(blocks)} nginx blocks, expected one"
    return str(blocks[0])


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for HOST and 127.0.0.1, and its key (openssl, as an operator would)."""
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST},IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the guide's nginx configuration no longer has {old!r} once"
    return text.replace(old, new)


@dataclass
class Proxy:
    https_port: int
    http_port: int
    certificate: Path
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def origin(self) -> str:
        return f"https://{HOST}:{self.https_port}"

    def log(self) -> str:
        parts = []
        for name in ("error.log", "access.log"):
            path = self.directory / name
            if path.exists():
                parts.append(f"--- nginx {name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


@contextmanager
def nginx_proxy(
    directory: Path, worker_ports: list[int], *, https_port: int | None = None
) -> Iterator[Proxy]:
    """Run nginx with the guide's server blocks in front of ``worker_ports``; only what an
    operator would change is changed: the workers' ports, the listening ports (on
    127.0.0.1) and the certificate's files."""
    binary = nginx_binary()
    assert binary is not None
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate(directory)
    https_port, http_port = https_port or free_port(), free_port()
    config = guide_configuration()
    config = _replace_once(config, "server 127.0.0.1:8001;", f"server 127.0.0.1:{worker_ports[0]};")
    config = _replace_once(config, "server 127.0.0.1:8002;", f"server 127.0.0.1:{worker_ports[1]};")
    config = _replace_once(
        config, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"
    )
    config = _replace_once(config, "listen 80;", f"listen 127.0.0.1:{http_port};")
    config = _replace_once(config, "/etc/ssl/portal/fullchain.pem", str(cert))
    config = _replace_once(config, "/etc/ssl/portal/privkey.pem", str(key))
    temp = [
        f"{kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    ]
    # Debian's /etc/nginx/nginx.conf includes the site inside http { }; this is its minimum.
    (directory / "nginx.conf").write_text(
        "\n".join(
            [
                "daemon off;",
                "worker_processes 1;",
                # As root, workers would switch to nobody, who cannot enter pytest's 0700 tmp.
                "user root;" if os.geteuid() == 0 else "",
                f"pid {directory / 'nginx.pid'};",
                f"error_log {directory / 'error.log'} info;",
                "events { worker_connections 256; }",
                "http {",
                f"access_log {directory / 'access.log'};",
                *temp,
                config,
                "}",
            ]
        )
    )  # fmt: skip
    conf, errors = directory / "nginx.conf", directory / "error.log"
    command = [binary, "-p", str(directory), "-c", str(conf), "-e", str(errors)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, f"nginx refuses the guide's configuration:\n{checked.stderr}"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    proxy = Proxy(https_port, http_port, cert, directory, process)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited early:\n{proxy.log()}")
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not listen in 15 s:\n{proxy.log()}") from None
                time.sleep(0.05)
        yield proxy
    finally:
        process.terminate()  # nginx: fast shutdown
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
