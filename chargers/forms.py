from __future__ import annotations

import json
from typing import Any

from django import forms

from chargers.models import ChargePoint, ChargerModel, FirmwareVersion, IdTag, Manufacturer
from chargers.services import CSMS_ACTIONS, CommandPayloadError, validate_command


class ManufacturerForm(forms.ModelForm):
    website = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Manufacturer
        fields = ["name", "country", "website", "contact_email"]


class ChargerModelForm(forms.ModelForm):
    class Meta:
        model = ChargerModel
        fields = [
            "manufacturer",
            "name",
            "current_type",
            "connectors",
            "max_power_kw",
            "outlet",
            "vendor_aliases",
            "model_aliases",
            "notes",
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 4}),
            "vendor_aliases": forms.Textarea(attrs={"rows": 2}),
            "model_aliases": forms.Textarea(attrs={"rows": 2}),
        }

    def clean_connectors(self) -> int:
        connectors: int = self.cleaned_data["connectors"]
        if connectors < 1:
            raise forms.ValidationError("A charger has at least one connector.")
        return connectors

    def clean_max_power_kw(self) -> object:
        power = self.cleaned_data.get("max_power_kw")
        if power is not None and power <= 0:
            raise forms.ValidationError("Enter the power in kW, greater than zero.")
        return power


class FirmwareVersionForm(forms.ModelForm):
    class Meta:
        model = FirmwareVersion
        fields = ["version", "reported_as", "release_date", "notes"]
        widgets = {
            "reported_as": forms.Textarea(attrs={"rows": 2}),
            "release_date": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args: object, charger_model: ChargerModel, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.charger_model = charger_model
        self.instance.charger_model = charger_model

    def clean_version(self) -> str:
        version: str = self.cleaned_data["version"].strip()
        clash = FirmwareVersion.objects.filter(charger_model=self.charger_model, version=version)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(
                f"{self.charger_model} already has a firmware version {version!r}."
            )
        return version


class ChargePointCreateForm(forms.ModelForm):
    authorization_key = forms.CharField(
        label="AuthorizationKey",
        required=False,
        min_length=16,
        max_length=40,
        strip=False,
        help_text="16 to 40 characters. Leave empty to generate one; it is shown once.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    no_auth = forms.BooleanField(
        label="No authentication (security profile 0)",
        required=False,
        help_text="Only for chargers that cannot send HTTP Basic credentials.",
    )

    class Meta:
        model = ChargePoint
        fields = ["charge_point_id", "charger_model", "firmware_version"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("no_auth") and cleaned.get("authorization_key"):
            raise forms.ValidationError(
                "Either give an AuthorizationKey or choose no authentication, not both."
            )
        model, firmware = cleaned.get("charger_model"), cleaned.get("firmware_version")
        if firmware and model and firmware.charger_model_id != model.pk:
            self.add_error("firmware_version", f"{firmware.version} is not a firmware of {model}.")
        return cleaned


class ChargePointSettingsForm(forms.ModelForm):
    class Meta:
        model = ChargePoint
        fields = [
            "charger_model",
            "firmware_version",
            "boot_answer",
            "heartbeat_interval",
            "data_transfer_answer",
        ]

    def clean_heartbeat_interval(self) -> int:
        interval: int = self.cleaned_data["heartbeat_interval"]
        if interval < 1:
            raise forms.ValidationError("The interval is at least one second.")
        return interval


class IdTagForm(forms.ModelForm):
    class Meta:
        model = IdTag
        fields = ["id_tag", "status", "expiry_date", "parent_id_tag"]
        widgets = {"expiry_date": forms.DateTimeInput(attrs={"type": "datetime-local"})}

    def __init__(self, *args: Any, charge_point: ChargePoint, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.charge_point = charge_point

    def clean_id_tag(self) -> str:
        id_tag: str = self.cleaned_data["id_tag"].strip()
        clash = IdTag.objects.filter(charge_point=self.instance.charge_point, id_tag=id_tag)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"{id_tag} is already in this charge point's list.")
        return id_tag


class CommandForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in CSMS_ACTIONS])
    payload = forms.CharField(
        label="Payload (JSON)",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
        initial="{}",
    )
    deliberately_invalid = forms.BooleanField(
        label="Expert mode: send without schema validation (negative test)", required=False
    )

    def clean_payload(self) -> Any:
        try:
            payload = json.loads(self.cleaned_data["payload"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            ) from None
        return payload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "payload" in cleaned and "action" in cleaned and not cleaned.get("deliberately_invalid"):
            try:
                validate_command(cleaned["action"], cleaned["payload"])
            except CommandPayloadError as error:
                self.add_error("payload", str(error))
        return cleaned
