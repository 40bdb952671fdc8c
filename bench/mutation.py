"""Mutation testing of the judge and of chargers/ocpp/frames.py against their own tests.

mutmut 2.x (3.x skips decorated functions, and every rule is decorated with @step_rule)
mutates one module at a time and runs only the tests that pin it with pytest, without Django,
conftest or entry-point plugins (the judge and frames.py are pure), so that a module takes
minutes, not hours, on the shared 2-core machine. mutmut edits the source in place: it runs
in a copy of the tree (a temporary one, or `--workdir DIR` kept between runs so that only
the mutants not killed yet run again).

    python -m bench.mutation [--timeout SECONDS] [--workdir DIR] [--recheck] [--report]
                             [--no-diffs] [module ...]

Modules are paths or names (`sessions`, `frames`); default every file of certification/judge
and frames.py. Prints per module: mutants, killed, survived, timeouts and the score (killed
/ all that ran), then each survivor's diff, so that the equivalent ones can be sorted out
without a second pass. `--recheck` applies each survivor to a clean copy and runs the tests
again (mutmut 2.4's cache can lose track of lines that moved), and each mutant mutmut left
unrun (on a line whose text repeats an earlier one) too; `--report` reads a kept workdir
without running mutmut. Not part of CI; scores go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JUDGE = "certification/judge"

# The property test that feeds every rule generated evidence (hypothesis) asserts only that
# no rule raises; it pins no module's judgements. It takes 50 s alone, up to 140 s on the
# loaded machine, paid twice by every surviving mutant (the run and the recheck), so it is
# not one of a rule module's tests. CI runs it.
PROPERTY_TESTS = ("tests/judge/test_any_evidence.py",)
# types.py and __init__.py (the judge's contract and its registry) run against every other
# test file of tests/judge: each builds their values or goes through the registry.
EVERY_EXAMPLE_TEST = sorted(
    str(path.relative_to(ROOT))
    for path in (ROOT / "tests" / "judge").glob("test_*.py")
    if str(path.relative_to(ROOT)) not in PROPERTY_TESTS
)

# Modules whose tests are not found by `judge_tests` (by name), and the helpers every rule
# goes through (whose tests are all of tests/judge).
EXTRA_TESTS: dict[str, list[str]] = {
    "chargers/ocpp/frames.py": ["tests/chargers/test_ocpp_frames.py"],
    f"{JUDGE}/sequence.py": ["tests/judge"],
    f"{JUDGE}/outcome.py": ["tests/judge"],
    f"{JUDGE}/types.py": EVERY_EXAMPLE_TEST,
    f"{JUDGE}/__init__.py": EVERY_EXAMPLE_TEST,
    # Not a rule of the registry: certification.services compares every BootNotification
    # with the run's pinned names through it (tested with the database in
    # tests/certification/test_reported_identity.py); its pure tests are this file.
    f"{JUDGE}/identity.py": ["tests/judge/test_identity.py"],
}


def judge_tests(module: str) -> list[str]:
    """The test files of tests/judge that pin a judge module: those that import it by name,
    and those that go through the registry (`from certification.judge import ...`), which is
    how the steps without a module of their own in the tests (security, local list, ...) are
    judged; not the PROPERTY_TESTS. As paths relative to the root: those naming the module
    first, then the others, each group sorted. The order changes no result, only the time:
    pytest runs with -x, and the module's own tests kill most of its mutants soonest."""
    name = Path(module).stem
    own = re.compile(rf"certification\.judge\.{name}\b")
    by_registry = re.compile(r"certification\.judge import\b")
    found = [
        (not own.search(text), str(path.relative_to(ROOT)))
        for path in (ROOT / "tests" / "judge").glob("test_*.py")
        if (own.search(text := path.read_text()) or by_registry.search(text))
        and str(path.relative_to(ROOT)) not in PROPERTY_TESTS
    ]
    return [path for *_, path in sorted(found)]


def modules() -> dict[str, list[str]]:
    """Each module (every file of the judge, and frames.py) and the tests that pin it."""
    found = {
        str(path.relative_to(ROOT)): judge_tests(str(path))
        for path in sorted((ROOT / JUDGE).glob("*.py"))
    }
    found.update(EXTRA_TESTS)
    return {"chargers/ocpp/frames.py": found.pop("chargers/ocpp/frames.py"), **found}


