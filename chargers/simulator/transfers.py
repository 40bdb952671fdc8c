"""File transfers a charger does on the CSMS's request: fetching firmware, uploading
diagnostics.

Only the standard library: these run in a worker thread (``asyncio.to_thread``) so a slow or
silent server never stalls the OCPP connection. Proxies from the environment are ignored on
purpose: the locations a certification run hands out are the portal's own.
"""

from __future__ import annotations

import ftplib
import io
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

# An image made for the simulator starts with this line; its second word is the version.
FIRMWARE_MAGIC = b"SIMFW"
# Headers of image formats real chargers ship: zip (APK), gzip, ELF.
KNOWN_IMAGE_FORMATS = (b"PK\x03\x04", b"\x1f\x8b", b"\x7fELF")
TRANSFER_SCHEMES = {"http", "https", "ftp"}


class TransferFailed(Exception):
    """The location was invalid or unreachable, or the server refused the transfer."""


@dataclass(frozen=True)
class FirmwareImage:
    content: bytes
    version: str | None  # the version the image would install, when it can be told

    @property
    def looks_valid(self) -> bool:
        """What a charger's installer checks first: the image is in a format it knows. A
        simulator image (magic header) or a known container (zip/APK, gzip, ELF) is taken;
        text (an HTML error page) and random bytes (the corrupt image of the installation-
        failed step) are refused."""
        if self.content.startswith(FIRMWARE_MAGIC):
            return True
        return self.content.startswith(KNOWN_IMAGE_FORMATS) and len(self.content) >= 64


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _check_location(location: str) -> urllib.parse.SplitResult:
    parts = urllib.parse.urlsplit(location)
    if parts.scheme not in TRANSFER_SCHEMES or not parts.hostname:
        raise TransferFailed(f"unusable location {location!r}")
    return parts


def fetch_firmware(location: str, timeout: float = 10) -> FirmwareImage:
    """Download the image at ``location`` (http, https or ftp)."""
    _check_location(location)
    try:
        with _opener().open(location, timeout=timeout) as response:
            content = response.read(64 * 1024 * 1024)
    except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
        raise TransferFailed(f"download from {location} failed: {error}") from error
    return FirmwareImage(content=content, version=firmware_version_of(location, content))


def firmware_version_of(location: str, content: bytes) -> str | None:
    """The version an image announces (``SIMFW <version>`` header), else its file name's stem."""
    if content.startswith(FIRMWARE_MAGIC):
        words = content.split(b"\n", 1)[0].split()
        if len(words) > 1:
            return words[1].decode("ascii", "replace")[:50]
    name = urllib.parse.urlsplit(location).path.rsplit("/", 1)[-1]
    stem = re.sub(r"\.(bin|img|zip|tar|gz|tgz|fw)$", "", name, flags=re.IGNORECASE)
    return stem[:50] or None


def upload_diagnostics(location: str, file_name: str, content: bytes, timeout: float = 10) -> str:
    """Upload ``content`` as ``file_name`` and return the URL it went to.

    A location ending in "/" is a directory and gets the file name appended, as chargers do
    with the usual ``ftp://host/path/`` locations; any other location is used as given.
    """
    parts = _check_location(location)
    path = parts.path or "/"
    if path.endswith("/"):
        path += urllib.parse.quote(file_name)
    target = urllib.parse.urlunsplit(parts._replace(path=path))
    if parts.scheme == "ftp":
        _ftp_upload(urllib.parse.urlsplit(target), content, timeout)
        return target
    request = urllib.request.Request(  # noqa: S310 - the scheme was checked above
        target, data=content, method="PUT", headers={"Content-Type": "text/plain"}
    )
    try:
        with _opener().open(request, timeout=timeout) as response:
            response.read()
    except (OSError, ValueError) as error:
        raise TransferFailed(f"upload to {target} failed: {error}") from error
    return target


def _ftp_upload(parts: urllib.parse.SplitResult, content: bytes, timeout: float) -> None:
    directory, _, name = urllib.parse.unquote(parts.path).rpartition("/")
    try:
        with ftplib.FTP(timeout=timeout) as ftp:  # noqa: S321 - chargers speak plain FTP
            ftp.connect(parts.hostname or "", parts.port or 21)
            ftp.login(parts.username or "anonymous", parts.password or "")
            if directory:
                ftp.cwd(directory)
            ftp.storbinary(f"STOR {name}", io.BytesIO(content))
    except (OSError, ftplib.Error) as error:
        raise TransferFailed(f"FTP upload failed: {error}") from error
