"""Which steps of a plan apply to a charger: conditions kept as plan data, checked against
the facts of the charger's capability declaration.

A step's ``applies_when`` is a list of conditions that must all hold, each a JSON object
naming a declaration fact (``chargers.models.DECLARATION_FACTS``), one operator and the
code of the step's N/A reason (``TestStep.na_reasons``, whose text the report gives) that
applies when it does not hold::

    {"fact": "outlet", "is": "socket", "na_reason": "fixed_cable"}
    {"fact": "profiles", "includes": "Reservation", "na_reason": "no_reservation"}
    {"fact": "connectors", "at_least": 2, "na_reason": "one_connector"}

A step ruled out this way is N/A for a reason its plan allows, so the run's outcome
(``certification.models.outcome_of``) counts it as such.

No database here: facts in, a verdict on applicability out, so plans can be checked on
import and every rule is unit-tested with plain dictionaries.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from chargers.models import DECLARATION_FACTS

OPERATORS: dict[str, str] = {
    "is": "is",
    "is_not": "is not",
    "includes": "includes",
    "at_least": "is at least",
}


class ConditionError(ValueError):
    """A condition that cannot be checked; the message names what is wrong in it."""


@dataclass(frozen=True)
class Condition:
    fact: str
    operator: str
    value: Any
    na_reason: str

    def holds(self, actual: Any) -> bool:
        """Whether the declared ``actual`` value meets the condition (``actual`` not None)."""
        if self.operator == "is":
            return bool(actual == self.value)
        if self.operator == "is_not":
            return bool(actual != self.value)
        if self.operator == "includes":
            return isinstance(actual, list | tuple) and self.value in actual
        return isinstance(actual, int | float) and actual >= self.value

    def as_data(self) -> dict[str, Any]:
        return {"fact": self.fact, self.operator: self.value, "na_reason": self.na_reason}

    def __str__(self) -> str:
        return f"{self.fact} {OPERATORS[self.operator]} {self.value!r}"


@dataclass(frozen=True)
class Applicability:
    """``applies`` is True, False (not applicable, with the codes of the step's N/A reasons
    in ``na_reasons``, first the one the step is recorded with) or None when the declaration
    leaves a question the step needs unanswered (``questions``)."""

    applies: bool | None
    na_reasons: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()


def parse_conditions(
    data: object, na_reason_codes: Collection[str] | None = None
) -> tuple[Condition, ...]:
    """Read ``applies_when`` data; raises ConditionError naming the first faulty condition.
    With ``na_reason_codes`` (the step's N/A reasons), each condition must name one."""
    if data in (None, ""):
        return ()
    if not isinstance(data, list):
        raise ConditionError("Applicability conditions are a list of objects.")
    conditions = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise ConditionError(f"Condition {number} is not an object.")
        fact = item.get("fact")
        if fact not in DECLARATION_FACTS:
            known = ", ".join(DECLARATION_FACTS)
            raise ConditionError(f"Condition {number}: unknown fact {fact!r}; known: {known}.")
        operators = [name for name in OPERATORS if name in item]
        if len(operators) != 1:
            raise ConditionError(f"Condition {number} needs exactly one of {', '.join(OPERATORS)}.")
        code = item.get("na_reason")
        if not isinstance(code, str) or not code.strip():
            raise ConditionError(
                f"Condition {number} needs an na_reason: the code of the step's N/A reason "
                "when it does not hold."
            )
        if na_reason_codes is not None and code not in na_reason_codes:
            allowed = ", ".join(sorted(na_reason_codes)) or "none"
            raise ConditionError(
                f"Condition {number}: {code!r} is not one of the step's N/A reasons "
                f"(it has: {allowed})."
            )
        extra = set(item) - {"fact", "na_reason", *operators}
        if extra:
            raise ConditionError(
                f"Condition {number}: unknown field(s) {', '.join(sorted(extra))}."
            )
        operator = operators[0]
        value = item[operator]
        if operator == "at_least" and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConditionError(f"Condition {number}: at_least takes a whole number.")
        conditions.append(Condition(fact, operator, value, code.strip()))
    return tuple(conditions)


def evaluate(conditions: tuple[Condition, ...], facts: Mapping[str, Any]) -> Applicability:
    """A condition that fails makes the step N/A even when others cannot be checked; with
    none failing, an unanswered fact makes the answer unknown."""
    codes: list[str] = []
    questions: list[str] = []
    for condition in conditions:
        actual = facts.get(condition.fact)
        if actual is None:
            question = DECLARATION_FACTS[condition.fact]
            if question not in questions:
                questions.append(question)
        elif not condition.holds(actual) and condition.na_reason not in codes:
            codes.append(condition.na_reason)
    if codes:
        return Applicability(False, tuple(codes), tuple(questions))
    if questions:
        return Applicability(None, (), tuple(questions))
    return Applicability(True)
