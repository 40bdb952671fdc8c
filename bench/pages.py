"""Page benchmark: the pages an engineer opens, on a run of 100,000 frames.

A throw-away VAR_DIR (SQLite there) gets the schema and, per stage, one 23-step run of the
default plan on its own charge point, built by ``tests/reports/sample_run.py`` (rows written
with bulk_create; step 9 attempted twice, step 15 skipped). The baseline stage builds a run
of ``--baseline`` frames and measures; the second stage adds a run of ``--frames`` frames
and measures the same pages for it:

* the run console ``/runs/<id>/`` (step 1 selected: every step has a result) and
  ``/runs/<id>/?step=9`` (attempted twice: both attempts listed, the latest shown);
* the charge point's evidence list ``/charge-points/<id>/frames/`` (first and last page,
  100 frames a page);
* the runs list ``/runs/`` (one run at the baseline, two in the second stage);
* the report page ``/runs/<id>/report/``.

Each page is requested once to warm up, once under ``CaptureQueriesContext`` (queries
counted), then ``--repeats`` times timed; the median is printed. Django's test Client,
logged in as an engineer, with DEBUG off for the rendering. Target: under 300 ms, and a
query count that does not grow with the frames.

    .venv/bin/python bench/pages.py                     # 100,000 frames, baseline 1,000
    .venv/bin/python bench/pages.py --frames 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300.0


def setup_django(var_dir: Path) -> None:
    os.environ["VAR_DIR"] = str(var_dir)
    # A throw-away SQLite database in var_dir, whatever the shell points at.
    for name in ("DATABASE_URL", "DATABASE_NAME", "REDIS_URL", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    # Templates rendered as in production (the engine reads DEBUG when first used); static
    # storage and security settings were already fixed by the development defaults.
    settings.DEBUG = False


@dataclass
class Built:
    run_id: int
    charge_point_id: int
    frames: int
    step: int
    step_frames: int
    seconds: float


def build(identity: str, frames: int, engineer: Any) -> Built:
    """One run of about ``frames`` frames on a charge point of its own."""
    from certification.models import StepResult, TestRun
    from certification.services import create_run, install_default_plan
    from chargers import services as charger_services
    from chargers.models import ChargerModel, FirmwareVersion, Frame
    from tests.reports.sample_run import build_sample_run

    started = time.perf_counter()
    firmware = FirmwareVersion.objects.select_related("charger_model").get()
    charge_point, _ = charger_services.create_charge_point(
        identity,
        no_auth=True,
        charger_model=ChargerModel.objects.get(),
        firmware_version=firmware,
    )
    run = create_run(
        charge_point=charge_point,
        plan=install_default_plan(),
        tester=engineer,
        firmware_version=firmware,
    )
    # In progress: the console as the engineer sees it while certifying (forms included).
    build_sample_run(run, engineer, frames=frames, status=TestRun.Status.IN_PROGRESS)
    # Step 9 was attempted twice: its console lists both attempts, the latest selected.
    step_frames = Frame.objects.filter(
        step_result=StepResult.objects.filter(run=run, step__number=9).order_by("-attempt")[:1]
    ).count()
    return Built(
        run_id=run.pk,
        charge_point_id=charge_point.pk,
        frames=Frame.objects.filter(run=run).count(),
        step=9,
        step_frames=step_frames,
        seconds=time.perf_counter() - started,
    )


@dataclass
class Measured:
    page: str
    url: str
    ms: float
    queries: int
    kb: float
    slowest: list[tuple[float, str]]


def measure(client: Any, page: str, url: str, repeats: int) -> Measured:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    assert response.status_code == 200, f"{url} -> {response.status_code}"
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    # Read now: the next request's request_started signal empties the connection's log.
    queries = list(captured.captured_queries)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    slowest = sorted(((float(q["time"]) * 1000, q["sql"]) for q in queries), reverse=True)[:3]
    return Measured(
        page=page,
        url=url,
        ms=statistics.median(timings),
        queries=len(queries),
        kb=len(response.content) / 1024,
        slowest=slowest,
    )


def pages(built: Built) -> list[tuple[str, str]]:
    run = built.run_id
    return [
        ("run console", f"/runs/{run}/"),
        ("run console ?step=9", f"/runs/{run}/?step={built.step}"),
        ("evidence list", f"/charge-points/{built.charge_point_id}/frames/"),
        (
            "evidence list, last page",
            f"/charge-points/{built.charge_point_id}/frames/?page={-(-built.frames // 100)}",
        ),
        ("runs list", "/runs/"),
        ("report HTML", f"/runs/{run}/report/"),
    ]


def stage(identity: str, frames: int, engineer: Any, client: Any, repeats: int) -> Any:
    built = build(identity, frames, engineer)
    print(
        f"  built {identity}: {built.frames:,} frames in {built.seconds:.1f} s; step "
        f"{built.step} has {built.step_frames:,} frames in its latest attempt",
        flush=True,
    )
    results = [measure(client, page, url, repeats) for page, url in pages(built)]
    return built, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as var_dir:
        setup_django(Path(var_dir))
        from django.core.management import call_command
        from django.test import Client

        from chargers.models import ChargerModel, FirmwareVersion, Manufacturer, User

        call_command("migrate", verbosity=0)
        engineer = User.objects.create_user("wei", role=User.Role.ENGINEER, first_name="Wei")
        maker = Manufacturer.objects.create(name="Xcharge")
        model = ChargerModel.objects.create(manufacturer=maker, name="C8EU", current_type="DC")
        FirmwareVersion.objects.create(charger_model=model, version="V1.0.0_C8_Standard")
        client = Client(HTTP_HOST="localhost")
        client.force_login(engineer)

        print(f"Baseline: {args.baseline:,} frames", flush=True)
        small, base = stage("CP-SMALL", args.baseline, engineer, client, args.repeats)
        print(f"Measured: {args.frames:,} frames", flush=True)
        big, large = stage("CP-LARGE", args.frames, engineer, client, args.repeats)

        print()
        print(
            f"| page | ms @ {small.frames:,} | queries | KB | ms @ {big.frames:,} | queries | KB "
            "| x time | queries grow | under 300 ms |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
        for b, m in zip(base, large, strict=True):
            print(
                f"| {m.page} | {b.ms:.0f} | {b.queries} | {b.kb:.0f} | {m.ms:.0f} | {m.queries} "
                f"| {m.kb:.0f} | {m.ms / b.ms:.1f} | "
                f"{'yes' if m.queries > b.queries else 'no'} | "
                f"{'yes' if m.ms < TARGET_MS else 'NO'} |"
            )
        print()
        for m in large:
            if m.ms >= TARGET_MS:
                print(f"{m.page} ({m.url}) misses the target; its slowest queries:")
                for ms, sql in m.slowest:
                    print(f"  {ms:8.1f} ms  {sql[:300]}")


if __name__ == "__main__":
    main()
