"""Steps 17 to 19: remote firmware updates that fail to download, fail to install, succeed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from certification.judge.outcome import Findings, bool_param, step_rule
from certification.judge.sequence import (
    Exchange,
    Expect,
    between,
    calls,
    charger_call,
    connector_of,
    exchange_of,
    firmware_status_is,
    first,
    match_in_order,
    payload_of,
    portal_call,
    seconds_between,
    status_is,
    status_notifications,
    status_of,
)
from certification.judge.types import Frame, Judgement, StepContext

FAILURES = ("DownloadFailed", "InstallationFailed")


def firmware_statuses(frames: Sequence[Frame], after: Frame) -> list[Frame]:
    return calls(between(frames, after, None), "FirmwareStatusNotification")


def start_update(context: StepContext, findings: Findings) -> Exchange | None:
    """The UpdateFirmware command and its (status-less) reply; a CALLERROR is a fail."""
    update = exchange_of(context.frames, first(context.frames, portal_call("UpdateFirmware")))
    if update is None:
        findings.fail("No UpdateFirmware sent to the charger")
        return None
    findings.expect_result(update, "UpdateFirmware")
    return update


def unexpected_status(
    findings: Findings, notifications: Sequence[Frame], allowed: Sequence[str], expected: str
) -> None:
    for notification in notifications:
        status = payload_of(notification).get("status")
        if status not in allowed:
            findings.fail(
                f"FirmwareStatusNotification {status} received where {expected} was expected",
                notification,
            )


def check_stays_available(
    context: StepContext,
    after: Frame,
    findings: Findings,
    measurements: dict[str, Any],
    failure: str = "the update failed",
    installation: tuple[Frame, Frame] | None = None,
) -> None:
    """After a failed update or upload the charger keeps working: it ends the step Available.

    A reboot is not forbidden but worth a minor remark: nothing should have changed. Except
    within `installation` (from FSN Downloaded to FSN InstallationFailed): a charger may
    restart into its bootloader to install and come back on the old firmware, the optional
    reboot of TC_044_3, which is information.
    """
    frames = context.frames
    boots = calls(between(frames, after, None), "BootNotification")
    measurements["reboots"] = len(boots)
    installing = between(boots, *installation) if installation else []
    if installing:
        findings.info(
            f"The charger rebooted {len(installing)} time(s) to install the image before it "
            "reported InstallationFailed, which the step allows",
            *installing,
        )
    others = [boot for boot in boots if boot not in installing]
    if others:
        findings.minor(f"The charger rebooted {len(others)} time(s) although {failure}", *others)
    for connector in range(1, context.settings.connectors + 1):
        notifications = status_notifications(frames, connector, after=after)
        if notifications and status_of(notifications[-1]) != "Available":
            findings.fail(
                f"Connector {connector} ended the step {status_of(notifications[-1])} where it "
                f"was expected to stay Available although {failure}",
                notifications[-1],
            )
        elif boots and not notifications:
            findings.fail(
                f"No StatusNotification Available for connector {connector} after the reboot",
                boots[-1],
            )


def check_portal_downloads(
    context: StepContext,
    findings: Findings,
    measurements: dict[str, Any],
    claimed: Frame | None,
    download_failed: Frame | None = None,
) -> None:
    """When the portal hosted the image, its own records say whether the charger really
    fetched it: a "Downloaded" without a completed download is a fail.

    Param `portal_downloads`: the portal's records of the image being fetched during the
    step, as dicts with `status` (completed, cut, refused) and `bytes`; absent when the
    image was hosted elsewhere.
    """
    downloads = context.params.get("portal_downloads")
    if downloads is None:
        return
    completed = [d for d in downloads if d.get("status") == "completed"]
    measurements["portal_downloads"] = len(downloads)
    measurements["portal_download_bytes"] = sum(int(d.get("bytes") or 0) for d in downloads)
    if claimed is not None and not completed:
        findings.fail(
            "FirmwareStatusNotification Downloaded received but the charger never completed "
            "a download of the image from the portal",
            claimed,
        )
    if download_failed is not None and completed:
        served = sum(int(d.get("bytes") or 0) for d in completed)
        findings.fail(
            "The charger reported DownloadFailed although the portal's transfer record shows "
            f"it downloaded the whole image ({served} bytes)",
            download_failed,
        )
    cut = [d for d in downloads if d.get("status") == "cut"]
    if cut and completed:
        findings.info(f"{len(cut)} download(s) of the image were cut off and resumed")


@step_rule("UpdateFirmware sent to the charger")
def firmware_download_failed(context: StepContext) -> Judgement:
    """Step 17, Remote Firmware update - Download failed (TC_044_2).

    UpdateFirmware(unreachable location, retries 0) -> FSN Downloading (optional) -> FSN
    DownloadFailed; the charger keeps its firmware and stays Available.

    Measures: the time from UpdateFirmware to DownloadFailed, reboots.
    """
    findings = Findings()
    measurements: dict[str, Any] = {}
    update = start_update(context, findings)
    if update is None:
        return findings.judgement(measurements)
    notifications = firmware_statuses(context.frames, update.call)
    failed = first(notifications, firmware_status_is("DownloadFailed"))
    if failed is None:
        findings.fail("No FirmwareStatusNotification DownloadFailed received", update.call)
    else:
        measurements["download_failed_after_s"] = seconds_between(update.call, failed)
    unexpected_status(findings, notifications, ("Downloading", "DownloadFailed"), "DownloadFailed")
    check_stays_available(context, update.call, findings, measurements)
    return findings.judgement(measurements)


@step_rule("UpdateFirmware sent to the charger")
def firmware_installation_failed(context: StepContext) -> Judgement:
    """Step 18, Remote Firmware update - Installation failed (TC_044_3).

    UpdateFirmware(corrupt image) -> FSN Downloading -> Downloaded -> Installing (optional)
    -> optional reboot -> FSN InstallationFailed -> the charger stays (or comes back)
    Available.

    OCPP 1.6 §7.25 FirmwareStatus: "DownloadFailed: Charge point failed to download
    firmware", "InstallationFailed: Installation of new firmware has failed". A charger that
    received the whole image (the portal's own transfer record says so) and reports
    DownloadFailed reports a status that is not true, and never reports the installation
    failure the step is about: a fail, whatever the seed's lab decided (the engineer has the
    last word). DownloadFailed when the portal's records show the download did not complete
    is a fail too: the installation failure was never exercised, so the step must be
    repeated.

    Params: `download_failed_is_fail` (default True); False makes DownloadFailed minor when
    the portal has no record of the download (the image was hosted elsewhere).
    Measures: the final firmware status, the time from UpdateFirmware to it, reboots.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    update = start_update(context, findings)
    if update is None:
        return findings.judgement(measurements)
    notifications = firmware_statuses(frames, update.call)
    installation_failed = first(notifications, firmware_status_is("InstallationFailed"))
    download_failed = first(notifications, firmware_status_is("DownloadFailed"))
    final = installation_failed or download_failed
    if final is not None:
        measurements["final_status"] = payload_of(final).get("status")
        measurements["failed_after_s"] = seconds_between(update.call, final)
    if installation_failed is not None:
        match = match_in_order(
            frames,
            [
                Expect("FirmwareStatusNotification Downloading", firmware_status_is("Downloading")),
                Expect("FirmwareStatusNotification Downloaded", firmware_status_is("Downloaded")),
                Expect(
                    "FirmwareStatusNotification Installing",
                    firmware_status_is("Installing"),
                    optional=True,
                ),
                Expect(
                    "FirmwareStatusNotification InstallationFailed",
                    firmware_status_is("InstallationFailed"),
                ),
            ],
            after=update.call,
            start_label="UpdateFirmware",
        )
        findings.report_sequence(match)
    elif download_failed is not None:
        message = (
            "FirmwareStatusNotification DownloadFailed received where InstallationFailed was "
            "expected"
        )
        downloads = context.params.get("portal_downloads")
        if downloads is not None or bool_param(context, "download_failed_is_fail", True):
            if downloads is not None and not any(d.get("status") == "completed" for d in downloads):
                message += (
                    ": the portal's records show no complete download, so the installation "
                    "failure was not exercised; repeat the step"
                )
            findings.fail(message, download_failed)
        else:
            findings.minor(message, download_failed)
    else:
        findings.fail("No FirmwareStatusNotification InstallationFailed received", update.call)
    unexpected_status(
        findings,
        notifications,
        ("Downloading", "Downloaded", "Installing", *FAILURES),
        "InstallationFailed",
    )
    check_portal_downloads(
        context,
        findings,
        measurements,
        first(notifications, firmware_status_is("Downloaded")),
        download_failed,
    )
    downloaded = first(notifications, firmware_status_is("Downloaded"))
    installation = (
        (downloaded, installation_failed)
        if downloaded is not None and installation_failed is not None
        else None
    )
    check_stays_available(context, update.call, findings, measurements, installation=installation)
    return findings.judgement(measurements)


