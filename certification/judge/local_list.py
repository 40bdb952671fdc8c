"""The full plan's Local Auth List Management steps: the list's version, full and
differential updates, a card of the list authorized without asking the portal, and the
list deciding while the charger is offline."""

from __future__ import annotations

from typing import Any

from certification.judge.offline import offline_period, started_offline, stop_of
from certification.judge.outcome import Findings, known_setting, step_rule
from certification.judge.sequence import (
    Exchange,
    as_int,
    between,
    calls,
    exchanges,
    first,
    is_after,
    payload_of,
    position,
    same_id_tag,
    same_setting,
    status_in,
)
from certification.judge.sessions import SESSION_STATUSES, check_start
from certification.judge.types import Judgement, StepContext


def _reported_version(findings: Findings, exchange: Exchange, what: str) -> int | None:
    if not findings.expect_result(exchange, what):
        return None
    version = as_int(exchange.response.get("listVersion"))
    if version is None:
        findings.fail(f"{what} answered without a listVersion", *exchange.frames)
    return version


def _sent(frames: tuple[Any, ...], update_type: str) -> list[Exchange]:
    return [
        e for e in exchanges(frames, "SendLocalList") if e.request.get("updateType") == update_type
    ]


def _listed(update: Exchange) -> dict[str, str]:
    """idTag -> idTagInfo.status of the cards a SendLocalList sends (an entry without
    idTagInfo removes a card from the list: left out)."""
    listed: dict[str, str] = {}
    for entry in update.request.get("localAuthorizationList") or []:
        info = entry.get("idTagInfo") if isinstance(entry, dict) else None
        if isinstance(info, dict) and isinstance(entry.get("idTag"), str):
            listed[entry["idTag"]] = str(info.get("status"))
    return listed


def _version_before(frames: tuple[Any, ...], update: Exchange) -> int | None:
    """The version of the charger's list when `update` arrived, as far as the step shows: the
    last version the charger reported (GetLocalListVersion) or the last full update it
    accepted, whichever was answered last before `update`."""
    known: int | None = None
    steps = [*exchanges(frames, "GetLocalListVersion"), *_sent(frames, "Full")]
    answered = [e for e in steps if is_after(update.call, e.last)]
    for exchange in sorted(answered, key=lambda e: position(e.last)):
        if exchange.call.action == "GetLocalListVersion":
            version = as_int(exchange.response.get("listVersion"))
            known = known if version is None else version
        elif exchange.status == "Accepted":
            known = as_int(exchange.request.get("listVersion"))
    return known


def _first_accepted(update: Exchange) -> str | None:
    return next((tag for tag, status in _listed(update).items() if status == "Accepted"), None)


