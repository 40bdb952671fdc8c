"""Firmware served to chargers and diagnostics received from them, over HTTP and FTP,
each recorded as evidence of the step that was running."""

from __future__ import annotations

import datetime
import ftplib
import hashlib
import io
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certification.models import StepResult, TestRun
from certification.services import start_step
from chargers import transfers
from chargers.ftp import build_server
from chargers.models import ChargePoint, FirmwareImage, FirmwareVersion, Transfer, User
from tests.live import eventually, free_port

IMAGE = b"SIMFW 2.0.0\n" + bytes(range(256)) * 800  # 204,812 bytes


@pytest.fixture
def image(c8eu_firmware: FirmwareVersion) -> FirmwareImage:
    return transfers.store_firmware_image(c8eu_firmware, ContentFile(IMAGE, name="c8-2.0.0.apk"))


@pytest.fixture
def charge_point(c8eu_firmware: FirmwareVersion) -> ChargePoint:
    from chargers.services import create_charge_point

    charge_point, _ = create_charge_point(
        "FILES-1", no_auth=True, charger_model=c8eu_firmware.charger_model
    )
    return charge_point


def streamed(response: object) -> bytes:
    return b"".join(cast(Any, response).streaming_content)


def download_url(location: object) -> str:
    return transfers.http_url(location, "")  # type: ignore[arg-type]


@pytest.mark.django_db
def test_a_charger_downloads_the_whole_image_and_it_is_recorded(
    client: Client, image: FirmwareImage, charge_point: ChargePoint
) -> None:
    location = transfers.firmware_location(charge_point, image)
    response = client.get(download_url(location))
    assert response.status_code == 200 and response["Accept-Ranges"] == "bytes"
    assert streamed(response) == IMAGE
    [record] = Transfer.objects.all()
    assert (record.status, record.bytes_transferred, record.direction) == (
        "completed",
        len(IMAGE),
        "download",
    )
    assert record.charge_point == charge_point and record.sha256 == image.sha256


@pytest.mark.django_db
def test_a_charger_resumes_with_a_range_request(
    client: Client, image: FirmwareImage, charge_point: ChargePoint
) -> None:
    url = download_url(transfers.firmware_location(charge_point, image))
    head = client.get(url, HTTP_RANGE="bytes=0-99")
    assert head.status_code == 206 and head["Content-Range"] == f"bytes 0-99/{len(IMAGE)}"
    assert streamed(head) == IMAGE[:100]
    rest = client.get(url, HTTP_RANGE="bytes=100-")
    assert streamed(rest) == IMAGE[100:]
    tail = client.get(url, HTTP_RANGE="bytes=-12")
    assert streamed(tail) == IMAGE[-12:]
    bad = client.get(url, HTTP_RANGE=f"bytes={len(IMAGE) + 5}-")
    assert bad.status_code == 416 and bad["Content-Range"] == f"bytes */{len(IMAGE)}"
    statuses = list(
        Transfer.objects.order_by("started_at", "pk").values_list("status", "byte_range")
    )
    assert statuses[-1] == ("refused", f"bytes={len(IMAGE) + 5}-")
    assert [s for s, _ in statuses[:3]] == ["completed", "completed", "completed"]


@pytest.mark.django_db(transaction=True)  # closing a response ends the request's connection
def test_a_download_cut_off_midway_is_recorded_as_cut(
    client: Client, image: FirmwareImage, charge_point: ChargePoint
) -> None:
    response = client.get(download_url(transfers.firmware_location(charge_point, image)))
    chunks = iter(cast(Any, response).streaming_content)
    first = next(chunks)
    response.close()  # the charger hangs up
    record = Transfer.objects.get()
    assert record.status == "cut" and record.bytes_transferred == len(first) < len(IMAGE)
    assert f"of {len(IMAGE)}" in record.detail


@pytest.mark.django_db
def test_expired_and_unknown_locations_are_refused(
    client: Client, image: FirmwareImage, charge_point: ChargePoint
) -> None:
    location = transfers.firmware_location(charge_point, image)
    location.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    location.save()
    assert client.get(download_url(location)).status_code == 410
    assert Transfer.objects.get().detail == "location expired"
    assert (
        client.get(
            reverse("chargers:firmware-download", args=["guess", "c8-2.0.0.apk"])
        ).status_code
        == 404
    )
    other_name = reverse("chargers:firmware-download", args=[location.token, "other.apk"])
    assert client.get(other_name).status_code == 404
    assert client.post(download_url(location)).status_code == 405


