"""Step 22: clearing the authorization cache."""

from __future__ import annotations

from typing import Any

from certification.judge.outcome import Findings, step_rule
from certification.judge.sequence import (
    between,
    calls,
    configured_value,
    exchange_of,
    first,
    payload_of,
    portal_call,
    seconds_between,
)
from certification.judge.types import Judgement, StepContext


@step_rule("ClearCache sent to the charger")
def clear_cache(context: StepContext) -> Judgement:
    """Step 22, Clear cache (TC_061).

    With LocalPreAuthorize true and a cached card: ClearCache -> Accepted -> [present the same
    card] -> an Authorize for it is sent again, the proof that the cache is empty.

    Params: `id_tag`, the cached card (default: the last idTag authorized or used to start
    a transaction before the ClearCache in the step; unknown means any Authorize counts).
    Measures: the idTag and the time from ClearCache to the new Authorize.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    clear = exchange_of(frames, first(frames, portal_call("ClearCache")))
    if clear is None:
        findings.fail("No ClearCache sent to the charger")
        return findings.judgement(measurements)
    findings.expect_reply(clear, ("Accepted",), "ClearCache")
    pre_authorize, _ = configured_value(frames, "LocalPreAuthorize", before=clear.call)
    if pre_authorize is not None and pre_authorize.lower() != "true":
        findings.info(
            f"LocalPreAuthorize is {pre_authorize} in this step where true was expected: a "
            "new Authorize proves less without it"
        )
    id_tag = context.params.get("id_tag")
    if id_tag is None:
        used = [
            frame
            for frame in between(frames, None, clear.call)
            if frame.direction == "in"
            and frame.action in ("Authorize", "StartTransaction")
            and frame.message_type == 2
        ]
        id_tag = payload_of(used[-1]).get("idTag") if used else None
    measurements["id_tag"] = id_tag
    authorizations = calls(between(frames, clear.last, None), "Authorize")
    same = [a for a in authorizations if id_tag is None or payload_of(a).get("idTag") == id_tag]
    if same:
        measurements["clear_to_authorize_s"] = seconds_between(clear.call, same[0])
    elif authorizations:
        others = ", ".join(sorted({str(payload_of(a).get("idTag")) for a in authorizations}))
        findings.fail(
            f"Authorize after ClearCache came for idTag {others} where the cached card "
            f"{id_tag} was expected",
            *authorizations,
        )
    else:
        findings.fail(
            "No Authorize after ClearCache: presenting the same card again was expected to "
            "send a new Authorize, proving the cache is empty",
            *clear.frames,
        )
    return findings.judgement(measurements)
