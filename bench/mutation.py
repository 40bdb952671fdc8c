"""Mutation testing of the judge and of chargers/ocpp/frames.py against their own tests.

mutmut 2.x (3.x skips decorated functions, and every rule is decorated with @step_rule)
mutates one module at a time and runs only that module's tests with pytest, without Django
(`-p no:django --noconftest`: the judge and frames.py are pure), so that a module takes
minutes, not hours, on the shared 2-core machine. mutmut edits the source in place: run it
on a checkout nobody else is importing from (`make mutation` does it in a temporary copy).

    python -m bench.mutation [--timeout SECONDS] [module ...]

Prints per module: mutants, killed, survived, timeouts, and the score (killed / all that
ran); the survivors' ids are listed so that `mutmut show <id>` (in the same copy) can be
read to sort out the equivalent ones. Not part of CI.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each module and the tests that pin it.
MODULES: dict[str, list[str]] = {
    "chargers/ocpp/frames.py": ["tests/chargers/test_ocpp_frames.py"],
    "certification/judge/sequence.py": ["tests/judge"],
    "certification/judge/outcome.py": ["tests/judge"],
    "certification/judge/boot.py": [
        "tests/judge/test_boot.py",
        "tests/judge/test_real_chargers.py",
    ],
    "certification/judge/availability.py": [
        "tests/judge/test_availability.py",
        "tests/judge/test_real_chargers.py",
    ],
    "certification/judge/configuration.py": ["tests/judge/test_configuration.py"],
    "certification/judge/sessions.py": [
        "tests/judge/test_sessions.py",
        "tests/judge/test_real_chargers.py",
    ],
    "certification/judge/resets.py": [
        "tests/judge/test_resets.py",
        "tests/judge/test_real_chargers.py",
    ],
    "certification/judge/remote.py": ["tests/judge/test_remote.py"],
    "certification/judge/firmware.py": ["tests/judge/test_firmware_and_diagnostics.py"],
    "certification/judge/diagnostics.py": [
        "tests/judge/test_firmware_and_diagnostics.py",
        "tests/judge/test_real_chargers.py",
    ],
    "certification/judge/cache.py": [
        "tests/judge/test_cache_and_triggers.py",
        "tests/judge/test_real_chargers.py",
    ],
    "certification/judge/triggers.py": ["tests/judge/test_cache_and_triggers.py"],
}


def mutate(copy: Path, module: str, tests: list[str], timeout: float) -> dict[str, object]:
    """Run mutmut on one module inside `copy`; returns its counts and surviving ids."""
    (copy / ".mutmut-cache").unlink(missing_ok=True)
    # No bytecode: a mutant of the same size written within the same second as the last
    # compile would otherwise run as the stale .pyc of the previous one.
    runner = (
        f"env PYTHONDONTWRITEBYTECODE=1 {sys.executable} -m pytest -x -q -p no:cacheprovider "
        "-p no:django --noconftest " + " ".join(tests)
    )
    command = [
        sys.executable,
        "-m",
        "mutmut",
        "run",
        "--paths-to-mutate",
        module,
        "--tests-dir",
        "tests",
        "--runner",
        runner,
        "--no-progress",
    ]
    finished = True
    try:
        subprocess.run(command, cwd=copy, timeout=timeout, capture_output=True, check=False)
    except subprocess.TimeoutExpired:
        finished = False
    report = subprocess.run(
        [sys.executable, "-m", "mutmut", "junitxml"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )
    cases = ET.fromstring(report.stdout).iter("testcase") if report.stdout.strip() else []
    killed, survived, timeouts, untested = 0, [], 0, 0
    for case in cases:
        name = case.get("name", "")
        if case.find("failure") is not None:
            survived.append(name.removeprefix("Mutant #"))
        elif case.find("error") is not None:
            timeouts += 1
        elif case.find("skipped") is not None:
            untested += 1
        else:
            killed += 1
    ran = killed + len(survived) + timeouts
    return {
        "module": module,
        "finished": finished,
        "mutants": ran + untested,
        "killed": killed,
        "survived": survived,
        "timeouts": timeouts,
        "untested": untested,
        "score": round(100 * (killed + timeouts) / ran, 1) if ran else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="default: every module in MODULES")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per module")
    parser.add_argument("--keep", action="store_true", help="keep the copy (mutmut show)")
    args = parser.parse_args()
    modules = args.modules or list(MODULES)
    copy = Path(tempfile.mkdtemp(prefix="mutation-"))
    for part in ("certification", "chargers", "config", "tests", "manage.py", "pyproject.toml"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy / part)
    try:
        for module in modules:
            result = mutate(copy, module, MODULES[module], args.timeout)
            print(
                f"{module}: {result['mutants']} mutants, {result['killed']} killed, "
                f"{len(result['survived'])} survived, {result['timeouts']} timeouts, "  # type: ignore[arg-type]
                f"{result['untested']} not run{'' if result['finished'] else ' (time limit)'}; "
                f"score {result['score']} %"
            )
            if result["survived"]:
                print(f"  survivors: {' '.join(result['survived'])}")  # type: ignore[arg-type]
            sys.stdout.flush()
    finally:
        if args.keep:
            print(f"copy kept in {copy}")
        else:
            shutil.rmtree(copy, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