@pytest.mark.django_db
def test_diagnostics_arrive_by_put_and_by_multipart_post(
    client: Client, charge_point: ChargePoint
) -> None:
    location = transfers.diagnostics_location(charge_point)
    put = client.put(
        reverse("chargers:diagnostics-upload-named", args=[location.token, "diag-2023.log"]),
        data=b"line 1\nline 2\n",
        content_type="application/octet-stream",
    )
    assert put.status_code == 201
    # One completed upload uses a location up.
    again = client.put(
        reverse("chargers:diagnostics-upload-named", args=[location.token, "again.log"]),
        data=b"again",
        content_type="application/octet-stream",
    )
    assert again.status_code == 410 and b"already used" in again.content
    second_location = transfers.diagnostics_location(charge_point)
    post = client.post(
        reverse("chargers:diagnostics-upload", args=[second_location.token]),
        {"file": io.BytesIO(b"zip-bytes")},
    )
    assert post.status_code == 201
    first, refused, second = Transfer.objects.order_by("started_at", "pk")
    assert refused.status == "refused" and refused.detail.startswith("location already used")
    assert (first.file_name, first.bytes_transferred) == ("diag-2023.log", 14)
    assert first.file.read() == b"line 1\nline 2\n"
    assert first.sha256 == hashlib.sha256(b"line 1\nline 2\n").hexdigest()
    assert second.bytes_transferred == 9 and second.protocol == "http"
    assert (
        client.get(reverse("chargers:diagnostics-upload", args=[location.token])).status_code == 405
    )


@pytest.mark.django_db
def test_uploads_over_the_limit_are_refused_and_recorded(
    client: Client, charge_point: ChargePoint, settings: object
) -> None:
    settings.TRANSFER_MAX_UPLOAD_BYTES = 10  # type: ignore[attr-defined]
    location = transfers.diagnostics_location(charge_point)
    response = client.put(
        reverse("chargers:diagnostics-upload-named", args=[location.token, "big.log"]),
        data=b"x" * 11,
        content_type="application/octet-stream",
    )
    assert response.status_code == 413
    record = Transfer.objects.get()
    assert record.status == "refused" and "over the limit" in record.detail and not record.file


def test_file_names_cannot_climb_out_of_their_directory() -> None:
    assert transfers.safe_file_name("../../etc/passwd") == "passwd"
    assert transfers.safe_file_name("..\\..\\boot.ini") == "boot.ini"
    assert transfers.safe_file_name(".hidden") == "hidden"
    assert transfers.safe_file_name("") == "file.bin"
    assert transfers.safe_file_name("a b;c.log") == "a_b_c.log"


@pytest.mark.django_db
def test_the_corrupt_image_has_the_models_file_type_and_garbage_inside(
    image: FirmwareImage, c8eu_firmware: FirmwareVersion
) -> None:
    corrupt = transfers.corrupt_image_for(c8eu_firmware)
    assert corrupt.original_name.endswith(".apk") and corrupt.purpose == "corrupt"
    assert corrupt.size == image.size
    content = corrupt.file.read()
    assert not content.startswith(b"SIMFW") and content != IMAGE
    assert transfers.corrupt_image_for(c8eu_firmware) == corrupt  # made once


@pytest.mark.django_db
def test_placeholders_become_this_runs_locations(
    run: TestRun, image: FirmwareImage, engineer: User
) -> None:
    newer = FirmwareVersion.objects.create(charger_model=run.charger_model, version="2.0.0")
    target = transfers.store_firmware_image(newer, ContentFile(IMAGE, name="c8-2.0.0.apk"))
    payload = {
        "location": "{firmware:valid}",
        "retrieveDate": "2020-01-01T00:00:00Z",
        "nested": ["{firmware:corrupt}", "{diagnostics:http}", "{diagnostics:ftp}", "plain"],
    }
    resolved = transfers.resolve_placeholders(run, payload, "http://portal.lab:8000")
    assert resolved["location"].startswith("http://portal.lab:8000/transfers/firmware/")
    assert resolved["location"].endswith("/c8-2.0.0.apk")
    assert target.locations.get().run == run
    corrupt, http, ftp, plain = resolved["nested"]
    assert "/transfers/firmware/" in corrupt and "corrupt-" in corrupt
    assert http.startswith("http://portal.lab:8000/transfers/diagnostics/")
    assert ftp.startswith("ftp://diag-") and plain == "plain"
    # The run keeps one diagnostics location: HTTP and FTP name the same one.
    assert run.transfer_locations.filter(kind="diagnostics").count() == 1


