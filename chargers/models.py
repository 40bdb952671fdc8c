"""What is certified: manufacturers, their charger models and firmware versions, and the
people who work with them."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse


class Manufacturer(models.Model):
    name = models.CharField(max_length=120)
    country = models.CharField(max_length=80, blank=True)
    website = models.URLField(blank=True)
    contact_email = models.EmailField("contact e-mail", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # How access.visible() reaches the manufacturer that owns a row.
    manufacturer_path: ClassVar[str] = "pk"

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="manufacturer_name_unique_ci",
                violation_error_message="A manufacturer with this name already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("chargers:manufacturer-detail", args=[self.pk])


class ChargerModel(models.Model):
    class CurrentType(models.TextChoices):
        AC = "AC", "AC"
        DC = "DC", "DC"

    class Outlet(models.TextChoices):
        FIXED_CABLE = "cable", "Fixed cable"
        SOCKET = "socket", "Socket"

    manufacturer = models.ForeignKey(
        Manufacturer, on_delete=models.PROTECT, related_name="charger_models"
    )
    name = models.CharField("model name", max_length=120, help_text='For example "C8EU".')
    current_type = models.CharField("AC or DC", max_length=2, choices=CurrentType.choices)
    connectors = models.PositiveSmallIntegerField(
        "number of connectors", default=1, help_text="Connectors that can charge at once."
    )
    max_power_kw = models.DecimalField(
        "max power (kW)", max_digits=7, decimal_places=2, null=True, blank=True
    )
    outlet = models.CharField(
        "fixed cable or socket", max_length=6, choices=Outlet.choices, default=Outlet.SOCKET
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    manufacturer_path: ClassVar[str] = "manufacturer"

    class Meta:
        ordering = ["manufacturer__name", "name"]
        constraints = [
            models.UniqueConstraint(
                "manufacturer",
                Lower("name"),
                name="charger_model_name_unique_per_manufacturer",
                violation_error_message="This manufacturer already has a model of this name.",
            ),
            models.CheckConstraint(
                condition=models.Q(connectors__gte=1),
                name="charger_model_has_a_connector",
                violation_error_message="A charger has at least one connector.",
            ),
            models.CheckConstraint(
                condition=models.Q(max_power_kw__isnull=True) | models.Q(max_power_kw__gt=0),
                name="charger_model_power_positive",
                violation_error_message="Enter the power in kW, greater than zero.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.manufacturer.name} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("chargers:model-detail", args=[self.pk])

    def can_unlock_connector(self) -> bool:
        """A charger with a fixed cable has no socket lock to release (step 15 is N/A)."""
        return self.outlet == self.Outlet.SOCKET


class FirmwareVersion(models.Model):
    charger_model = models.ForeignKey(
        ChargerModel, on_delete=models.PROTECT, related_name="firmware_versions"
    )
    version = models.CharField(max_length=120, help_text='For example "V1.0.0_C8_Standard".')
    release_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    manufacturer_path: ClassVar[str] = "charger_model__manufacturer"

    class Meta:
        ordering = ["charger_model", "-release_date", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                "charger_model",
                "version",
                name="firmware_version_unique_per_model",
                violation_error_message="This model already has a firmware of this version.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.charger_model} {self.version}"

    def get_absolute_url(self) -> str:
        return reverse("chargers:model-detail", args=[self.charger_model_id])


class User(AbstractUser):
    """A person who logs in: a certification engineer, a manufacturer's user, or an
    administrator. The role decides what they see; access.visible() applies it."""

    class Role(models.TextChoices):
        ENGINEER = "engineer", "Certification engineer"
        MANUFACTURER = "manufacturer", "Manufacturer user"
        ADMINISTRATOR = "admin", "Administrator"

    role = models.CharField(max_length=12, choices=Role.choices, default=Role.ENGINEER)
    manufacturer = models.ForeignKey(
        Manufacturer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text="Required for manufacturer users, empty for everybody else.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(role="manufacturer", manufacturer__isnull=False)
                    | (~models.Q(role="manufacturer") & models.Q(manufacturer__isnull=True))
                ),
                name="user_manufacturer_matches_role",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def save(self, *args: object, **kwargs: object) -> None:
        # Superusers (createsuperuser) are administrators; administrators use the admin site.
        if self.is_superuser:
            self.role = self.Role.ADMINISTRATOR
        if self.role == self.Role.ADMINISTRATOR:
            self.is_staff = True
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_engineer(self) -> bool:
        """Engineers and administrators see and change everything."""
        return self.is_active and (
            self.role in {self.Role.ENGINEER, self.Role.ADMINISTRATOR} or self.is_superuser
        )

    @property
    def is_manufacturer_user(self) -> bool:
        return self.is_active and self.role == self.Role.MANUFACTURER and not self.is_superuser
