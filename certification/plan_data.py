"""Plans as data: the checks every step passes wherever it comes from (the step form, a
JSON import), and the JSON that labs exchange plans in.

The JSON document (``FORMAT``)::

    {"format": "ocpp-portal-plan/1", "name": "...", "version": 3, "ocpp_version": "1.6",
     "description": "...", "steps": [{"number": 1, "profile": "Core", "title": "...",
     "description": "...", "manual_actions": "...", "preconditions": "...",
     "expected_sequence": "...", "commands": [{"label", "action", "payload"}],
     "judge_rule": "boot", "judge_params": {}, "mandatory": true,
     "na_reasons": [{"code": "fixed_cable", "text": "..."}],
     "applies_when": [{"fact", "<operator>", "na_reason"}], "octt_ids": ["TC_001"],
     "spec_sections": ["4.2 Boot Notification"]}]}

Judge rules are code: a plan names them, and an import naming a rule this portal does not
have is refused with the name.
"""

from __future__ import annotations

import re
from typing import Any

from certification.applicability import ConditionError, parse_conditions
from certification.judge import RULES
from certification.models import Profile, TestPlan, TestStep

FORMAT = "ocpp-portal-plan/1"
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024

# The OCA's 1.6 test case ids, TC_001 … TC_088 with optional sub-ids (the "_CS" suffix of
# the charge point cases is left out).
OCTT_ID = re.compile(r"^TC_\d{3}(_\d{1,2})?$")

STEP_FIELDS: tuple[str, ...] = (
    "number",
    "profile",
    "title",
    "description",
    "manual_actions",
    "preconditions",
    "expected_sequence",
    "commands",
    "judge_rule",
    "judge_params",
    "mandatory",
    "na_reasons",
    "applies_when",
    "octt_ids",
    "spec_sections",
    "start_checks",
    "automation",
)
TEXT_FIELDS = ("description", "manual_actions", "preconditions", "expected_sequence")


class PlanDataError(ValueError):
    """Plan data that cannot be used; the message names the step and the field."""


def check_commands(commands: object) -> list[dict[str, Any]]:
    """Console commands: a list of {"label", "action", "payload"}, each payload valid
    OCPP 1.6 for its action (placeholders such as "{firmware:valid}" are strings)."""
    from chargers.services import CommandPayloadError, validate_command
    from chargers.transfers import placeholder_example

    if commands is None:
        return []
    if not isinstance(commands, list):
        raise PlanDataError('Commands are a list of {"label", "action", "payload"} objects.')
    for index, command in enumerate(commands, start=1):
        if not isinstance(command, dict) or not isinstance(command.get("action"), str):
            raise PlanDataError(f"Command {index} needs an action.")
        try:
            validate_command(command["action"], placeholder_example(command.get("payload", {})))
        except CommandPayloadError as error:
            raise PlanDataError(f"Command {index}: {error}") from None
    return commands


NA_REASON_CODE = re.compile(r"^[a-z][a-zA-Z0-9_]{0,63}$")


def check_na_reasons(reasons: object) -> list[dict[str, str]]:
    """The reasons a step may be N/A: [{"code": "fixed_cable", "text": "..."}], codes unique
    (a StepResult's na_reason holds the code)."""
    if reasons is None:
        return []
    if not isinstance(reasons, list):
        raise PlanDataError('N/A reasons are a list of {"code", "text"} objects.')
    checked: list[dict[str, str]] = []
    for number, reason in enumerate(reasons, start=1):
        if not isinstance(reason, dict) or set(reason) - {"code", "text"}:
            raise PlanDataError(f'N/A reason {number} is not a {{"code", "text"}} object.')
        code, text = reason.get("code"), reason.get("text", "")
        if not isinstance(code, str) or not NA_REASON_CODE.match(code):
            raise PlanDataError(
                f"N/A reason {number}: the code is a word such as fixed_cable "
                "(letters, digits and _, at most 64)."
            )
        if not isinstance(text, str):
            raise PlanDataError(f"N/A reason {number}: the text is text.")
        if any(c["code"] == code for c in checked):
            raise PlanDataError(f"N/A reason {code} is given twice.")
        checked.append({"code": code, "text": text.strip()})
    return checked


