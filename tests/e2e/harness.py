"""What an end-to-end certification test needs: the portal's API over real HTTP, a
scripted charger in its own event loop, and a file server for firmware and diagnostics."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from chargers.simulator import ChargerConfig, SimulatedCharger

T = TypeVar("T")


class Api:
    """The automation API as a lab script uses it: token auth, JSON in and out."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise AssertionError(
                f"{method} {path} -> {error.code}: {error.read().decode()[:500]}"
            ) from None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body if body is not None else {})

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body)

    def upload(self, path: str, field: str, file_name: str, content: bytes) -> Any:
        """POST one file as multipart/form-data, as a script uploads a firmware image."""
        boundary = "----portal-e2e-boundary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                f'filename="{file_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Token {self.token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise AssertionError(
                f"POST {path} -> {error.code}: {error.read().decode()[:500]}"
            ) from None


class ChargerThread:
    """A SimulatedCharger living in its own thread and event loop, driven from the test."""

    def __init__(self, config: ChargerConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.charger: SimulatedCharger = self.do(self._make())

    async def _make(self) -> SimulatedCharger:
        return SimulatedCharger(self.config)

    def do(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        try:
            self.do(self.charger.close(), timeout=15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


FIRMWARE_IMAGE = b"SIMFW 2.0.0\n" + bytes(range(256)) * 64
CORRUPT_IMAGE = b"<html><body>404: this is not firmware</body></html>\n"


class FileServer:
    """Firmware images to download and a diagnostics location to upload to (HTTP PUT), on
    127.0.0.1, as a lab's file server would offer them."""

    def __init__(self) -> None:
        self.uploads: dict[str, bytes] = {}
        self.downloads: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.downloads.append(self.path)
                body = {"/valid.bin": FIRMWARE_IMAGE, "/corrupt.bin": CORRUPT_IMAGE}.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                owner.uploads[self.path] = self.rfile.read(length)
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def file_server() -> Iterator[FileServer]:
    server = FileServer()
    try:
        yield server
    finally:
        server.close()


def settle(seconds: float) -> None:
    """Let the charger and the portal exchange what follows an action."""
    time.sleep(seconds)
