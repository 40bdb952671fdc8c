"""Record the evidence of the seed report's run: the 23 steps of the default plan played by a
simulated Xcharge C8EU that commits the seed's deviations, against a live Daphne server.

Run by hand (about two minutes), then commit the file it writes::

    .venv/bin/python -m tests.e2e.record_seed_evidence

It works on a throw-away VAR_DIR (its own SQLite database), never on the developer's.
The steps are played in the order of the seed's timestamps (steps 10 and 17 were repeated on
another day, after the firmware update of step 19), with the charger switched off and on
again between the two days, so that the replay by ``certification.demo.seed_run`` keeps
cause before effect. Output: ``certification/demo/seed_evidence.jsonl`` (gzipped when it
would be larger than about 1 MB), one JSON object per line:

- ``{"type": "header", ...}``: the charge point, its idTags and the simulated charger;
- ``{"type": "step", "step", "attempt", "started_at", "duration"}``: one step attempt, in
  recording order (``started_at``: when it was recorded; the replay moves the OCPP
  timestamps inside the frames by as much as it moves the step);
- ``{"type": "frame", "step", "attempt", "offset", "connection", "seq", "direction",
  "message_type", "unique_id", "action", "raw", "payload", "validation_error"}``;
- ``{"type": "connection_event", "step", "attempt", "offset", "connection", "kind",
  "detail", "close_code"}``.

``offset`` is in seconds from the start of the step attempt named; a frame or event captured
between two steps names the step before it (or, after the charger was switched on again,
the step after it, with a negative offset) and carries ``"between_steps": true``.
``connection`` numbers the run's websocket connections from 0 in the order they opened.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The settings read VAR_DIR and the database at import: point them at a scratch directory
# before Django starts (the Daphne subprocess inherits this environment).
SCRATCH = Path(tempfile.mkdtemp(prefix="seed-evidence-"))
for name in ("DATABASE_URL", "DATABASE_NAME", "REDIS_URL", "MEDIA_ROOT"):
    os.environ.pop(name, None)
os.environ["VAR_DIR"] = str(SCRATCH)
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from certification.models import StepResult, TestRun  # noqa: E402
from certification.services import install_default_plan  # noqa: E402
from chargers import services  # noqa: E402
from chargers.api_tokens import create_api_token  # noqa: E402
from chargers.models import (  # noqa: E402
    ChargerModel,
    ConnectionEvent,
    FirmwareVersion,
    Frame,
    IdTag,
    Manufacturer,
    User,
)
from chargers.simulator import ChargerConfig  # noqa: E402
from tests.e2e.harness import Api, ChargerThread, file_server, settle  # noqa: E402
from tests.e2e.test_certification_run import CARD, KEY, STRANGER, Lab, Run  # noqa: E402
from tests.live import daphne_server  # noqa: E402

OUTPUT = Path(__file__).resolve().parents[2] / "certification" / "demo" / "seed_evidence.jsonl"
GZIP_ABOVE = 1_000_000  # bytes

CHARGE_POINT_ID = "XCHARGE-C8EU-SEED"
HEARTBEAT_INTERVAL = 2
MISBEHAVIOURS = frozenset(
    {
        "download-failed-instead-of-installation-failed",
        "preparing-after-reset",
        "no-unavailable-during-reset",
        "double-reboot",
        "battery-datatransfer",
        "no-metervalues-trigger-when-idle",
    }
)
# The steps in the order of the seed's timestamps: 22 September, then 30 October.
FIRST_DAY = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 18, 20, 21, 22, 23, 19]
SECOND_DAY = [10, 17]


def seed_charger_config(ws_url: str) -> ChargerConfig:
    """The simulated Xcharge C8EU: DC, two connectors, fixed cable, the seed's deviations."""
    return ChargerConfig(
        charge_point_id=CHARGE_POINT_ID,
        url=f"{ws_url}/ocpp/{CHARGE_POINT_ID}",
        password=KEY,
        connectors=2,
        vendor="Xcharge",
        model="C8EU",
        serial="XC8EU2309220017",
        firmware="V1.0.0_C8_Standard",
        id_tag=CARD,
        unknown_id_tag=STRANGER,
        fixed_cable=True,
        reboot_seconds=1,
        response_timeout=10,
        transfer_timeout=5,
        misbehaviours=MISBEHAVIOURS,
    )


def make_lab(server: Any, files: Any) -> Lab:
    plan = install_default_plan()
    xcharge = Manufacturer.objects.create(name="Xcharge", country="China")
    c8eu = ChargerModel.objects.create(
        manufacturer=xcharge, name="C8EU", current_type="DC", connectors=2, outlet="cable"
    )
    firmware = FirmwareVersion.objects.create(charger_model=c8eu, version="V1.0.0_C8_Standard")
    charge_point, _ = services.create_charge_point(
        CHARGE_POINT_ID,
        authorization_key=KEY,
        charger_model=c8eu,
        firmware_version=firmware,
        heartbeat_interval=HEARTBEAT_INTERVAL,
    )
    IdTag.objects.create(charge_point=charge_point, id_tag=CARD, status="Accepted")
    IdTag.objects.create(charge_point=charge_point, id_tag=STRANGER, status="Blocked")
    engineer = User.objects.create_user("recorder", role=User.Role.ENGINEER)
    _, token = create_api_token(engineer)
    return Lab(
        server=server,
        files=files,
        api=Api(server.http_url, token),
        firmware_id=firmware.pk,
        charge_point_id=charge_point.pk,
        plan_id=plan.pk,
    )


