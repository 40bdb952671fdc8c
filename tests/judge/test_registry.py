"""The rule registry the plan steps name their judging rule by."""

from __future__ import annotations

import pytest

from certification.judge import (
    DEFAULT_PLAN_RULES,
    FULL_PLAN_RULES,
    RULES,
    SECURITY_PLAN_RULES,
    judge,
)
from certification.judge.types import Finding, Judgement, StepContext
from tests.judge.frames import Wire


def test_default_plan_has_one_rule_per_step_in_plan_order() -> None:
    assert len(DEFAULT_PLAN_RULES) == 23
    assert DEFAULT_PLAN_RULES[0] == "boot"
    assert DEFAULT_PLAN_RULES[14] == "remote_start_unlock"
    assert DEFAULT_PLAN_RULES[-1] == "trigger_message"
    assert set(DEFAULT_PLAN_RULES) | set(SECURITY_PLAN_RULES) | set(FULL_PLAN_RULES) == set(RULES)


def test_the_full_plan_names_every_rule_of_ocpp_16_charge_points() -> None:
    from certification import full_plan

    named = {step["judge_rule"] for step in full_plan.steps()}
    assert named == set(DEFAULT_PLAN_RULES) | set(FULL_PLAN_RULES)


def test_judge_rejects_an_unknown_rule() -> None:
    with pytest.raises(ValueError, match="no_such_rule"):
        judge("no_such_rule", StepContext(frames=()))


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_turns_an_empty_step_into_a_fail_that_names_what_was_expected(
    rule: str,
) -> None:
    judgement = judge(rule, StepContext(frames=()))

    assert judgement.verdict == "N"
    assert judgement.findings[0].message.startswith("No ")
    assert "recorded no frames" in judgement.findings[0].message


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_survives_a_step_of_unrelated_or_broken_frames(rule: str) -> None:
    wire = Wire()
    wire.garbage_in("not a JSON array")
    wire.heartbeat()

    judgement = judge(rule, wire.context())

    assert judgement.verdict in ("N", "NA")
    assert any("not valid OCPP-J" in f.message for f in judgement.findings)


def test_judgement_is_minor_only_with_a_minor_finding() -> None:
    clean = Judgement("Y", (Finding("info", "noted"),), {})
    remarked = Judgement("Y", (Finding("minor", "remark"),), {})

    assert not clean.minor
    assert remarked.minor
