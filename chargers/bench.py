"""The portal's side of the test bench hook (docs/bench-hook.md, docs/bench-hook.openapi.yaml).

A lab attaches a bench to a charge point (``ChargePoint.bench_url``): an EV simulator, a
relay board, a card robot, or the scripted simulator. The bench performs the manual actions
of a plan step (plug in, unplug, present a card, raise and clear a fault, power-cycle) when
the portal asks, over plain HTTP: ``POST {bench_url}/actions`` with one JSON object, answered
with one JSON object once the action is done at the hardware. This module only speaks that
protocol; which action a step needs is plan data, read by certification.unattended.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings

# The actions a bench may implement; GET {bench_url}/ lists those it does.
ACTIONS = ("plug_in", "unplug", "present_card", "raise_fault", "clear_fault", "power_cycle")

# What each action takes besides its name (all optional; connectorId defaults to 1).
ARGUMENTS = {
    "plug_in": ("connectorId",),
    "unplug": ("connectorId",),
    "present_card": ("connectorId", "idTag"),
    "raise_fault": ("connectorId", "errorCode"),
    "clear_fault": ("connectorId",),
    "power_cycle": (),
}


class BenchError(Exception):
    """The bench could not be reached or did not perform the action; the message says why."""


@dataclass(frozen=True)
class BenchAnswer:
    """What the bench said: ``done`` (performed), or ``accepted`` (started, still going)."""

    status: str
    detail: str = ""


def request_body(action: str, arguments: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The JSON object sent for ``action``: its own arguments, and the run and step it is
    for (``context``: ``run``, ``step``), which a bench may log. Raises BenchError for an
    action or argument the protocol does not have."""
    if action not in ACTIONS:
        raise BenchError(f"{action!r} is not a bench action: use one of {', '.join(ACTIONS)}.")
    unknown = set(arguments) - set(ARGUMENTS[action])
    if unknown:
        raise BenchError(f"{action} takes no {', '.join(sorted(unknown))}.")
    return {"action": action, **arguments, **context}


def perform(
    bench_url: str, action: str, arguments: dict[str, Any], context: dict[str, Any]
) -> BenchAnswer:
    """Ask the bench at ``bench_url`` to perform ``action`` and wait for its answer (at most
    ``BENCH_TIMEOUT`` seconds). Raises BenchError when it is unreachable, answers with an
    HTTP error (its ``detail`` quoted) or does not answer in the protocol's shape."""
    body = json.dumps(request_body(action, arguments, context)).encode()
    if urllib.parse.urlsplit(bench_url).scheme not in {"http", "https"}:
        raise BenchError(f"the bench URL {bench_url!r} is not http or https")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        bench_url.rstrip("/") + "/actions",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.BENCH_TIMEOUT) as response:  # noqa: S310
            answer = _json(response.read())
    except urllib.error.HTTPError as error:
        detail = _json(error.read()).get("detail") or error.reason
        raise BenchError(f"the bench refused {action}: HTTP {error.code}, {detail}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise BenchError(f"the bench at {bench_url} could not be reached: {reason}") from None
    status = answer.get("status")
    if status not in {"done", "accepted"}:
        raise BenchError(f"the bench answered {action} without a status of done or accepted")
    return BenchAnswer(str(status), str(answer.get("detail") or "")[:300])


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