@step_rule("UpdateFirmware sent to the charger")
def firmware_install(context: StepContext) -> Judgement:
    """Step 19, Remote Firmware update - Download & install (TC_044_1).

    UpdateFirmware(valid image) -> FSN Downloading -> Downloaded -> Installing ->
    BootNotification with a new firmwareVersion and FSN Installed in either order -> SN
    Available. No SN Unavailable while installing is minor (recommended).

    Params: `previous_firmware_version` (default: the firmwareVersion of a BootNotification
    before the update in the step); `expected_firmware_version` (default None: any new one).
    Measures: firmware_before, firmware_after, download_s, install_s, total_s.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    update = start_update(context, findings)
    if update is None:
        return findings.judgement(measurements)
    match = match_in_order(
        frames,
        [
            Expect("FirmwareStatusNotification Downloading", firmware_status_is("Downloading")),
            Expect("FirmwareStatusNotification Downloaded", firmware_status_is("Downloaded")),
            Expect("FirmwareStatusNotification Installing", firmware_status_is("Installing")),
            (
                Expect("BootNotification", charger_call("BootNotification")),
                Expect("FirmwareStatusNotification Installed", firmware_status_is("Installed")),
            ),
        ],
        after=update.call,
        start_label="UpdateFirmware",
    )
    findings.report_sequence(match)
    notifications = firmware_statuses(frames, update.call)
    unexpected_status(
        findings,
        notifications,
        ("Downloading", "Downloaded", "Installing", "Installed"),
        "Installed",
    )
    downloading = match.get("FirmwareStatusNotification Downloading")
    downloaded = match.get("FirmwareStatusNotification Downloaded")
    installing = match.get("FirmwareStatusNotification Installing")
    check_portal_downloads(context, findings, measurements, downloaded)
    installed = match.get("FirmwareStatusNotification Installed")
    boot = match.get("BootNotification")
    if downloading and downloaded:
        measurements["download_s"] = seconds_between(downloading, downloaded)
    if installing and installed:
        measurements["install_s"] = seconds_between(installing, installed)
    if installed:
        measurements["total_s"] = seconds_between(update.call, installed)

    previous = context.params.get("previous_firmware_version")
    if previous is None:
        earlier = [b for b in calls(frames, "BootNotification") if b.seq < update.call.seq]
        previous = payload_of(earlier[-1]).get("firmwareVersion") if earlier else None
    measurements["firmware_before"] = previous
    if boot is not None:
        _check_new_version(context, boot, previous, findings, measurements)
        available = first(frames, status_is("Available"), after=boot)
        if available is None:
            findings.fail("No StatusNotification Available after the reboot into the new firmware")

    window_start = installing or downloaded or update.call
    window_end = boot or installed
    unavailable = [
        n
        for n in status_notifications(frames, after=window_start, before=window_end)
        if status_of(n) == "Unavailable"
    ]
    if installing is not None:
        # A connector made Unavailable after the UpdateFirmware and still Unavailable when
        # FSN Installing arrives was Unavailable while installing, too.
        in_effect: dict[int | None, Frame] = {}
        for n in status_notifications(frames, after=update.call, before=installing):
            in_effect[connector_of(n)] = n
        unavailable += [n for n in in_effect.values() if status_of(n) == "Unavailable"]
    if not unavailable:
        findings.minor(
            "No StatusNotification Unavailable while the firmware was installing; it is "
            "recommended that the charger reports Unavailable during the installation",
            window_start,
        )
    return findings.judgement(measurements)


def _check_new_version(
    context: StepContext,
    boot: Frame,
    previous: object,
    findings: Findings,
    measurements: dict[str, Any],
) -> None:
    after = payload_of(boot).get("firmwareVersion")
    measurements["firmware_after"] = after
    expected = context.params.get("expected_firmware_version")
    if expected is not None and after != expected:
        findings.fail(
            f"BootNotification reports firmwareVersion {after} where {expected} was expected",
            boot,
        )
    elif previous is not None and after == previous:
        findings.fail(
            f"BootNotification reports firmwareVersion {after}, the same as before the update",
            boot,
        )
    elif previous is None and expected is None:
        findings.info(
            f"The firmware version before the update is unknown; the charger now reports {after}",
            boot,
        )