def resolve(name: str, known: dict[str, list[str]]) -> str:
    """`sessions`, `frames` or a path: the module's path."""
    if name in known:
        return name
    matches = [path for path in known if Path(path).stem == name.removesuffix(".py")]
    if len(matches) != 1:
        raise SystemExit(f"unknown module {name!r}; one of: {' '.join(known)}")
    return matches[0]


def mutate(
    copy: Path, module: str, tests: list[str], timeout: float, run: bool = True
) -> dict[str, object]:
    """Run mutmut on one module inside `copy`; returns its counts and surviving ids.

    mutmut's cache (`copy/.mutmut-cache`) is kept: a killed mutant stays killed, and the
    others are run again whenever the tests changed, so a second run after new tests only
    runs the survivors. The counts are read from the cache for this module alone.
    """
    # No bytecode: a mutant of the same size written within the same second as the last
    # compile would otherwise run as the stale .pyc of the previous one. No plugins loaded
    # from entry points (hypothesis, schemathesis, django, asyncio): they took 1.5 s of the
    # 2 s a run of the judge's tests takes, and none of these tests needs one.
    # mutmut 2 takes only exit status 1 as a failing run: a mutant that breaks the import
    # (pytest's collection error, status 2) would count as surviving, so any failure is 1.
    pytest = (
        "env PYTHONDONTWRITEBYTECODE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 "
        f"{sys.executable} -m pytest -x -q -p no:cacheprovider --noconftest " + " ".join(tests)
    )
    runner = "sh -c " + shlex.quote(f"{pytest} || exit 1")
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
        if run:
            subprocess.run(command, cwd=copy, timeout=timeout, capture_output=True, check=False)
    except subprocess.TimeoutExpired:
        finished = False
    statuses = mutant_statuses(copy / ".mutmut-cache", module)
    killed = sum(1 for status in statuses.values() if status in ("ok_killed", "ok_suspicious"))
    survived = [str(mutant) for mutant, status in statuses.items() if status == "bad_survived"]
    timeouts = sum(1 for status in statuses.values() if status == "bad_timeout")
    ran = killed + len(survived) + timeouts
    # After a finished run, mutants still untested are rows of lines the module no longer
    # has (the cache outlives edits of the source), or mutants of a line whose text repeats
    # an earlier line of the module (each rule's `frames, findings = ...`), which mutmut 2
    # never runs: `unrun`, for --recheck to apply by hand ("not applied": the line is gone).
    untested = 0 if finished else len(statuses) - ran
    unrun = [str(m) for m, status in statuses.items() if status == "untested"] if finished else []
    return {
        "module": module,
        "finished": finished,
        "mutants": ran + untested,
        "killed": killed,
        "survived": survived,
        "timeouts": timeouts,
        "untested": untested,
        "unrun": unrun,
        "score": round(100 * (killed + timeouts) / ran, 1) if ran else None,
    }


def mutant_statuses(cache: Path, module: str) -> dict[int, str]:
    """{mutant id: mutmut status} of one module's mutants, from mutmut 2's SQLite cache."""
    if not cache.exists():
        return {}
    with sqlite3.connect(cache) as database:
        rows = database.execute(
            "SELECT mutant.id, mutant.status FROM mutant"
            " JOIN line ON mutant.line = line.id"
            " JOIN sourcefile ON line.sourcefile = sourcefile.id"
            " WHERE sourcefile.filename = ? ORDER BY mutant.id",
            (module,),
        ).fetchall()
    return dict(rows)


def refresh(copy: Path) -> None:
    """Copy the tree's code and tests into `copy`, keeping mutmut's cache there."""
    for part in ("certification", "chargers", "config", "tests", "manage.py", "pyproject.toml"):
        source, target = ROOT / part, copy / part
        if source.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)


def diff(copy: Path, mutant: str) -> str:
    """The change mutant `mutant` makes (`mutmut show`), without its header line."""
    shown = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", mutant],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return "\n".join(
        line
        for line in shown.splitlines()
        if line.startswith(("-", "+", "@@")) and not line.startswith(("---", "+++"))
    )