def play(lab: Lab) -> tuple[int, datetime.datetime]:
    """Play the steps; returns the run's id and when the charger was switched on again."""
    charger = ChargerThread(seed_charger_config(lab.server.ws_url))
    try:
        run = Run(lab, charger)
        for number in FIRST_DAY:
            print(f"step {number}", file=sys.stderr)
            run.step(number)
        settle(1)
        charger.stop()
        settle(1)  # the portal records the close before the charger comes back
        # Another day: the charger is switched on again, with its original firmware.
        switched_on = datetime.datetime.now(datetime.UTC)
        charger = run.charger = ChargerThread(seed_charger_config(lab.server.ws_url))
        charger.do(charger.charger.connect())
        settle(3)
        for number in SECOND_DAY:
            print(f"step {number}", file=sys.stderr)
            run.step(number)
        settle(1)
    finally:
        charger.stop()
    settle(1.5)  # the evidence writer records the last close
    return run.id, switched_on


def evidence_lines(run_id: int, switched_on: datetime.datetime) -> list[dict[str, Any]]:
    run = TestRun.objects.get(pk=run_id)
    attempts = list(
        StepResult.objects.filter(run=run).select_related("step").order_by("started_at")
    )
    header: dict[str, Any] = {
        "type": "header",
        "recorded_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "charge_point_id": CHARGE_POINT_ID,
        "heartbeat_interval": HEARTBEAT_INTERVAL,
        "id_tags": {CARD: "Accepted", STRANGER: "Blocked"},
        "misbehaviours": sorted(MISBEHAVIOURS),
        "recorder": "tests/e2e/record_seed_evidence.py",
    }
    lines: list[dict[str, Any]] = [header]
    for result in attempts:
        duration = result.duration_s()
        assert duration is not None, f"step {result.step.number} did not finish"
        lines.append(
            {
                "type": "step",
                "step": result.step.number,
                "attempt": result.attempt,
                "started_at": result.started_at.isoformat() if result.started_at else None,
                "duration": round(duration, 6),
            }
        )

    def anchor(at: datetime.datetime, result: StepResult | None) -> dict[str, Any]:
        """Which step attempt an item is timed from, and its offset."""
        between = result is None
        if result is None:
            before = [r for r in attempts if r.started_at and r.started_at <= at]
            after = [r for r in attempts if r.started_at and r.started_at > at]
            previous = before[-1] if before else None
            switched_on_since = previous is None or (
                previous.finished_at is not None and previous.finished_at < switched_on <= at
            )
            result = after[0] if (switched_on_since and after) else (previous or after[0])
        assert result.started_at is not None
        line = {
            "step": result.step.number,
            "attempt": result.attempt,
            "offset": round((at - result.started_at).total_seconds(), 6),
        }
        if between:
            line["between_steps"] = True
        return line

    by_id = {r.pk: r for r in attempts}
    charge_point = run.charge_point
    connections = {
        pk: index
        for index, pk in enumerate(
            charge_point.connections.order_by("opened_at", "pk").values_list("pk", flat=True)
        )
    }
    items: list[tuple[datetime.datetime, int, dict[str, Any]]] = []
    for frame in Frame.objects.filter(charge_point=charge_point).order_by("captured_at", "seq"):
        step_result = by_id.get(frame.step_result_id) if frame.step_result_id else None
        items.append(
            (
                frame.captured_at,
                0,
                {"type": "frame"}
                | anchor(frame.captured_at, step_result)
                | {
                    "connection": connections[frame.connection_id],
                    "seq": frame.seq,
                    "direction": frame.direction,
                    "message_type": frame.message_type,
                    "unique_id": frame.unique_id,
                    "action": frame.action,
                    "raw": frame.raw,
                    "payload": frame.payload,
                    "validation_error": frame.validation_error,
                },
            )
        )
    for event in ConnectionEvent.objects.filter(charge_point=charge_point).order_by("at", "pk"):
        step_result = by_id.get(event.step_result_id) if event.step_result_id else None
        items.append(
            (
                event.at,
                1,
                {"type": "connection_event"}
                | anchor(event.at, step_result)
                | {
                    "connection": (
                        connections[event.connection_id] if event.connection_id else None
                    ),
                    "kind": event.kind,
                    "detail": event.detail,
                    "close_code": event.close_code,
                },
            )
        )
    items.sort(key=lambda item: (item[0], item[1]))
    return lines + [line for _, _, line in items]


def write(lines: list[dict[str, Any]]) -> Path:
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    data = text.encode()
    gzipped = OUTPUT.with_name(OUTPUT.name + ".gz")
    for stale in (OUTPUT, gzipped):
        stale.unlink(missing_ok=True)
    if len(data) > GZIP_ABOVE:
        # mtime 0: recording the same evidence twice gives the same bytes.
        gzipped.write_bytes(gzip.compress(data, mtime=0))
        return gzipped
    OUTPUT.write_bytes(data)
    return OUTPUT


def main() -> None:
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    with daphne_server(SCRATCH) as server, file_server() as files:
        lab = make_lab(server, files)
        run_id, switched_on = play(lab)
    lines = evidence_lines(run_id, switched_on)
    path = write(lines)
    counts = {kind: sum(1 for line in lines if line["type"] == kind) for kind in ("frame",)}
    print(
        f"Recorded {counts['frame']} frames of {len(FIRST_DAY) + len(SECOND_DAY)} steps in "
        f"{time.monotonic() - started:.0f} s: {path} ({path.stat().st_size:,} bytes). "
        f"Scratch directory: {SCRATCH}"
    )


if __name__ == "__main__":
    main()