@step_rule("GetLocalListVersion sent to the charger")
def local_list_full(context: StepContext) -> Judgement:
    """Local Auth List Management: GetLocalListVersion and a full SendLocalList
    (TC_042_2, TC_043).

    GetLocalListVersion -> listVersion -> SendLocalList(Full, listVersion v, entries) ->
    Accepted -> GetLocalListVersion -> v.

    OCPP 1.6 §5.15 (Send Local List): "In case of a full update, the Charge Point SHALL
    replace the current list with the list in the request"; the status Accepted means "Local
    Authorization List successfully updated". §5.10 (Get Local List Version): the Charge
    Point "SHALL respond with a GetLocalListVersion.conf PDU containing the version number of
    its Local Authorization List. A version number of 0 (zero) SHALL be used to indicate that
    the local authorization list is empty". A full update without entries empties the list
    (§5.15: "If no (empty) localAuthorizationList is given and the updateType is Full, all
    identifications are removed from the list"), so its version reads back as 0 or as the
    version sent.

    Measures: the versions before and after, the number of entries sent.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    versions = exchanges(frames, "GetLocalListVersion")
    full = _sent(frames, "Full")
    if not full:
        findings.fail("No SendLocalList with updateType Full was sent to the charger")
        return findings.judgement(measurements)
    update = full[-1]
    sent_version = as_int(update.request.get("listVersion"))
    entries = update.request.get("localAuthorizationList") or []
    measurements.update(list_version_sent=sent_version, entries_sent=len(entries))
    before = [v for v in versions if v.call.seq < update.call.seq]
    if before:
        measurements["version_before"] = _reported_version(
            findings, before[0], "GetLocalListVersion"
        )
    accepted = findings.expect_reply(update, ("Accepted",), f"SendLocalList(Full, {sent_version})")
    after = [v for v in versions if v.call.seq > update.last.seq]
    if not after:
        findings.fail(
            "No GetLocalListVersion after the SendLocalList: the new version was not read back"
        )
        return findings.judgement(measurements)
    version = _reported_version(findings, after[-1], "GetLocalListVersion")
    measurements["version_after"] = version
    expected = {sent_version} if entries else {sent_version, 0}
    if accepted and version is not None and version not in expected:
        empty = "" if entries else f"; an empty list reads back as 0 or {sent_version}"
        findings.fail(
            f"GetLocalListVersion answered {version} after SendLocalList(Full, "
            f"{sent_version}) was Accepted{empty}",
            *after[-1].frames,
        )
    return findings.judgement(measurements)


@step_rule("SendLocalList sent to the charger")
def local_list_differential(context: StepContext) -> Judgement:
    """Local Auth List Management: differential updates and version handling (TC_043, TC_043_2).

    SendLocalList(Differential, v+1, entries to add, change or remove) -> Accepted ->
    SendLocalList(Differential, a version not above the current one) -> VersionMismatch ->
    GetLocalListVersion -> v+1.

    OCPP 1.6 §5.15: "In case of a differential update it SHALL apply the changes in the
    list" and "If the Charge Point receives a differential update with a version number
    that is less than or equal to the version number of its current list, it SHALL NOT apply
    the update and respond with VersionMismatch" (UpdateStatus: "VersionMismatch: Version
    number in the request for a differential update is less or equal then version number of
    current list"). The current version is the one the charger reported or the full update
    it accepted before the first differential update (a step run again starts from the
    version the last attempt left), else the first differential update's, if accepted.

    Measures: the accepted version, the stale version refused, the version read back.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    differential = _sent(frames, "Differential")
    if not differential:
        findings.fail("No SendLocalList with updateType Differential was sent to the charger")
        return findings.judgement(measurements)
    current = _version_before(frames, differential[0])
    accepted_version: int | None = None
    stale_checked = False
    for update in differential:
        version = as_int(update.request.get("listVersion"))
        if current is not None and version is not None and version <= current:
            stale_checked = True
            measurements["stale_version_sent"] = version
            findings.expect_reply(
                update,
                ("VersionMismatch",),
                f"SendLocalList(Differential, {version}) after version {current}",
            )
            continue
        if findings.expect_reply(update, ("Accepted",), f"SendLocalList(Differential, {version})"):
            current = accepted_version = version
    measurements["accepted_version"] = accepted_version
    if not stale_checked:
        findings.info(
            "No differential update with a version at or below the current one was sent: "
            "VersionMismatch was not checked"
        )
    last_update = differential[-1]
    read_back = [
        e for e in exchanges(frames, "GetLocalListVersion") if e.call.seq > last_update.last.seq
    ]
    if not read_back:
        findings.fail("No GetLocalListVersion after the updates: the version was not read back")
        return findings.judgement(measurements)
    version = _reported_version(findings, read_back[-1], "GetLocalListVersion")
    measurements["version_after"] = version
    if accepted_version is not None and version is not None and version != accepted_version:
        findings.fail(
            f"GetLocalListVersion answered {version} where the last accepted differential "
            f"update set version {accepted_version}",
            *read_back[-1].frames,
        )
    return findings.judgement(measurements)


