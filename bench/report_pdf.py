"""Report PDF benchmark: a 23-step run with 20,000 frames, rendered as the portal renders it.

A throw-away VAR_DIR (SQLite there) gets the schema and one run built by
``tests/reports/sample_run.py``. Each render then runs in its own child process, so that its
peak memory (``ru_maxrss``) is its own:

* baseline: WeasyPrint laying out the bare step table (the 23 rows, same stylesheet, no
  appendix, no attachment);
* capped: ``render_pdf`` as shipped (each step's timeline capped at PDF_FRAMES_PER_STEP
  frames, every frame in the attached evidence JSON);
* full: ``render_pdf`` with no cap (every frame in the appendix), unless ``--no-full``;
* worker: ``render_pdf_in_worker`` as the preview view calls it, measured from outside:
  process start, Django set-up and WeasyPrint import included.

A child renders twice: once timed, once under tracemalloc for the Python heap's peak.
Printed: seconds, Python peak MB, max RSS MB, pages, PDF size, and the ratios to the
baseline. Targets: under 10 s and 500 MB for the shipped PDF.

    .venv/bin/python bench/report_pdf.py                 # 20,000 frames
    .venv/bin/python bench/report_pdf.py --frames 2000 --no-full
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GENERATED = datetime.datetime(2023, 10, 30, 14, 0, tzinfo=datetime.UTC)
VERIFY = "https://portal.example/reports/BENCH-1/verify"

BASELINE_TEMPLATE = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<h1>Test Report</h1><table class="steps"><colgroup><col style="width: 6%"><col style="width: 12%">
<col style="width: 23%"><col style="width: 12%"><col style="width: 7%"><col style="width: 40%">
</colgroup><thead><tr><th>Step</th><th>OCPP Profile</th><th>Action</th><th>Timestamp</th>
<th>Pass</th><th>Remarks</th></tr></thead><tbody>{% for row in report.steps %}<tr>
<td>{{ row.number }}</td><td>{{ row.profile }}</td><td>{{ row.action }}</td>
<td>{{ row.timestamp|date:"Y-m-d H:i:s" }}</td>
<td>{% include "certification/_report_pass.html" %}</td>
<td class="remarks">{% include "certification/_report_remarks.html" %}</td></tr>{% endfor %}
</tbody></table></body></html>"""


def setup_django(var_dir: Path) -> None:
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build(frames: int) -> tuple[int, int]:
    """Schema, catalog and one run of ``frames`` frames; returns (run id, frame count)."""
    from django.core.management import call_command

    from certification.services import create_run, install_default_plan
    from chargers import services as charger_services
    from chargers.models import ChargerModel, FirmwareVersion, Frame, Manufacturer, User
    from tests.reports.sample_run import build_sample_run

    call_command("migrate", verbosity=0)
    engineer = User.objects.create_user("wei", role=User.Role.ENGINEER, first_name="Wei")
    maker = Manufacturer.objects.create(name="Xcharge")
    model = ChargerModel.objects.create(manufacturer=maker, name="C8EU", current_type="DC")
    firmware = FirmwareVersion.objects.create(charger_model=model, version="V1.0.0_C8_Standard")
    charge_point, _ = charger_services.create_charge_point(
        "CP1", no_auth=True, charger_model=model, firmware_version=firmware
    )
    run = create_run(
        charge_point=charge_point,
        plan=install_default_plan(),
        tester=engineer,
        firmware_version=firmware,
    )
    build_sample_run(run, engineer, frames=frames)
    return run.pk, Frame.objects.filter(run=run).count()


