from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from ocpp.v16.enums import Measurand

from chargers.models import (
    OFFLINE_BEHAVIOUR_KEYS,
    CapabilityDeclaration,
    ChargePoint,
    ChargerModel,
    FeatureProfile,
    FirmwareVersion,
    IdTag,
    Manufacturer,
    TransferProtocol,
)
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
            "bench_url",
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


CONFIGURATION_KEY_LINE = re.compile(
    r"^(?P<key>[A-Za-z][A-Za-z0-9_.\[\]-]{0,49})\s*(?P<ro>\(read-only\))?\s*(?::\s*(?P<values>.*))?$"
)


def parse_configuration_keys(text: str) -> list[dict[str, Any]]:
    """One key a line, ``Key: allowed values``, ``(read-only)`` after the key when it is.
    Raises ValidationError naming the first line that does not read so."""
    keys: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = CONFIGURATION_KEY_LINE.match(line)
        if match is None:
            raise forms.ValidationError(
                f'Line {number} ({line[:40]!r}) is not "Key: allowed values" '
                "(a key is letters, digits and _ . [ ] -, at most 50 characters)."
            )
        key = match["key"]
        if key in seen:
            raise forms.ValidationError(f"Line {number}: {key} is listed twice.")
        seen.add(key)
        keys.append(
            {"key": key, "readonly": bool(match["ro"]), "values": (match["values"] or "").strip()}
        )
    return keys


def format_configuration_keys(keys: list[dict[str, Any]]) -> str:
    lines = []
    for entry in keys:
        line = str(entry.get("key", "")) + (" (read-only)" if entry.get("readonly") else "")
        if entry.get("values"):
            line += f": {entry['values']}"
        lines.append(line)
    return "\n".join(lines)


OFFLINE_CHOICES = [
    ("", "Not answered"),
    ("true", "true"),
    ("false", "false"),
    ("unsupported", "Not supported"),
]


class DeclarationForm(forms.ModelForm):
    """The capability declaration a manufacturer fills in: checkboxes for the lists, a
    choice per offline behaviour key, the configuration keys one a line."""

    feature_profiles = forms.MultipleChoiceField(
        choices=FeatureProfile.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Core is required of every OCPP 1.6 charge point.",
    )
    measurands = forms.MultipleChoiceField(
        choices=[(str(m), str(m)) for m in Measurand],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    firmware_protocols = forms.MultipleChoiceField(
        label="Firmware download protocols",
        choices=TransferProtocol.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    diagnostics_protocols = forms.MultipleChoiceField(
        label="Diagnostics upload protocols",
        choices=TransferProtocol.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    configuration_keys = forms.CharField(
        label="Supported configuration keys",
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "mono"}),
        help_text='One a line: "MeterValueSampleInterval: 0-3600", '
        '"NumberOfConnectors (read-only): 2", "ReserveConnectorZeroSupported (read-only): false".',
    )

    class Meta:
        model = CapabilityDeclaration
        fields = [
            "feature_profiles",
            "connectors",
            "outlet",
            "current_type",
            "phases",
            "rfid_reader",
            "sim",
            "energy_meter",
            "measurands",
            "firmware_protocols",
            "diagnostics_protocols",
            "firmware_format",
            "configuration_keys",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        behaviour = self.instance.offline_behaviour or {}
        for key in OFFLINE_BEHAVIOUR_KEYS:
            self.fields[f"offline_{key}"] = forms.ChoiceField(
                label=key, choices=OFFLINE_CHOICES, required=False, initial=behaviour.get(key, "")
            )
        self.initial["configuration_keys"] = format_configuration_keys(
            self.instance.configuration_keys or []
        )

    def clean_feature_profiles(self) -> list[str]:
        profiles: list[str] = self.cleaned_data["feature_profiles"]
        if "Core" not in profiles:
            raise forms.ValidationError("Every OCPP 1.6 charge point supports Core.")
        return [p for p in FeatureProfile.values if p in profiles]

    def clean_connectors(self) -> int | None:
        connectors: int | None = self.cleaned_data.get("connectors")
        if connectors is not None and connectors < 1:
            raise forms.ValidationError("A charger has at least one connector.")
        return connectors

    def clean_configuration_keys(self) -> list[dict[str, Any]]:
        return parse_configuration_keys(self.cleaned_data.get("configuration_keys") or "")

    def answers(self) -> dict[str, Any]:
        """The cleaned answers as save_declaration takes them."""
        answers = {name: self.cleaned_data[name] for name in self.Meta.fields}
        answers["offline_behaviour"] = {
            key: self.cleaned_data[f"offline_{key}"]
            for key in OFFLINE_BEHAVIOUR_KEYS
            if self.cleaned_data.get(f"offline_{key}")
        }
        return answers
