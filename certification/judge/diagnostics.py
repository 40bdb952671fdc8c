"""Steps 20 and 21: diagnostics uploaded on request, and an upload that must fail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from certification.judge.firmware import check_stays_available
from certification.judge.outcome import Findings, step_rule
from certification.judge.sequence import (
    Exchange,
    Expect,
    between,
    calls,
    diagnostics_status_is,
    exchange_of,
    exchanges,
    first,
    match_in_order,
    payload_of,
    portal_call,
    seconds_between,
)
from certification.judge.types import Frame, Judgement, StepContext


@step_rule("GetDiagnostics sent to the charger")
def diagnostics_upload(context: StepContext) -> Judgement:
    """Step 20, Remote get diagnostics report (TC_045_1).

    GetDiagnostics(location) -> a reply naming the fileName -> DSN Uploading -> DSN Uploaded,
    and the file really arrived at the location.

    Every GetDiagnostics of the attempt is judged, each up to the next one: the verdict is
    whether the charger can upload its diagnostics over the protocols it supports. OCPP 1.6
    §9.1 SupportedFileTransferProtocols lets a charger support only some of FTP, FTPS, HTTP,
    HTTPS, and §5.9 (Get Diagnostics) has it report "UploadFailed" when an upload fails; so
    an attempt that failed before one that succeeded is information, and the step fails only
    when no attempt uploaded a file that arrived.

    Params: `received_file_names`, the names of the files the portal's upload location
    received during the step (default None: not known, reported as information).
    Measures: file_name, upload_s (Uploading to Uploaded), total_s (command to Uploaded) of
    the attempt that succeeded, and `attempts` (per GetDiagnostics: location, answer,
    fileName, final status).
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    requests = exchanges(frames, "GetDiagnostics")
    if not requests:
        findings.fail("No GetDiagnostics sent to the charger")
        return findings.judgement(measurements)
    received = context.params.get("received_file_names")
    attempts: list[tuple[Findings, dict[str, Any], bool]] = []
    for index, request in enumerate(requests):
        following = requests[index + 1].call if index + 1 < len(requests) else None
        attempts.append(_judge_upload(frames, request, following, received))
    measurements["attempts"] = [summary for _, summary, _ in attempts]
    succeeded = [(own, summary) for own, summary, ok in attempts if ok]
    if succeeded:
        own, summary = succeeded[-1]
        for failed_findings, failed_summary, ok in attempts:
            if not ok:
                findings.info(
                    f"GetDiagnostics to {failed_summary['location']} did not upload "
                    f"({'; '.join(f.message for f in failed_findings.items)}); a later "
                    "GetDiagnostics did, over a protocol the charger supports",
                )
        findings.extend(own)
        measurements.update(
            {k: v for k, v in summary.items() if k in ("file_name", "upload_s", "total_s")}
        )
    else:
        for own, _, _ in attempts:
            findings.extend(own)
        if len(attempts) > 1:
            findings.fail(f"None of the {len(attempts)} GetDiagnostics uploaded a diagnostics file")
    if received is None:
        findings.info(
            "The portal has not confirmed that the diagnostics file arrived at the location"
        )
    return findings.judgement(measurements)


def _judge_upload(
    frames: Sequence[Frame],
    request: Exchange,
    following: Frame | None,
    received: Sequence[str] | None,
) -> tuple[Findings, dict[str, Any], bool]:
    """One GetDiagnostics and what followed it until the next one: its findings, its
    summary, and whether it uploaded a file (that arrived, when the portal can tell)."""
    findings = Findings()
    window = between(frames, request.call, following)
    summary: dict[str, Any] = {
        "location": request.request.get("location"),
        "answer": request.answer,
    }
    file_name = None
    if findings.expect_result(request, "GetDiagnostics"):
        file_name = request.response.get("fileName")
        summary["file_name"] = file_name
        if not file_name:
            findings.fail(
                "GetDiagnostics answered without a fileName: the charger has no diagnostics "
                "to upload",
                *request.frames,
            )
    match = match_in_order(
        window,
        [
            Expect("DiagnosticsStatusNotification Uploading", diagnostics_status_is("Uploading")),
            Expect("DiagnosticsStatusNotification Uploaded", diagnostics_status_is("Uploaded")),
        ],
        start_label="GetDiagnostics",
    )
    failed = first(window, diagnostics_status_is("UploadFailed"))
    if failed is not None:
        summary["status"] = "UploadFailed"
        findings.fail(
            "DiagnosticsStatusNotification UploadFailed received where Uploaded was expected",
            failed,
        )
    else:
        findings.report_sequence(match)
    uploading = match.get("DiagnosticsStatusNotification Uploading")
    uploaded = match.get("DiagnosticsStatusNotification Uploaded")
    if uploaded is not None:
        summary.setdefault("status", "Uploaded")
        summary["total_s"] = seconds_between(request.call, uploaded)
        if uploading is not None:
            summary["upload_s"] = seconds_between(uploading, uploaded)
    if received is not None and uploaded is not None:
        if file_name and file_name not in received:
            findings.fail(
                f"The diagnostics file {file_name} never arrived at the upload location",
                *request.frames,
            )
        elif not received:
            findings.fail("No diagnostics file arrived at the upload location")
    return findings, summary, uploaded is not None and not findings.failed


@step_rule("GetDiagnostics sent to the charger")
def diagnostics_upload_failed(context: StepContext) -> Judgement:
    """Step 21, Remote get diagnostics - fail (TC_045_2).

    GetDiagnostics(invalid location, retries 0) -> DSN Uploading (optional) -> DSN
    UploadFailed; the charger keeps working (stays Available).

    Measures: the time from GetDiagnostics to UploadFailed, reboots.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    request = exchange_of(frames, first(frames, portal_call("GetDiagnostics")))
    if request is None:
        findings.fail("No GetDiagnostics sent to the charger")
        return findings.judgement(measurements)
    findings.expect_result(request, "GetDiagnostics")
    notifications = calls(between(frames, request.call, None), "DiagnosticsStatusNotification")
    failed = first(notifications, diagnostics_status_is("UploadFailed"))
    if failed is None:
        findings.fail("No DiagnosticsStatusNotification UploadFailed received", request.call)
    else:
        measurements["upload_failed_after_s"] = seconds_between(request.call, failed)
    for notification in notifications:
        status = payload_of(notification).get("status")
        if status not in ("Uploading", "UploadFailed", "Idle"):
            findings.fail(
                f"DiagnosticsStatusNotification {status} received where UploadFailed was expected",
                notification,
            )
    check_stays_available(context, request.call, findings, measurements, "the upload failed")
    return findings.judgement(measurements)