@pytest.fixture
def ftp_server(transactional_db: None) -> Iterator[int]:
    port = free_port()
    server = build_server("127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2}, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close_all()
        thread.join(5)


@pytest.mark.django_db(transaction=True)
def test_ftp_upload_with_the_locations_own_credentials(
    ftp_server: int, run: TestRun, engineer: User
) -> None:
    step = run.plan.steps.get(number=20)
    result = start_step(run, step, engineer, anyway="no charger in this test")
    location = transfers.diagnostics_location(run.charge_point, run)
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", ftp_server, timeout=5)
        with pytest.raises(ftplib.error_perm, match="530"):
            ftp.login(location.ftp_username, "not-the-password")
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", ftp_server, timeout=5)
        ftp.login(location.ftp_username, location.ftp_password)
        ftp.storbinary("STOR diagnostics-C8EU.zip", io.BytesIO(b"PK\x03\x04 diagnostics"))
        assert ftp.nlst() == []  # taken into storage; nothing of other runs is visible
        # The credentials were for one upload.
        with pytest.raises(ftplib.error_perm, match="550 Upload refused: location already used"):
            ftp.storbinary("STOR second.zip", io.BytesIO(b"x"))
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", ftp_server, timeout=5)
        with pytest.raises(ftplib.error_perm, match="530 Login refused: location already used"):
            ftp.login(location.ftp_username, location.ftp_password)
    other = transfers.diagnostics_location(run.charge_point, run)
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", ftp_server, timeout=5)
        ftp.login(other.ftp_username, other.ftp_password)
        ftp.cwd("..")  # the home directory is the root: ".." stays in it
        ftp.storbinary("STOR ../escape.txt", io.BytesIO(b"x"))
    records = list(Transfer.objects.filter(status="completed").order_by("pk"))
    assert [r.file_name for r in records] == ["diagnostics-C8EU.zip", "escape.txt"]
    assert [r.location for r in records] == [location, other]
    from chargers.ftp import ftp_root

    assert not (ftp_root().parent / "escape.txt").exists()
    record = records[0]
    assert (record.protocol, record.bytes_transferred) == ("ftp", 16)
    assert record.step_result == result and record.run == run
    assert record.file.read() == b"PK\x03\x04 diagnostics"


@pytest.mark.django_db(transaction=True)
def test_ranged_download_and_upload_against_a_live_server(
    tmp_path: Path, image: FirmwareImage, charge_point: ChargePoint, engineer: User
) -> None:
    from tests.live import daphne_server

    with daphne_server(tmp_path) as server:
        firmware_url = transfers.http_url(
            transfers.firmware_location(charge_point, image), server.http_url
        )
        resumed = urllib.request.Request(firmware_url, headers={"Range": "bytes=1000-"})
        with urllib.request.urlopen(resumed, timeout=10) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 1000-{len(IMAGE) - 1}/{len(IMAGE)}"
            assert response.read() == IMAGE[1000:]
        location = transfers.diagnostics_location(charge_point)
        upload_url = transfers.http_url(location, server.http_url) + "diag-live.log"
        put = urllib.request.Request(upload_url, data=b"live diagnostics\n", method="PUT")
        with urllib.request.urlopen(put, timeout=10) as response:
            assert response.status == 201
        assert eventually(lambda: Transfer.objects.filter(direction="download").exists())
    download = Transfer.objects.get(direction="download")
    assert (download.status, download.byte_range) == ("completed", "bytes=1000-")
    assert download.bytes_transferred == len(IMAGE) - 1000
    upload = Transfer.objects.get(direction="upload")
    assert upload.file.read() == b"live diagnostics\n"
    client = Client()
    client.force_login(engineer)
    stored = client.get(reverse("chargers:transfer-file", args=[upload.pk]))
    assert streamed(stored) == b"live diagnostics\n"


# --- Limits, enforced while the bytes arrive; locations that end with their step ---------

MIB = 1024 * 1024


@pytest.mark.django_db
def test_a_put_between_10_and_50_mib_is_stored_with_its_hash(
    client: Client, charge_point: ChargePoint
) -> None:
    # Above Django's DATA_UPLOAD_MAX_MEMORY_SIZE (10 MiB), under the documented 50 MB.
    body = bytes(range(256)) * (12 * MIB // 256)
    location = transfers.diagnostics_location(charge_point)
    response = client.put(
        reverse("chargers:diagnostics-upload-named", args=[location.token, "big.log"]),
        data=body,
        content_type="application/octet-stream",
    )
    assert response.status_code == 201, response.content
    stored = Transfer.objects.get()
    assert (stored.status, stored.bytes_transferred) == ("completed", len(body))
    assert stored.sha256 == hashlib.sha256(body).hexdigest()


def incoming_files() -> list[Path]:
    from django.conf import settings

    incoming = Path(settings.MEDIA_ROOT) / "incoming"
    return list(incoming.iterdir()) if incoming.exists() else []


@pytest.mark.django_db(transaction=True)
def test_a_chunked_put_over_the_limit_is_cut_and_recorded(
    tmp_path: Path, charge_point: ChargePoint
) -> None:
    import http.client

    from tests.live import daphne_server

    location = transfers.diagnostics_location(charge_point)
    with daphne_server(tmp_path, extra_env={"TRANSFER_MAX_UPLOAD_BYTES": str(MIB)}) as server:
        path = transfers.http_url(location, "") + "big.log"
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        # No Content-Length: only counting the bytes can tell.
        chunks = (b"x" * (64 * 1024) for _ in range(48))  # 3 MiB
        connection.request("PUT", path, body=chunks, encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 413, response.read()
        connection.close()
    record = Transfer.objects.get()
    assert record.status == "refused" and not record.file
    assert record.detail.startswith(f"over the limit of {MIB} bytes")
    assert MIB < record.bytes_transferred <= MIB + 64 * 1024
    assert incoming_files() == []


@pytest.mark.django_db(transaction=True)
def test_an_ftp_upload_over_the_limit_is_aborted_and_removed(
    ftp_server: int, run: TestRun, engineer: User, settings: Any
) -> None:
    settings.TRANSFER_MAX_UPLOAD_BYTES = MIB
    start_step(run, run.plan.steps.get(number=20), engineer, anyway="no charger in this test")
    location = transfers.diagnostics_location(run.charge_point, run)
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", ftp_server, timeout=10)
        ftp.login(location.ftp_username, location.ftp_password)
        with pytest.raises(ftplib.error_perm, match=r"^552 Upload over the limit"):
            try:
                ftp.storbinary("STOR huge.zip", io.BytesIO(b"z" * (8 * MIB)))
            except ConnectionError:
                ftp.getresp()  # the data connection was cut: the refusal is on the control one
    from chargers.ftp import ftp_root

    assert eventually(lambda: Transfer.objects.exists())
    record = Transfer.objects.get()
    assert (record.status, record.protocol) == ("refused", "ftp")
    assert record.detail.startswith(f"over the limit of {MIB} bytes")
    # Cut within a read buffer of the limit, not after 8 MiB; nothing left on disk.
    assert MIB < record.bytes_transferred < 2 * MIB
    assert list((ftp_root() / location.token).iterdir()) == []


@pytest.mark.django_db
def test_an_upload_location_ends_with_its_step_and_its_run(
    client: Client, run: TestRun, engineer: User
) -> None:
    from certification.services import finish_step, submit_for_review

    def put(location: Any) -> int:
        return client.put(
            reverse("chargers:diagnostics-upload-named", args=[location.token, "d.log"]),
            data=b"log",
            content_type="application/octet-stream",
        ).status_code

    result = start_step(
        run, run.plan.steps.get(number=20), engineer, anyway="no charger in this test"
    )
    during_step = transfers.diagnostics_location(run.charge_point, run)
    finish_step(result)
    assert put(during_step) == 410
    run.refresh_from_db()
    outside_steps = transfers.diagnostics_location(run.charge_point, run)
    now = timezone.now()
    for step in run.plan.steps.all():
        StepResult.objects.update_or_create(
            run=run,
            step=step,
            attempt=1,
            defaults={"started_at": now, "finished_at": now, "final_verdict": "Y"},
        )
    submit_for_review(run, engineer)
    assert put(outside_steps) == 410
    details = list(Transfer.objects.order_by("pk").values_list("detail", flat=True))
    assert details == [
        "the step it was given in has finished",
        "the run it was given for is no longer in progress",
    ]
