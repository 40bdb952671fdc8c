"""An upload's memory in a served worker is bounded by a chunk, whatever the file's size.

A real ``manage.py serve`` worker receives a multipart POST (a charger's diagnostics
upload, the same path as the firmware page's: Twisted, Django's multipart parser, then
``transfers.receive_file``) of 2 MiB and of 40 MiB. The worker's peak resident memory
(``VmHWM``, reset before each upload through ``/proc/<pid>/clear_refs``) may grow by a
few MiB for an upload, but the 40 MiB one must not cost it more than a fraction of the
38 MiB it has more: before ``serve`` stopped Twisted parsing form bodies itself, a
multipart body cost about 12x its size (bench/RESULTS.md, "Upload memory")."""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from chargers import services, transfers
from chargers.models import FirmwareVersion, Transfer
from tests.live import LiveServer, daphne_server

MIB = 1024 * 1024
BLOCK = bytes(range(256)) * 4096  # 1 MiB of a pattern
BOUNDARY = "----upload-memory-boundary"
SMALL, LARGE = 2, 40  # MiB
# What the larger upload may add to the worker's peak, over what the smaller one adds, as
# a share of the bytes it has more. Twisted's own parsing cost about 12 (1200 %).
ALLOWED_GROWTH = 0.25

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc/<pid>/clear_refs"
)


def kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` figure (``VmRSS``, ``VmHWM``) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


def post_diagnostics(server: LiveServer, path: str, mebibytes: int) -> tuple[int, str, str]:
    """A multipart POST of ``mebibytes`` MiB in a "file" field, sent a block at a time
    with its Content-Length, as a charger does; (status, body, SHA-256 of the file)."""
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="diagnostics.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    digest = hashlib.sha256()
    for _ in range(mebibytes):
        digest.update(BLOCK)

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(mebibytes):
            yield BLOCK
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        connection.request(
            "POST",
            path,
            body=body(),
            headers={
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(len(head) + mebibytes * MIB + len(tail)),
            },
        )
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace"), digest.hexdigest()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_served_workers_peak_does_not_grow_with_the_uploads_size(
    tmp_path: Path, c8eu_firmware: FirmwareVersion
) -> None:
    charge_point, _ = services.create_charge_point(
        "MEMORY-1", no_auth=True, charger_model=c8eu_firmware.charger_model
    )
    limit = {"TRANSFER_MAX_UPLOAD_BYTES": str((LARGE + 1) * MIB), "FTP_PORT": "0"}
    with daphne_server(tmp_path, extra_env=limit) as server:
        pid = server.process.pid

        def upload(mebibytes: int) -> int:
            """Post one file; the worker's peak memory during it, over its memory before,
            in KiB."""
            location = transfers.diagnostics_location(charge_point)
            path = transfers.http_url(location, "")
            before = kib(pid, "VmRSS")
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS from here
            status, text, sha256 = post_diagnostics(server, path, mebibytes)
            peak = kib(pid, "VmHWM")
            assert status == 201, f"{text}\n{server.log()[-3000:]}"
            stored = Transfer.objects.get(location=location)
            assert (stored.bytes_transferred, stored.sha256) == (mebibytes * MIB, sha256)
            return peak - before

        # The first request of a worker loads code and starts its thread pool: not measured.
        upload(SMALL)
        small = upload(SMALL)
        large = upload(LARGE)
    growth = (large - small) / ((LARGE - SMALL) * 1024)
    assert growth < ALLOWED_GROWTH, (
        f"the worker's peak grew by {small / 1024:.1f} MiB for a {SMALL} MiB upload and by "
        f"{large / 1024:.1f} MiB for a {LARGE} MiB one: {growth:.2f} MiB per MiB more"
    )
