"""Step 22: clearing the authorization cache."""

from __future__ import annotations

from typing import Any

from certification.judge.outcome import Findings, known_setting, step_rule
from certification.judge.sequence import (
    between,
    calls,
    charger_call,
    exchange_of,
    first,
    payload_of,
    portal_call,
    same_id_tag,
    seconds_between,
)
from certification.judge.types import CALL, Judgement, StepContext


@step_rule("ClearCache sent to the charger")
def clear_cache(context: StepContext) -> Judgement:
    """Step 22, Clear cache (TC_061).

    With LocalPreAuthorize true and a cached card: ClearCache -> Accepted -> [present the same
    card] -> an Authorize for it is sent again, the proof that the cache is empty.

    OCPP 1.6 §5.4 (Clear Cache): "Upon receipt of a ClearCache.req PDU, the Charge Point
    SHALL attempt to clear its Authorization Cache"; "Accepted" means it did. An
    identifier no longer in the cache cannot be authorized locally (§3.5.1), so presenting
    it must send Authorize.req (unless it is in the Local Authorization List, which
    ClearCache does not touch): a StartTransaction for the card without a new Authorize is
    a fail.

    Params: `id_tag`, the cached card (default: the last idTag authorized or used to start
    a transaction before the ClearCache in the step, else the first card authorized after it
    when `presented_id_tags` (every card the charger used earlier in the run, all of which
    its cache may hold) lists it, else param `last_authorized_id_tag`, the last card the
    charger presented before the step; unknown means any Authorize counts).
    Measures: `id_tag` (the card presented after ClearCache), `cached_id_tag` (the card
    expected in the cache), `cached` (whether the presented card had been authorized before
    the ClearCache, so it was in the cache), `authorized_after_clear`, and the time from
    ClearCache to the new Authorize.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    clear = exchange_of(frames, first(frames, portal_call("ClearCache")))
    if clear is None:
        findings.fail("No ClearCache sent to the charger")
        return findings.judgement(measurements)
    findings.expect_reply(clear, ("Accepted",), "ClearCache")
    pre_authorize = known_setting(context, "LocalPreAuthorize", before=clear.call)
    if pre_authorize is not None and pre_authorize.lower() != "true":
        findings.info(
            f"LocalPreAuthorize is {pre_authorize} in this step where true was expected: a "
            "new Authorize proves less without it"
        )
    used_before = [
        frame
        for frame in between(frames, None, clear.call)
        if frame.direction == "in"
        and frame.action in ("Authorize", "StartTransaction")
        and frame.message_type == CALL
    ]
    cached_id_tag = context.params.get("id_tag")
    if cached_id_tag is None and used_before:
        cached_id_tag = payload_of(used_before[-1]).get("idTag")
    guessed = cached_id_tag is None
    if cached_id_tag is None:
        cached_id_tag = context.params.get("last_authorized_id_tag")
    known_before = {payload_of(f).get("idTag") for f in used_before}
    if context.params.get("last_authorized_id_tag") is not None:
        known_before.add(context.params.get("last_authorized_id_tag"))
    earlier = [str(tag) for tag in context.params.get("presented_id_tags") or []]
    known_before.update(earlier)
    after = between(frames, clear.last, None)
    authorizations = calls(after, "Authorize")
    if guessed and authorizations:
        # The card presented before the ClearCache was authorized from the cache, unseen on
        # the wire: any card the charger used earlier in the run may be the one presented.
        first_tag = payload_of(authorizations[0]).get("idTag")
        if any(same_id_tag(first_tag, tag) for tag in earlier):
            cached_id_tag = first_tag
    same = [
        a
        for a in authorizations
        if cached_id_tag is None or same_id_tag(payload_of(a).get("idTag"), cached_id_tag)
    ]
    presented = same[0] if same else (authorizations[0] if authorizations else None)
    started = first(after, charger_call("StartTransaction"))
    if presented is None and started is not None:
        presented = started
    presented_tag = payload_of(presented).get("idTag") if presented is not None else None
    measurements.update(
        id_tag=presented_tag,
        cached_id_tag=cached_id_tag,
        cached=presented_tag is not None
        and any(same_id_tag(presented_tag, known) for known in known_before),
        authorized_after_clear=bool(same),
    )
    if same:
        measurements["clear_to_authorize_s"] = seconds_between(clear.call, same[0])
    elif authorizations:
        others = ", ".join(sorted({str(payload_of(a).get("idTag")) for a in authorizations}))
        findings.fail(
            f"Authorize after ClearCache came for idTag {others} where the cached card "
            f"{cached_id_tag} was expected",
            *authorizations,
        )
    elif started is not None:
        findings.fail(
            f"StartTransaction for idTag {presented_tag} after ClearCache without a new "
            "Authorize: the charger still authorized the card from its cache",
            *clear.frames,
            started,
        )
    else:
        findings.fail(
            "No Authorize after ClearCache: presenting the same card again was expected to "
            "send a new Authorize, proving the cache is empty",
            *clear.frames,
        )
    return findings.judgement(measurements)
