"""What the simulator takes for a firmware image, and where diagnostics go."""

from __future__ import annotations

import pytest

from chargers.simulator.transfers import (
    FirmwareImage,
    TransferFailed,
    fetch_firmware,
    firmware_version_of,
    upload_diagnostics,
)
from tests.simulator.harness import FileServer


def test_an_image_with_the_simulator_header_is_valid_and_names_its_version() -> None:
    content = b"SIMFW V1.0.1_C8_Standard\nbinary..."

    assert FirmwareImage(content, None).looks_valid
    assert firmware_version_of("http://h/fw.bin", content) == "V1.0.1_C8_Standard"


def test_only_known_image_formats_install() -> None:
    assert not FirmwareImage(b"<html><body>404 Not Found</body></html>" * 3, None).looks_valid
    # Random bytes are what the portal serves as the corrupt image of step 18.
    assert not FirmwareImage(bytes(range(256)), None).looks_valid
    assert FirmwareImage(b"PK\x03\x04" + bytes(100), None).looks_valid  # an APK / zip
    assert FirmwareImage(b"\x7fELF" + bytes(100), None).looks_valid


def test_without_a_header_the_version_is_the_file_name() -> None:
    assert firmware_version_of("http://h/images/R22-2.4.2.bin?token=x", b"\0") == "R22-2.4.2"


def test_obviously_invalid_locations_fail_without_a_network() -> None:
    for location in ("", "not a url", "file:///etc/passwd", "http:///no-host"):
        with pytest.raises(TransferFailed):
            fetch_firmware(location, timeout=1)
        with pytest.raises(TransferFailed):
            upload_diagnostics(location, "d.txt", b"x", timeout=1)


def test_a_missing_image_is_a_download_failure() -> None:
    with FileServer({}) as files, pytest.raises(TransferFailed, match="404"):
        fetch_firmware(files.url("/missing.bin"), timeout=2)


def test_diagnostics_go_into_a_directory_location_or_to_the_exact_url() -> None:
    with FileServer({}) as files:
        into_directory = upload_diagnostics(files.url("/upload/"), "d 1.txt", b"a", timeout=2)
        exact = upload_diagnostics(files.url("/exact/name.txt"), "d.txt", b"b", timeout=2)
        uploads = dict(files.uploads)

    assert into_directory.endswith("/upload/d%201.txt")
    assert exact.endswith("/exact/name.txt")
    assert uploads == {"/upload/d%201.txt": b"a", "/exact/name.txt": b"b"}