def child(mode: str, run_id: int) -> dict[str, Any]:
    """One measured render in this (fresh) process."""
    import weasyprint  # imported before timing: the worker pays it once per report

    from certification.models import TestRun
    from certification.reports.data import build_report
    from certification.reports.pdf import PDF_FRAMES_PER_STEP, STYLESHEET, _static_file, render_pdf

    run = TestRun.objects.get(pk=run_id)

    def render() -> bytes:
        if mode == "baseline":
            from django.template import engines

            html = (
                engines["django"]
                .from_string(BASELINE_TEMPLATE)
                .render({"report": build_report(run, frames_per_step_limit=0)})
            )
            sheet = _static_file(STYLESHEET)
            return bytes(
                weasyprint.HTML(string=html, base_url=str(sheet.parent)).write_pdf(
                    stylesheets=[weasyprint.CSS(filename=str(sheet))]
                )
            )
        limit = PDF_FRAMES_PER_STEP if mode == "capped" else None
        return render_pdf(
            run,
            report_id="BENCH-1",
            verification_url=VERIFY,
            generated_at=GENERATED,
            frames_per_step_limit=limit,
        )

    started = time.perf_counter()
    pdf = render()
    seconds = time.perf_counter() - started
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak = float("nan")
    if mode != "full":  # minutes under tracemalloc for the full appendix
        tracemalloc.start()
        render()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    import io

    from pypdf import PdfReader

    return {
        "mode": mode,
        "seconds": seconds,
        "python_peak_mb": peak / 2**20,
        "maxrss_mb": maxrss_mb,
        "pages": len(PdfReader(io.BytesIO(pdf)).pages),
        "pdf_kb": len(pdf) / 1024,
    }


def measure_child(mode: str, run_id: int, env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--run", str(run_id)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure_worker(run_id: int) -> dict[str, Any]:
    from certification.reports.worker import render_pdf_in_worker

    started = time.perf_counter()
    pdf = render_pdf_in_worker(
        run_id, report_id="BENCH-1", verification_url=VERIFY, generated_at=GENERATED
    )
    seconds = time.perf_counter() - started
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "mode": "worker",
        "seconds": seconds,
        "python_peak_mb": float("nan"),
        "maxrss_mb": maxrss / 1024,
        "pages": float("nan"),
        "pdf_kb": len(pdf) / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--no-full", action="store_true", help="skip the uncapped render")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        setup_django(Path(os.environ["VAR_DIR"]))
        print(json.dumps(child(args.child, args.run)))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-report-") as scratch:
        var_dir = Path(scratch)
        setup_django(var_dir)
        from certification.reports.pdf import PDF_FRAMES_PER_STEP

        started = time.perf_counter()
        run_id, frame_count = build(args.frames)
        print(
            f"setup: VAR_DIR={var_dir} (SQLite), run {run_id}: 23 steps, {frame_count} frames, "
            f"built in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        env = {**os.environ, "VAR_DIR": str(var_dir)}
        # First, while it is the only child: RUSAGE_CHILDREN's maxrss is then the worker's.
        # The worker subprocess inherits VAR_DIR from os.environ (set by setup_django).
        worker = measure_worker(run_id)
        print(f"  worker: {worker['seconds']:.2f} s", flush=True)
        modes = ["baseline", "capped"] + ([] if args.no_full else ["full"])
        results = []
        for mode in modes:
            result = measure_child(mode, run_id, env)
            results.append(result)
            print(f"  {mode}: {result['seconds']:.2f} s", flush=True)
        results.append(worker)

    base = results[0]
    print()
    print(f"timeline cap: {PDF_FRAMES_PER_STEP} frames per step (capped); none (full)")
    print(
        f"{'render':<10}{'seconds':>9}{'x base':>8}{'py peak MB':>12}{'maxrss MB':>11}"
        f"{'x base':>8}{'pages':>7}{'PDF KB':>9}"
    )
    for r in results:
        print(
            f"{r['mode']:<10}{r['seconds']:>9.2f}{r['seconds'] / base['seconds']:>8.1f}"
            f"{r['python_peak_mb']:>12.1f}{r['maxrss_mb']:>11.0f}"
            f"{r['maxrss_mb'] / base['maxrss_mb']:>8.1f}{r['pages']:>7}{r['pdf_kb']:>9.0f}"
        )
    shipped = next(r for r in results if r["mode"] == "capped")
    ok = shipped["seconds"] < 10 and shipped["maxrss_mb"] < 500
    print(f"target (capped): < 10 s and < 500 MB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