def check_conditions(
    conditions: object, na_reasons: list[dict[str, str]] | None = None
) -> list[dict[str, Any]]:
    """Applicability conditions; with the step's ``na_reasons``, each must name one."""
    codes = None if na_reasons is None else {reason["code"] for reason in na_reasons}
    try:
        return [condition.as_data() for condition in parse_conditions(conditions, codes)]
    except ConditionError as error:
        raise PlanDataError(str(error)) from None


def check_octt_ids(ids: object) -> list[str]:
    if ids is None:
        return []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise PlanDataError('OCTT test cases are a list of ids such as ["TC_011_1"].')
    wrong = [i for i in ids if not OCTT_ID.match(i)]
    if wrong:
        raise PlanDataError(
            f"{', '.join(wrong)} is not an OCTT 1.6 test case id (TC_ and three digits, "
            "optionally _ and a sub-id)."
        )
    return list(dict.fromkeys(ids))


def check_spec_sections(sections: object) -> list[str]:
    if sections is None:
        return []
    if not isinstance(sections, list) or not all(
        isinstance(s, str) and s.strip() for s in sections
    ):
        raise PlanDataError('Specification sections are a list such as ["5.14 Reset"].')
    return [s.strip() for s in sections]


def check_judge(rule: object, params: object) -> tuple[str, dict[str, Any]]:
    if not isinstance(rule, str) or (rule and rule not in RULES):
        raise PlanDataError(f"Judge rule {rule!r} is not one this portal has.")
    if not isinstance(params, dict):
        raise PlanDataError("Judge parameters are an object.")
    return rule, params


def check_start_checks(checks: object) -> list[str]:
    """The common preconditions starting the step checks (models.START_CHECKS); None (not
    given) is all of them, [] none."""
    from certification.models import START_CHECKS, default_start_checks

    if checks is None:
        return default_start_checks()
    if not isinstance(checks, list) or any(check not in START_CHECKS for check in checks):
        raise PlanDataError(f"start_checks is a list out of {', '.join(START_CHECKS)}.")
    return list(dict.fromkeys(checks))


UNTIL_KEYS = frozenset({"action", "status", "connectorId", "connected", "since"})