@step_rule("SendLocalList sent to the charger")
def local_list_authorizes(context: StepContext) -> Judgement:
    """Local Auth List Management: a card in the list starts a session without Authorize
    (TC_008_1).

    SendLocalList(entry Accepted for the card) -> Accepted -> with LocalPreAuthorize true,
    [present the card] -> StartTransaction for it with no Authorize.req for it before.

    OCPP 1.6 §3.5 (Local Authorization & Offline Behavior): "When LocalPreAuthorize is
    enabled, a Charge Point that has the identifier in its Local Authorization List with
    status Accepted SHALL start the transaction without first sending an Authorize.req".
    §9.1 LocalPreAuthorize: "whether the Charge Point, when online, will start a transaction
    for locally-authorized identifiers without waiting for or requesting an Authorize.conf
    from the Central System": with the key set or read false before the start, asking is
    what the charger does, and no fail.

    Params: `id_tag` (default: the first idTag of the list sent with status Accepted).
    Measures: the card, whether an Authorize was sent.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    updates = [e for e in exchanges(frames, "SendLocalList") if e.status == "Accepted"]
    if not updates:
        findings.fail("No SendLocalList was Accepted in the step: the card is not on the list")
        return findings.judgement(measurements)
    update = updates[-1]
    id_tag = context.params.get("id_tag") or _first_accepted(update)
    measurements["id_tag"] = id_tag
    start = first(
        frames,
        lambda f: (
            f.action == "StartTransaction"
            and f.direction == "in"
            and f.message_type == 2
            and (id_tag is None or payload_of(f).get("idTag") == id_tag)
        ),
        after=update.last,
    )
    if start is None:
        findings.fail(
            f"No StartTransaction for {id_tag or 'the listed card'} after the list was sent"
        )
        return findings.judgement(measurements)
    asked = [
        frame
        for frame in calls(between(frames, update.last, start), "Authorize")
        if id_tag is None or payload_of(frame).get("idTag") == id_tag
    ]
    measurements["authorized"] = bool(asked)
    setting = known_setting(context, "LocalPreAuthorize", before=start)
    if asked and setting is not None and not same_setting(setting, "true"):
        findings.info(
            f"Authorize was sent for {id_tag} with LocalPreAuthorize {setting}: the charger "
            "asks before it starts; the step needs the key true to show the list deciding",
            *asked,
        )
    elif asked:
        findings.fail(
            f"Authorize was sent for {id_tag}, which is Accepted in the Local Authorization "
            "List: with LocalPreAuthorize the charger starts without asking",
            *asked,
        )
    return findings.judgement(measurements)


@step_rule("SendLocalList sent to the charger")
def local_list_offline(context: StepContext) -> Judgement:
    """Local Auth List Management: the list used offline (TC_037_1).

    SendLocalList(a card Accepted, a card Blocked) -> Accepted -> [connection lost] ->
    [the Blocked card presented: nothing starts] -> [the Accepted card presented, cable in:
    the transaction starts offline] -> [connection restored] -> StartTransaction for the
    Accepted card (timestamp in the offline period) -> Accepted -> SN Charging while it
    runs; no StartTransaction for the Blocked card from the offline period.

    OCPP 1.6 §9.1 LocalAuthorizeOffline: "whether the Charge Point, when offline, will start
    a transaction for locally-authorized identifiers"; §3.5.3: "Identifiers that are present
    in a Local Authorization List that have a status other than "Accepted" (Invalid,
    Blocked, Expired) MUST be rejected."

    Params: `id_tag` (default: the first card the list sent with status Accepted),
    `min_gap_s` (see offline.offline_period).
    Measures: offline_s, id_tag, transaction_id, started_at, refused_cards.
    """
    frames, findings = context.frames, Findings()
    measurements: dict[str, Any] = {}
    updates = [e for e in exchanges(frames, "SendLocalList") if e.status == "Accepted"]
    if not updates:
        findings.fail("No SendLocalList was Accepted in the step: the card is not on the list")
        return findings.judgement(measurements)
    update = updates[-1]
    listed = _listed(update)
    refused = {tag: status for tag, status in listed.items() if status != "Accepted"}
    id_tag = context.params.get("id_tag") or _first_accepted(update)
    measurements.update(id_tag=id_tag, refused_cards=sorted(refused))
    period = offline_period(context, findings, after=update.last)
    if period is None:
        return findings.judgement(measurements)
    measurements["offline_s"] = period.seconds
    starts = started_offline(frames, period)
    for start in starts:
        tag = start.request.get("idTag")
        status = next((s for t, s in refused.items() if same_id_tag(t, tag)), None)
        if status is not None:
            findings.fail(
                f"A transaction of {tag}, {status} in the Local Authorization List, was "
                "started while offline: such a card must be rejected",
                start.call,
            )
    if not refused:
        findings.info(
            "The list sent no card with a status other than Accepted: a refusal offline was "
            "not checked"
        )
    own = [start for start in starts if same_id_tag(start.request.get("idTag"), id_tag)]
    if not own:
        findings.fail(
            f"No transaction of {id_tag}, Accepted in the Local Authorization List, was "
            "started while the charger was offline"
        )
        return findings.judgement(measurements)
    start = own[0]
    transaction_id = check_start(findings, start, id_tag)
    measurements.update(transaction_id=transaction_id, started_at=start.request.get("timestamp"))
    stop = stop_of(frames, transaction_id)
    if stop is None or not period.contains(stop):
        connector = as_int(start.request.get("connectorId"))
        back = [frame for frame in frames if frame.at >= period.back_at]
        if first(back, status_in(SESSION_STATUSES, connector)) is None:
            findings.fail(
                f"No StatusNotification Charging for connector {connector} after the "
                "reconnect, while the transaction started offline was running",
                *start.frames,
            )
    return findings.judgement(measurements)
