"""Steps chosen from the charger's declaration: conditions as plan data, non-applicable
steps pre-filled N/A with the plan's reason, unanswered questions said as such."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certification import services
from certification.applicability import ConditionError, evaluate, parse_conditions
from certification.models import Outcome, StepResult, TestPlan, TestRun
from chargers import services as charger_services
from chargers.models import CapabilityDeclaration, ChargePoint, FirmwareVersion, User

UNLOCK = 15
DECLARED = {
    "feature_profiles": ["Core", "FirmwareManagement", "RemoteTrigger"],
    "connectors": 2,
    "outlet": "cable",
    "current_type": "DC",
    "rfid_reader": True,
}


def test_a_condition_that_fails_gives_its_reason_even_when_others_are_unanswered() -> None:
    conditions = parse_conditions(
        [
            {"fact": "outlet", "is": "socket", "na_reason": "fixed_cable"},
            {"fact": "rfid_reader", "is": True, "na_reason": "no_reader"},
        ]
    )
    ruled_out = evaluate(conditions, {"outlet": "cable", "rfid_reader": None})
    assert (ruled_out.applies, ruled_out.na_reasons) == (False, ("fixed_cable",))
    unknown = evaluate(conditions, {"outlet": "socket", "rfid_reader": None})
    assert unknown.applies is None
    assert unknown.questions == ("Does it have an RFID reader?",)
    assert evaluate(conditions, {"outlet": "socket", "rfid_reader": True}).applies is True


def test_profiles_and_counts_are_checked_with_includes_and_at_least() -> None:
    conditions = parse_conditions(
        [
            {"fact": "profiles", "includes": "Reservation", "na_reason": "no_reservation"},
            {"fact": "connectors", "at_least": 2, "na_reason": "one_connector"},
        ]
    )
    result = evaluate(conditions, {"profiles": ["Core"], "connectors": 1})
    assert result.na_reasons == ("no_reservation", "one_connector")
    assert evaluate(conditions, {"profiles": ["Core", "Reservation"], "connectors": 2}).applies


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"fact": "outlet", "is": "socket"}, "needs an na_reason"),
        ([{"fact": "colour", "is": "red", "na_reason": "fixed_cable"}], "unknown fact 'colour'"),
        (
            [{"fact": "outlet", "is": "socket", "is_not": "cable", "na_reason": "fixed_cable"}],
            "exactly one",
        ),
        ([{"fact": "connectors", "at_least": "2", "na_reason": "fixed_cable"}], "whole number"),
        (
            [{"fact": "outlet", "is": "socket", "na_reason": "fixed_cable", "why": "y"}],
            "unknown field",
        ),
        ([{"fact": "outlet", "is": "socket", "na_reason": "x"}], "'x' is not one of the step"),
    ],
)
def test_faulty_conditions_are_refused_naming_the_fault(data: object, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        parse_conditions(data if isinstance(data, list) else [data], {"fixed_cable"})


def locked(firmware: FirmwareVersion, engineer: User, **answers: object) -> CapabilityDeclaration:
    declaration = charger_services.new_declaration(firmware, engineer)
    charger_services.save_declaration(declaration, DECLARED | answers, engineer)
    return charger_services.lock_declaration(declaration, engineer)


@pytest.mark.django_db
def test_a_fixed_cable_dc_declaration_prefills_step_15_as_not_applicable(
    default_plan: TestPlan,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    engineer: User,
) -> None:
    declaration = locked(c8eu_firmware, engineer)
    run = services.create_run(
        charge_point=run_charge_point,
        plan=default_plan,
        tester=engineer,
        firmware_version=c8eu_firmware,
    )
    assert run.declaration == declaration
    prefilled = run.results.get()
    assert (prefilled.step.number, prefilled.final_verdict) == (UNLOCK, "NA")
    assert prefilled.na_reason == "fixed_cable"
    assert prefilled.remarks == (
        "Not applicable: The charger has a fixed cable: there is no socket lock to release."
    )
    assert prefilled.decided_by is None and prefilled.started_at is None
    assert run.outcome().outcome == Outcome.INCOMPLETE  # 22 steps still to run

    # The run reaches Pass: every other step passes; step 15 is N/A for a reason its plan
    # allows.
    now = timezone.now()
    for step in run.plan.steps.exclude(number=UNLOCK):
        StepResult.objects.create(
            run=run, step=step, started_at=now, finished_at=now, final_verdict="Y"
        )
    assert run.outcome().outcome == Outcome.PASS
    services.submit_for_review(run, engineer)
    summary = services.run_report(run)["summary"]
    assert (summary["passed"], summary["not_applicable"], summary["outcome"]) == (22, 1, "pass")


@pytest.mark.django_db
def test_the_engineer_can_still_run_a_prefilled_step(run: TestRun, engineer: User) -> None:
    assert run.results.get(step__number=UNLOCK).final_verdict == "NA"  # the model's fixed cable
    step = run.plan.steps.get(number=UNLOCK)
    attempt = services.start_step(run, step, engineer, anyway="no charger in this test")
    assert attempt.attempt == 2
    services.finish_step(attempt)
    assert services.latest_results(run)[UNLOCK].pk == attempt.pk


@pytest.mark.django_db
def test_a_socket_charger_runs_the_unlock_step_and_unsupported_profiles_are_na(
    default_plan: TestPlan,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    engineer: User,
) -> None:
    locked(c8eu_firmware, engineer, outlet="socket", feature_profiles=["Core"])
    run = services.create_run(
        charge_point=run_charge_point,
        plan=default_plan,
        tester=engineer,
        firmware_version=c8eu_firmware,
    )
    not_applicable = dict(run.results.values_list("step__number", "remarks"))
    assert sorted(not_applicable) == [17, 18, 19, 20, 21, 23]
    assert not_applicable[23] == (
        "Not applicable: The charger does not support the Remote Trigger profile."
    )
    assert services.run_settings(run).can_unlock_connector is True


@pytest.mark.django_db
def test_the_console_says_which_answer_the_declaration_lacks(
    engineer_client: Client, run: TestRun
) -> None:
    # No declaration: the catalog knows the outlet but not whether there is a card reader.
    page = engineer_client.get(f"{run.get_absolute_url()}?step=6").content.decode()
    assert "does not say" in page and "Does it have an RFID reader?" in page
    unlock = engineer_client.get(f"{run.get_absolute_url()}?step=15").content.decode()
    assert "This step does not apply to the charger" in unlock and "fixed cable" in unlock
    assert "you can still run the step" in unlock
    assert "TC_011_1, TC_018_1" in unlock and "5.18 Unlock Connector" in unlock


@pytest.mark.django_db
def test_a_run_refuses_a_declaration_that_is_not_locked(
    default_plan: TestPlan,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    engineer: User,
) -> None:
    draft = charger_services.new_declaration(c8eu_firmware, engineer)
    with pytest.raises(services.WorkflowError, match="not a locked declaration"):
        services.create_run(
            charge_point=run_charge_point,
            plan=default_plan,
            tester=engineer,
            firmware_version=c8eu_firmware,
            declaration=draft,
        )
    # Without a locked one, a run pins none.
    run = services.create_run(
        charge_point=run_charge_point,
        plan=default_plan,
        tester=engineer,
        firmware_version=c8eu_firmware,
    )
    assert run.declaration is None


@pytest.mark.django_db
def test_the_report_prints_the_pinned_declaration_version(
    engineer_client: Client,
    default_plan: TestPlan,
    run_charge_point: ChargePoint,
    c8eu_firmware: FirmwareVersion,
    engineer: User,
) -> None:
    locked(c8eu_firmware, engineer)
    second = locked(c8eu_firmware, engineer, firmware_format="APK")
    run = services.create_run(
        charge_point=run_charge_point,
        plan=default_plan,
        tester=engineer,
        firmware_version=c8eu_firmware,
    )
    assert run.declaration == second
    page = engineer_client.get(reverse("certification:report-html", args=[run.pk])).content.decode()
    assert "Version 2 of the declaration" in page and "format APK" in page
    assert services.run_report(run)["declaration"]["version"] == 2