def recheck(clean: Path, module: str, tests: list[str], mutant: str, copy: Path) -> str:
    """Apply a survivor's diff (`mutmut show`) to `clean`, a copy mutmut never touched, and
    run the module's tests: "killed", "survived" or "not applied".

    mutmut 2.4 keys its cache on line text and number; after the module's lines move (an
    edit above, a rebase), some ids keep a status from a line they no longer name, and
    mutants the tests kill by hand are reported as surviving. This is the check that counts.
    """
    shown = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", mutant],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    if "@@" not in shown:
        return "not applied"
    patch = ["patch", "-p0", "--quiet", "--no-backup-if-mismatch", "-r", "-"]
    if subprocess.run([*patch], input=shown, cwd=clean, text=True, capture_output=True).returncode:
        return "not applied"
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-x",
                "-q",
                "-p",
                "no:cacheprovider",
                "--noconftest",
                *tests,
            ],
            cwd=clean,
            capture_output=True,
            env={
                **os.environ,
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            },
            check=False,
        )
    finally:
        subprocess.run([*patch, "-R"], input=shown, cwd=clean, text=True, capture_output=True)
    return "survived" if result.returncode == 0 else "killed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "modules", nargs="*", help="paths or names (sessions, frames); default: every module"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per module")
    parser.add_argument("--keep", action="store_true", help="keep the copy (mutmut show)")
    parser.add_argument(
        "--workdir",
        help="a copy kept between runs: only the mutants not killed yet run again",
    )
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="apply each survivor, and each mutant of a repeated line mutmut did not run, to a "
        "clean copy and run the tests (see recheck)",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="with --workdir: report what its cache holds, without running mutmut",
    )
    parser.add_argument("--no-diffs", action="store_true", help="list survivors' ids only")
    args = parser.parse_args()
    known = modules()
    chosen = [resolve(name, known) for name in args.modules] or list(known)
    if args.workdir:
        copy = Path(args.workdir).resolve()
        copy.mkdir(parents=True, exist_ok=True)
    else:
        copy = Path(tempfile.mkdtemp(prefix="mutation-"))
    if not args.report:
        refresh(copy)
    # A run cut short leaves the module mutated, with mutmut's backup next to it.
    for backup in copy.rglob("*.py.bak"):
        backup.replace(backup.with_suffix(""))
    try:
        clean = Path(tempfile.mkdtemp(prefix="mutation-clean-"))
        refresh(clean)
        for module in chosen:
            result = mutate(copy, module, known[module], args.timeout, run=not args.report)
            survived: list[str] = result["survived"]  # type: ignore[assignment]
            unrun: list[str] = result["unrun"]  # type: ignore[assignment]
            rechecked = {
                mutant: recheck(clean, module, known[module], mutant, copy)
                for mutant in ([*survived, *unrun] if args.recheck else [])
            }
            print(
                f"{module}: {result['mutants']} mutants, {result['killed']} killed, "
                f"{len(survived)} survived, {result['timeouts']} timeouts, "
                f"{result['untested']} not run{'' if result['finished'] else ' (time limit)'}; "
                f"score {result['score']} %"
            )
            if rechecked:
                killed = [m for m, verdict in rechecked.items() if verdict == "killed"]
                lost = [m for m, verdict in rechecked.items() if verdict == "not applied"]
                print(
                    f"  recheck: killed by hand {' '.join(killed) or '-'}; "
                    f"not applied {' '.join(lost) or '-'}; of these, not run by mutmut "
                    f"(a repeated line) {' '.join(unrun) or '-'}"
                )
                survived += [m for m in unrun if rechecked[m] == "survived"]
            if survived:
                print(f"  survivors: {' '.join(survived)}")
                for mutant in [] if args.no_diffs else survived:
                    if rechecked.get(mutant) == "killed":
                        continue
                    print(f"  #{mutant}\n" + textwrap.indent(diff(copy, mutant), "    "))
            sys.stdout.flush()
        shutil.rmtree(clean, ignore_errors=True)
    finally:
        if args.keep or args.workdir:
            print(f"copy kept in {copy}")
        else:
            shutil.rmtree(copy, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
