from __future__ import annotations

from typing import Any

from django import forms

from certification import plan_data
from certification.models import TestPlan, TestRun, TestStep, Verdict
from chargers import faults
from chargers.models import ChargePoint, FirmwareVersion, InjectedFault


class RunCreateForm(forms.ModelForm):
    firmware_version = forms.ModelChoiceField(
        queryset=FirmwareVersion.objects.select_related("charger_model__manufacturer"),
        help_text="The firmware under test; the charger model follows from it.",
    )

    class Meta:
        model = TestRun
        fields = ["charge_point", "firmware_version", "plan", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        charge_point = self.fields["charge_point"]
        plan = self.fields["plan"]
        assert isinstance(charge_point, forms.ModelChoiceField)
        assert isinstance(plan, forms.ModelChoiceField)
        charge_point.queryset = ChargePoint.objects.filter(enabled=True)
        published = TestPlan.objects.filter(status=TestPlan.Status.PUBLISHED)
        plan.queryset = published
        latest = published.order_by("name", "-version").first()
        if latest and not self.initial.get("plan"):
            self.initial["plan"] = latest.pk

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        charge_point, firmware = cleaned.get("charge_point"), cleaned.get("firmware_version")
        if (
            charge_point
            and firmware
            and charge_point.charger_model_id
            and charge_point.charger_model_id != firmware.charger_model_id
        ):
            self.add_error(
                "firmware_version",
                f"{charge_point} is registered as a {charge_point.charger_model}; "
                f"{firmware} is firmware of another model.",
            )
        return cleaned


class DecisionForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices, widget=forms.RadioSelect)
    remarks = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Goes into the report. Start lines with '* ' for bullet points.",
    )
    minor_issue = forms.BooleanField(required=False, label="Minor issue")
    na_reason = forms.CharField(required=False, max_length=64, label="N/A reason")


class SkipForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        required=False,
        help_text='Goes into the report, e.g. "DC charger: no unlock".',
    )
    na_reason = forms.CharField(required=False, max_length=64, label="N/A reason")


class StepForm(forms.ModelForm):
    """A step of a draft plan; the checks are plan_data's, the same as a JSON import's."""

    class Meta:
        model = TestStep
        fields = [
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
            "start_checks",
            "na_reasons",
            "applies_when",
            "octt_ids",
            "spec_sections",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "manual_actions": forms.Textarea(attrs={"rows": 4}),
            "preconditions": forms.Textarea(attrs={"rows": 2}),
            "expected_sequence": forms.Textarea(attrs={"rows": 3}),
        }

    def _checked(self, check: Any, *values: Any) -> Any:
        try:
            return check(*values)
        except plan_data.PlanDataError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_start_checks(self) -> Any:
        # Left empty: every check; [] turns them all off.
        return self._checked(plan_data.check_start_checks, self.cleaned_data["start_checks"])

    def clean_commands(self) -> Any:
        return self._checked(plan_data.check_commands, self.cleaned_data["commands"])

    def clean_na_reasons(self) -> Any:
        return self._checked(plan_data.check_na_reasons, self.cleaned_data["na_reasons"])

    def clean(self) -> dict[str, Any]:
        """Each applicability condition names one of the step's N/A reasons."""
        cleaned = super().clean() or {}
        if "applies_when" in cleaned and "na_reasons" in cleaned:
            try:
                cleaned["applies_when"] = plan_data.check_conditions(
                    cleaned["applies_when"], cleaned["na_reasons"]
                )
            except plan_data.PlanDataError as error:
                self.add_error("applies_when", str(error))
        return cleaned

    def clean_octt_ids(self) -> Any:
        return self._checked(plan_data.check_octt_ids, self.cleaned_data["octt_ids"])

    def clean_spec_sections(self) -> Any:
        return self._checked(plan_data.check_spec_sections, self.cleaned_data["spec_sections"])


class PlanImportForm(forms.Form):
    document = forms.FileField(
        label="Plan (JSON)", help_text=f'A plan exported by a portal ("{plan_data.FORMAT}").'
    )


class FaultForm(forms.Form):
    """A fault to inject from the console (chargers.services.inject_fault)."""

    kind = forms.ChoiceField(choices=InjectedFault.Kind.choices)
    action = forms.ChoiceField(
        choices=[("", "—"), *((a, a) for a in faults.CHARGER_ACTIONS)],
        required=False,
        help_text="The charger's action whose answers change (not for a disconnect).",
    )
    seconds = forms.FloatField(
        required=False, min_value=0.1, max_value=3600, help_text="Refused for / delayed by."
    )
    error_code = forms.ChoiceField(
        choices=[("", "—"), *((c, c) for c in faults.CALL_ERROR_CODES)], required=False
    )
    boot_status = forms.ChoiceField(
        choices=[("", "—"), ("Pending", "Pending"), ("Rejected", "Rejected")], required=False
    )
    interval = forms.IntegerField(required=False, min_value=0, max_value=86_400)
    times = forms.IntegerField(
        required=False, min_value=1, help_text="Empty: until you end it or the step finishes."
    )


class UnattendedForm(forms.Form):
    """Play a plan unattended: on a charge point (a manufacturer's rehearsal, or a new run)."""

    charge_point = forms.ModelChoiceField(
        queryset=ChargePoint.objects.none(),
        help_text="Its registered firmware is the firmware under test.",
    )
    strict = forms.BooleanField(
        required=False, label="Strict mode", help_text="Minor findings fail a step too."
    )
    steps = forms.CharField(
        required=False,
        label="Steps",
        help_text="Step numbers separated by commas, to rehearse a few; empty: the whole plan.",
    )

    def __init__(self, *args: Any, charge_points: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["charge_point"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = charge_points if charge_points is not None else ChargePoint.objects.none()

    def clean_charge_point(self) -> ChargePoint:
        charge_point: ChargePoint = self.cleaned_data["charge_point"]
        if charge_point.firmware_version is None:
            raise forms.ValidationError(f"{charge_point} has no registered firmware version.")
        return charge_point

    def clean_steps(self) -> list[int]:
        text: str = self.cleaned_data["steps"]
        try:
            return sorted({int(n) for n in text.replace(" ", "").split(",") if n})
        except ValueError:
            raise forms.ValidationError("Give step numbers separated by commas.") from None
