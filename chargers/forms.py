from __future__ import annotations

from django import forms

from chargers.models import ChargerModel, FirmwareVersion, Manufacturer


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
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

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
        fields = ["version", "release_date", "notes"]
        widgets = {
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
