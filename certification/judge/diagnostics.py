"""Steps 20 and 21: diagnostics uploaded on request, and an upload that must fail."""

from __future__ import annotations

from typing import Any

from certification.judge.firmware import check_stays_available
from certification.judge.outcome import Findings, step_rule
from certification.judge.sequence import (
    Expect,
    between,
    calls,
    diagnostics_status_is,
    exchange_of,
    first,
    match_in_order,
    payload_of,
    portal_call,
    seconds_between,
)
from certification.judge.types import Judgement, StepContext


@step_rule("GetDiagnostics sent to the charger")
def diagnostics_upload(context: StepContext) -> Judgement:
    """Step 20, Remote get diagnostics report (TC_045_1).

    GetDiagnostics(location) -> a reply naming the fileName -> DSN Uploading -> DSN Uploaded,
    and the file really arrived at the location.

    Params: `received_file_names`, the names of the files the portal's upload location
    received during the step (default None: not known, reported as information).
    Measures: file_name, upload_s (Uploading to Uploaded), total_s (command to Uploaded).
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    request = exchange_of(frames, first(frames, portal_call("GetDiagnostics")))
    if request is None:
        findings.fail("No GetDiagnostics sent to the charger")
        return findings.judgement(measurements)
    file_name = None
    if findings.expect_result(request, "GetDiagnostics"):
        file_name = request.response.get("fileName")
        measurements["file_name"] = file_name
        if not file_name:
            findings.fail(
                "GetDiagnostics answered without a fileName: the charger has no diagnostics "
                "to upload",
                *request.frames,
            )
    match = match_in_order(
        frames,
        [
            Expect("DiagnosticsStatusNotification Uploading", diagnostics_status_is("Uploading")),
            Expect("DiagnosticsStatusNotification Uploaded", diagnostics_status_is("Uploaded")),
        ],
        after=request.call,
        start_label="GetDiagnostics",
    )
    findings.report_sequence(match)
    failed = first(frames, diagnostics_status_is("UploadFailed"), after=request.call)
    if failed is not None:
        findings.fail(
            "DiagnosticsStatusNotification UploadFailed received where Uploaded was expected",
            failed,
        )
    uploading = match.get("DiagnosticsStatusNotification Uploading")
    uploaded = match.get("DiagnosticsStatusNotification Uploaded")
    if uploaded is not None:
        measurements["total_s"] = seconds_between(request.call, uploaded)
        if uploading is not None:
            measurements["upload_s"] = seconds_between(uploading, uploaded)
    received = context.params.get("received_file_names")
    if received is None:
        findings.info(
            "The portal has not confirmed that the diagnostics file arrived at the location"
        )
    elif file_name and file_name not in received:
        findings.fail(
            f"The diagnostics file {file_name} never arrived at the upload location",
            *request.frames,
        )
    elif not received:
        findings.fail("No diagnostics file arrived at the upload location")
    return findings.judgement(measurements)


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
