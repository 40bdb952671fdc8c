"""Coverage of the OCA's compliance test cases: which OCTT 1.6 cases a run's plan covers, per
feature profile, and how they fared.

A case is covered by every step naming it. Its result is the worst of those steps' final
verdicts: failed when one of them failed, passed when each passed or is N/A and at least one
passed, not applicable when each is N/A, untested otherwise (a step without a verdict).
Pure: rows in, a table out, so the run page, the report and the API print the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

PASS, FAIL, NOT_APPLICABLE = "Y", "N", "NA"


@dataclass(frozen=True)
class StepCoverage:
    """What coverage needs of one step: its profile, the cases it names, its final verdict
    ("" while undecided)."""

    profile: str
    octt_ids: tuple[str, ...]
    verdict: str


@dataclass
class ProfileCoverage:
    profile: str
    cases: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)

    @property
    def covered(self) -> int:
        return len(self.cases)


def case_result(verdicts: Iterable[str]) -> str:
    """ "passed", "failed", "not_applicable" or "untested" for the verdicts of the steps
    that cover one case."""
    verdicts = list(verdicts)
    if FAIL in verdicts:
        return "failed"
    if any(v not in (PASS, NOT_APPLICABLE) for v in verdicts):
        return "untested"
    if PASS in verdicts:
        return "passed"
    return "not_applicable"


def coverage_table(steps: Iterable[StepCoverage]) -> list[ProfileCoverage]:
    """One row per feature profile, in the plan's order of first appearance. A case named by
    steps of two profiles counts in the profile of its first step."""
    verdicts: dict[str, list[str]] = {}
    profile_of: dict[str, str] = {}
    profiles: list[str] = []
    for step in steps:
        if step.profile not in profiles:
            profiles.append(step.profile)
        for case in step.octt_ids:
            profile_of.setdefault(case, step.profile)
            verdicts.setdefault(case, []).append(step.verdict)
    table = {profile: ProfileCoverage(profile) for profile in profiles}
    for case in sorted(verdicts):
        row = table[profile_of[case]]
        row.cases.append(case)
        getattr(row, case_result(verdicts[case])).append(case)
    return [table[profile] for profile in profiles]