def _seconds(value: object, what: str) -> None:
    """A number of seconds, or {"heartbeat_intervals": n} (certification.unattended)."""
    if isinstance(value, dict) and set(value) == {"heartbeat_intervals"}:
        value = value["heartbeat_intervals"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 86400:
        raise PlanDataError(
            f'{what} is a number of seconds from 0 to 86400 or {{"heartbeat_intervals": n}}.'
        )


def check_automation(operations: object) -> list[dict[str, Any]]:
    """What an unattended run does in the step (certification.unattended, docs/
    unattended-runs.md): a list of operations, each an object with exactly one of bench,
    command, commands, fault, wait and until (the first in that order names the operation,
    as the player reads it: "commands" takes a "wait"), and the arguments it takes."""
    from certification.unattended import OPERATIONS
    from chargers import bench

    if not isinstance(operations, list):
        raise PlanDataError("automation is a list of operations.")
    for index, operation in enumerate(operations, start=1):
        where = f"automation operation {index}"
        if not isinstance(operation, dict):
            raise PlanDataError(f"{where} is not an object.")
        kinds = [kind for kind in OPERATIONS if kind in operation]
        if not kinds:
            raise PlanDataError(f"{where} needs one of {', '.join(OPERATIONS)}.")
        kind, value = kinds[0], operation[kinds[0]]
        others = set(operation) - {kind}
        if kind == "bench":
            if value not in bench.ACTIONS:
                raise PlanDataError(f"{where}: bench is one of {', '.join(bench.ACTIONS)}.")
            unknown = others - {"card", *bench.ARGUMENTS[value]}
            if unknown:
                raise PlanDataError(f"{where}: {value} does not take {', '.join(sorted(unknown))}.")
            if operation.get("card", "accepted") not in ("accepted", "rejected"):
                raise PlanDataError(f'{where}: card is "accepted" or "rejected".')
        elif kind == "command":
            if not isinstance(value, str) or not value or others:
                raise PlanDataError(f"{where}: command is the label of one of the step's commands.")
        elif kind == "commands":
            if value != "all" or others - {"wait"}:
                raise PlanDataError(f'{where}: commands is "all", with an optional wait.')
            if "wait" in operation:
                _seconds(operation["wait"], f"{where}: wait")
        elif kind == "fault":
            if not isinstance(value, str) or not value:
                raise PlanDataError(f"{where}: fault is the kind of fault to inject.")
        elif kind == "wait":
            if others:
                raise PlanDataError(f"{where}: wait takes nothing else.")
            _seconds(value, f"{where}: wait")
        else:
            if not isinstance(value, dict) or not value or set(value) - UNTIL_KEYS:
                raise PlanDataError(
                    f"{where}: until is an object of {', '.join(sorted(UNTIL_KEYS))}."
                )
            if others - {"timeout"}:
                raise PlanDataError(f"{where}: until takes only a timeout besides.")
            _seconds(operation.get("timeout", 60), f"{where}: timeout")
    return operations


def check_step(data: object, position: int) -> dict[str, Any]:
    """One step of an imported plan, checked field by field; returns TestStep's fields."""
    if not isinstance(data, dict):
        raise PlanDataError(f"Step {position} is not an object.")
    where = f"Step {data.get('number', position)}"
    unknown = set(data) - set(STEP_FIELDS)
    if unknown:
        raise PlanDataError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}.")
    number = data.get("number", position)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 999:
        raise PlanDataError(f"{where}: number must be a whole number from 1 to 999.")
    profile = data.get("profile")
    if profile not in Profile.values:
        raise PlanDataError(f"{where}: profile must be one of {', '.join(Profile.values)}.")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise PlanDataError(f"{where}: a title of 1 to 200 characters is required.")
    fields: dict[str, Any] = {"number": number, "profile": profile, "title": title.strip()}
    for name in TEXT_FIELDS:
        value = data.get(name, "")
        if not isinstance(value, str):
            raise PlanDataError(f"{where}: {name} is text.")
        fields[name] = value
    mandatory = data.get("mandatory", True)
    if not isinstance(mandatory, bool):
        raise PlanDataError(f"{where}: mandatory is true or false.")
    fields["mandatory"] = mandatory
    try:
        fields["commands"] = check_commands(data.get("commands", []))
        fields["judge_rule"], fields["judge_params"] = check_judge(
            data.get("judge_rule", ""), data.get("judge_params", {})
        )
        fields["na_reasons"] = check_na_reasons(data.get("na_reasons", []))
        fields["applies_when"] = check_conditions(
            data.get("applies_when", []), fields["na_reasons"]
        )
        fields["octt_ids"] = check_octt_ids(data.get("octt_ids", []))
        fields["spec_sections"] = check_spec_sections(data.get("spec_sections", []))
        fields["start_checks"] = check_start_checks(data.get("start_checks"))
        fields["automation"] = check_automation(data.get("automation", []))
    except PlanDataError as error:
        raise PlanDataError(f"{where}: {error}") from None
    return fields


def check_plan(document: object) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A whole plan document: its own fields and its steps, or PlanDataError."""
    if not isinstance(document, dict):
        raise PlanDataError("A plan is a JSON object.")
    if document.get("format") != FORMAT:
        raise PlanDataError(f'Not a plan of this portal: "format" must be "{FORMAT}".')
    name = document.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        raise PlanDataError("The plan needs a name of 1 to 120 characters.")
    ocpp_version = document.get("ocpp_version", "1.6")
    if ocpp_version != "1.6":
        raise PlanDataError("Only OCPP 1.6 plans can be run by this portal.")
    description = document.get("description", "")
    if not isinstance(description, str):
        raise PlanDataError("The description is text.")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise PlanDataError("The plan has no steps.")
    steps = [check_step(step, position) for position, step in enumerate(raw_steps, start=1)]
    numbers = [step["number"] for step in steps]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise PlanDataError(f"Step number(s) {', '.join(map(str, duplicates))} used twice.")
    plan = {"name": name.strip(), "ocpp_version": ocpp_version, "description": description}
    return plan, steps


def step_data(step: TestStep) -> dict[str, Any]:
    return {name: getattr(step, name) for name in STEP_FIELDS}


def export_plan(plan: TestPlan) -> dict[str, Any]:
    """The plan version as the JSON document labs share (FORMAT)."""
    return {
        "format": FORMAT,
        "name": plan.name,
        "version": plan.version,
        "ocpp_version": plan.ocpp_version,
        "description": plan.description,
        "steps": [step_data(step) for step in plan.steps.order_by("number")],
    }
