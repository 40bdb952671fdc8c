"""What is certified: manufacturers, their charger models and firmware versions, and the
people who work with them."""

from __future__ import annotations

import datetime
import re
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def step_evidence(
    related_name: str, *, db_index: bool = True
) -> tuple[models.ForeignKey[Any], models.ForeignKey[Any]]:
    """The ``run`` and ``step_result`` foreign keys of a record that is evidence of a step
    attempt (frames, connection events, commands, transfers, injected faults): both null
    until the attempt's window claims the record (certification.services.finish_step), and
    kept as null, with the record, when the run or attempt is deleted."""
    run: models.ForeignKey[Any] = models.ForeignKey(
        "certification.TestRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name=related_name,
        db_index=db_index,
    )
    step_result: models.ForeignKey[Any] = models.ForeignKey(
        "certification.StepResult",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name=related_name,
        db_index=db_index,
    )
    return run, step_result


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
    # What chargers of this model really send in BootNotification besides the catalog's
    # names: one string per line.
    vendor_aliases = models.TextField(
        "chargePointVendor aliases",
        blank=True,
        help_text="Other chargePointVendor strings this model sends, one per line.",
    )
    model_aliases = models.TextField(
        "chargePointModel aliases",
        blank=True,
        help_text="Other chargePointModel strings this model sends, one per line.",
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

    def reported_vendors(self) -> tuple[str, ...]:
        """The chargePointVendor strings that name this model's manufacturer."""
        return (self.manufacturer.name, *_lines(self.vendor_aliases))

    def reported_models(self) -> tuple[str, ...]:
        return (self.name, *_lines(self.model_aliases))

    def can_unlock_connector(self) -> bool:
        """A charger with a fixed cable has no socket lock to release (step 15 is N/A)."""
        return self.outlet == self.Outlet.SOCKET


class FirmwareVersion(models.Model):
    charger_model = models.ForeignKey(
        ChargerModel, on_delete=models.PROTECT, related_name="firmware_versions"
    )
    version = models.CharField(max_length=120, help_text='For example "V1.0.0_C8_Standard".')
    reported_as = models.TextField(
        "firmwareVersion aliases",
        blank=True,
        help_text="Other firmwareVersion strings chargers running it send, one per line.",
    )
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

    def reported_versions(self) -> tuple[str, ...]:
        return (self.version, *_lines(self.reported_as))


class FeatureProfile(models.TextChoices):
    """The OCPP 1.6 feature profiles, spelled as in the SupportedFeatureProfiles key (§3.1)."""

    CORE = "Core"
    FIRMWARE_MANAGEMENT = "FirmwareManagement"
    LOCAL_AUTH_LIST_MANAGEMENT = "LocalAuthListManagement"
    RESERVATION = "Reservation"
    SMART_CHARGING = "SmartCharging"
    REMOTE_TRIGGER = "RemoteTrigger"


class TransferProtocol(models.TextChoices):
    FTP = "FTP"
    FTPS = "FTPS"
    HTTP = "HTTP"
    HTTPS = "HTTPS"


# Configuration keys of OCPP 1.6 §9 that say how a charger behaves without its central
# system; the declaration states the value each is set to (or "not supported").
OFFLINE_BEHAVIOUR_KEYS: tuple[str, ...] = (
    "LocalAuthorizeOffline",
    "LocalPreAuthorize",
    "AllowOfflineTxForUnknownId",
    "AuthorizationCacheEnabled",
    "LocalAuthListEnabled",
    "StopTransactionOnInvalidId",
)

# What a plan step's applicability condition may ask of a declaration, with the question a
# manufacturer answers in it. certification.applicability reads these names.
DECLARATION_FACTS: dict[str, str] = {
    "profiles": "Which OCPP 1.6 feature profiles does it support?",
    "connectors": "How many connectors does it have?",
    "outlet": "Does it have a fixed cable or a socket?",
    "current_type": "Does it charge AC or DC?",
    "phases": "How many phases does it use?",
    "rfid_reader": "Does it have an RFID reader?",
    "sim": "Does it connect over a SIM card (ICCID expected)?",
    "energy_meter": "Does it have an energy meter?",
    "measurands": "Which measurands does its meter report?",
    "firmware_protocols": "Which protocols does it download firmware with?",
    "diagnostics_protocols": "Which protocols does it upload diagnostics with?",
    "firmware_format": "What is its firmware file format?",
    "configuration_keys": "Which configuration keys does it support?",
    "reserve_connector_zero": "Does it support reserving connector 0 "
    "(ReserveConnectorZeroSupported)?",
    **{key: f"What is {key} set to (or is it not supported)?" for key in OFFLINE_BEHAVIOUR_KEYS},
}


class CapabilityDeclaration(models.Model):
    """What a manufacturer declares a charger model can do with one firmware version: the
    OCA's PICS. Versioned: a locked version is frozen (a run pins it and its report prints
    it); a change after locking is a new version. Manufacturer users fill in the drafts of
    their own models; an engineer reviews a draft and locks it for a run."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LOCKED = "locked", "Locked for runs"

    firmware_version = models.ForeignKey(
        FirmwareVersion, on_delete=models.PROTECT, related_name="declarations"
    )
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.DRAFT)
    feature_profiles = models.JSONField(
        default=list, blank=True, help_text="FeatureProfile values (SupportedFeatureProfiles)."
    )
    connectors = models.PositiveSmallIntegerField("number of connectors", null=True, blank=True)
    outlet = models.CharField(
        "fixed cable or socket", max_length=6, choices=ChargerModel.Outlet.choices, blank=True
    )
    current_type = models.CharField(
        "AC or DC", max_length=2, choices=ChargerModel.CurrentType.choices, blank=True
    )
    phases = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(1, "1"), (2, "2"), (3, "3")]
    )
    rfid_reader = models.BooleanField("RFID reader", null=True, blank=True)
    sim = models.BooleanField("SIM card (ICCID expected)", null=True, blank=True)
    energy_meter = models.BooleanField(null=True, blank=True)
    measurands = models.JSONField(default=list, blank=True, help_text="OCPP 1.6 Measurand values.")
    firmware_protocols = models.JSONField(default=list, blank=True)
    diagnostics_protocols = models.JSONField(default=list, blank=True)
    firmware_format = models.CharField(
        "firmware file format", max_length=60, blank=True, help_text='For example "APK".'
    )
    # {"LocalAuthorizeOffline": "true" | "false" | "unsupported"}; a missing key: not answered.
    offline_behaviour = models.JSONField(default=dict, blank=True)
    # [{"key": "MeterValueSampleInterval", "readonly": false, "values": "0-3600"}]
    configuration_keys = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="declarations_edited",
    )
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="declarations_locked",
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    manufacturer_path: ClassVar[str] = "firmware_version__charger_model__manufacturer"

    class Meta:
        ordering = ["firmware_version", "-version"]
        constraints = [
            models.UniqueConstraint(
                "firmware_version",
                "version",
                name="declaration_version_unique_per_firmware",
                violation_error_message="This firmware already has a declaration of this version.",
            ),
            models.CheckConstraint(
                condition=models.Q(connectors__isnull=True) | models.Q(connectors__gte=1),
                name="declaration_has_a_connector",
                violation_error_message="A charger has at least one connector.",
            ),
        ]

    def __str__(self) -> str:
        return f"Declaration v{self.version} of {self.firmware_version}"

    def get_absolute_url(self) -> str:
        return reverse("chargers:declaration-detail", args=[self.pk])

    def is_locked(self) -> bool:
        return self.status == self.Status.LOCKED

    def facts(self) -> dict[str, object]:
        """The declaration's answers by DECLARATION_FACTS name; None where it gives none.

        Lists are None when empty (Core is always supported, so no profile list at all is an
        unanswered question, not "none"); offline keys are True, False or "unsupported"."""
        by_key = {
            str(entry.get("key")): entry
            for entry in self.configuration_keys or []
            if isinstance(entry, dict)
        }
        zero = by_key.get("ReserveConnectorZeroSupported")
        reserve_zero: bool | None = None
        if zero is not None:
            reserve_zero = str(zero.get("values", "")).strip().lower() == "true"
        elif by_key:
            reserve_zero = False  # the key list is complete and does not include it
        facts: dict[str, object] = {
            "profiles": list(self.feature_profiles) or None,
            "connectors": self.connectors,
            "outlet": self.outlet or None,
            "current_type": self.current_type or None,
            "phases": self.phases,
            "rfid_reader": self.rfid_reader,
            "sim": self.sim,
            "energy_meter": self.energy_meter,
            "measurands": list(self.measurands) or None,
            "firmware_protocols": list(self.firmware_protocols) or None,
            "diagnostics_protocols": list(self.diagnostics_protocols) or None,
            "firmware_format": self.firmware_format or None,
            "configuration_keys": sorted(by_key) or None,
            "reserve_connector_zero": reserve_zero,
        }
        for key in OFFLINE_BEHAVIOUR_KEYS:
            value = (self.offline_behaviour or {}).get(key)
            facts[key] = {"true": True, "false": False}.get(str(value), value or None)
        return facts


def model_facts(charger_model: ChargerModel) -> dict[str, object]:
    """What the catalog alone says of a model, for a run without a locked declaration."""
    facts: dict[str, object] = dict.fromkeys(DECLARATION_FACTS)
    facts.update(
        connectors=charger_model.connectors,
        outlet=charger_model.outlet or None,
        current_type=charger_model.current_type or None,
    )
    return facts


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
        # set_password() leaves the new password in _password until the save: whatever
        # changed it (the password page, the admin, changepassword), API tokens die with
        # the old password.
        password_changed = getattr(self, "_password", None) is not None and self.pk is not None
        super().save(*args, **kwargs)  # type: ignore[arg-type]
        if password_changed:
            self.auth_token_set.all().delete()  # type: ignore[attr-defined]

    @property
    def is_engineer(self) -> bool:
        """Engineers and administrators see and change everything."""
        return self.is_active and (
            self.role in {self.Role.ENGINEER, self.Role.ADMINISTRATOR} or self.is_superuser
        )

    @property
    def is_manufacturer_user(self) -> bool:
        return self.is_active and self.role == self.Role.MANUFACTURER and not self.is_superuser


# --- The OCPP 1.6-J central system -------------------------------------------------------


CHARGE_POINT_ID_MAX_LENGTH = 48
ID_PUNCTUATION = "._-*+|@"
# What a stored chargePointId may hold: the characters above, and ':' in identities created
# before validate_charge_point_id refused it (they authenticate as "<identity>:<key>"). A
# handshake for anything else is an unknown identity without a query (PostgreSQL refuses a
# NUL in a query parameter).
STORED_IDENTITY = re.compile(rf"[A-Za-z0-9{re.escape(ID_PUNCTUATION)}:]{{1,48}}")


def validate_charge_point_id(value: str) -> None:
    """The one rule for a chargePointId, whoever creates it (form, API, management command):

    * at most 48 characters (OCPP-J 1.6 §3.1.1 and the 2.0.1 identifierString);
    * no ':' — the charger sends its identity as the HTTP Basic user-id, which RFC 7617 §2
      ends at the first ':', so such a charger could never authenticate;
    * letters, digits and ``. _ - * + | @`` only, so the identity is the last segment of the
      URL path ``/ocpp/<chargePointId>`` as it is (no '/', '?', '#', '%', spaces).
    """
    if not value:
        raise ValidationError("A chargePointId cannot be empty.", code="empty")
    if len(value) > CHARGE_POINT_ID_MAX_LENGTH:
        raise ValidationError(
            f"A chargePointId has at most {CHARGE_POINT_ID_MAX_LENGTH} characters (OCPP-J); "
            f"this one has {len(value)}.",
            code="too_long",
        )
    if ":" in value:
        raise ValidationError(
            "A chargePointId cannot contain ':': the charger sends it as the HTTP Basic "
            "user-id, which ends at the first ':' (RFC 7617), so it could never connect.",
            code="colon",
        )
    wrong = sorted(
        {c for c in value if not (c.isascii() and c.isalnum()) and c not in ID_PUNCTUATION}
    )
    if wrong:
        shown = " ".join(repr(c) for c in wrong)
        raise ValidationError(
            f"A chargePointId is used in the URL path /ocpp/<chargePointId>: use letters, "
            f"digits and . _ - * + | @ only (not {shown}).",
            code="characters",
        )


class ChargePoint(models.Model):
    """An identity a charge station under test connects as (``/ocpp/<charge_point_id>``),
    with how the portal answers it: the behaviour an engineer sets per charge point."""

    class SecurityProfile(models.IntegerChoices):
        NONE = 0, "0: no authentication (set on purpose)"
        BASIC = 1, "1: HTTP Basic authentication"
        TLS_BASIC = 2, "2: TLS with HTTP Basic authentication"
        TLS_CLIENT_CERTIFICATE = 3, "3: TLS with a client certificate"

    class BootAnswer(models.TextChoices):
        ACCEPTED = "Accepted"
        PENDING = "Pending"
        REJECTED = "Rejected"

    class DataTransferAnswer(models.TextChoices):
        ACCEPTED = "Accepted"
        REJECTED = "Rejected"
        UNKNOWN_MESSAGE_ID = "UnknownMessageId"
        UNKNOWN_VENDOR_ID = "UnknownVendorId"

    charge_point_id = models.CharField(
        "chargePointId",
        max_length=48,
        unique=True,
        validators=[validate_charge_point_id],
        help_text="Letters, digits and . _ - * + | @, at most 48 characters.",
    )
    charger_model = models.ForeignKey(
        ChargerModel,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="charge_points",
    )
    firmware_version = models.ForeignKey(
        FirmwareVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="charge_points",
    )
    security_profile = models.PositiveSmallIntegerField(
        choices=SecurityProfile.choices, default=SecurityProfile.BASIC
    )
    auth_key_hash = models.CharField(max_length=200, blank=True, editable=False)
    enabled = models.BooleanField(
        default=True, help_text="A disabled identity is refused before the upgrade."
    )
    # The central system's answers, set by the engineer.
    boot_answer = models.CharField(
        "BootNotification answer", max_length=8, choices=BootAnswer.choices, default="Accepted"
    )
    heartbeat_interval = models.PositiveIntegerField(
        "heartbeat interval (s)", default=60, help_text="Sent in the BootNotification answer."
    )
    data_transfer_answer = models.CharField(
        "DataTransfer answer",
        max_length=16,
        choices=DataTransferAnswer.choices,
        default=DataTransferAnswer.ACCEPTED,
    )
    bench_url = models.URLField(
        "test bench URL",
        blank=True,
        help_text="Where the lab's bench hook listens (docs/bench-hook.md): unattended runs "
        "plug in, present cards, raise faults and power-cycle through it.",
    )
    # What the charge station said about itself in its last BootNotification.
    reported_vendor = models.CharField(max_length=20, blank=True)
    reported_model = models.CharField(max_length=20, blank=True)
    reported_serial = models.CharField(max_length=25, blank=True)
    reported_firmware = models.CharField(max_length=50, blank=True)
    reported_iccid = models.CharField(max_length=20, blank=True)
    last_boot_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    manufacturer_path: ClassVar[str] = "charger_model__manufacturer"

    class Meta:
        ordering = ["charge_point_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(security_profile__in=[0, 3]) | ~models.Q(auth_key_hash=""),
                name="charge_point_basic_auth_has_a_key",
                violation_error_message="Security profiles 1 and 2 need an AuthorizationKey.",
            )
        ]

    def __str__(self) -> str:
        return self.charge_point_id

    def get_absolute_url(self) -> str:
        return reverse("chargers:chargepoint-detail", args=[self.pk])

    def ongoing_transaction(self, connector_id: int | None = None) -> Transaction | None:
        """The transaction running on the connector (any connector when None): started with
        an accepted idTag and not stopped (Transaction.is_ongoing), the newest when a charger
        left an older one open (a reboot without a StopTransaction)."""
        ongoing = self.transactions.filter(
            stopped_at__isnull=True, id_tag_status=IdTag.Status.ACCEPTED
        )
        if connector_id is not None:
            ongoing = ongoing.filter(connector_id=connector_id)
        return ongoing.order_by("-pk").first()

    def group_name(self) -> str:
        """The channel-layer group of this identity's live connection."""
        return charge_point_group(self.pk)

    def requires_tls(self) -> bool:
        """Security profiles 2 and 3 connect over TLS only (whitepaper 2.2)."""
        return self.security_profile >= self.SecurityProfile.TLS_BASIC

    def uses_basic_auth(self) -> bool:
        """Profiles 1 and 2 authenticate with the AuthorizationKey; 3 with its certificate."""
        return self.security_profile in {self.SecurityProfile.BASIC, self.SecurityProfile.TLS_BASIC}


# --- Channel-layer groups -------------------------------------------------------------
# Every group the portal names is spelled here, from a primary key: group names allow only
# ``[a-zA-Z0-9-_.]`` and fewer than 100 characters, and a name built from a chargePointId
# (48 characters of a wider alphabet) had to be escaped and cut, so two identities could
# share a group and receive each other's commands. A primary key is short, plain and
# injective. (certification names its run groups through ``run_group`` too: the evidence
# writer, here in chargers, sends frames to them.)


def charge_point_group(charge_point_pk: int) -> str:
    """The group of one charge point's live connection (in whichever worker holds it):
    replacement of an older connection, commands, step context, disconnect."""
    return f"ocpp.cp.{int(charge_point_pk)}"


def run_group(run_id: int) -> str:
    """The group of one run's open step consoles: committed frames and step changes."""
    return f"run.{int(run_id)}"


class Connection(models.Model):
    """One websocket connection of a charge point, from handshake to close."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="connections"
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    close_code = models.PositiveIntegerField(null=True, blank=True)
    remote_address = models.CharField(max_length=64, blank=True)
    subprotocol = models.CharField(max_length=20, blank=True)
    worker = models.CharField(max_length=80, blank=True, help_text="host:pid of the Daphne worker")
    database_key = models.CharField(
        max_length=12,
        blank=True,
        help_text="The database the worker served (chargers.channel_layer.database_key): "
        "a worker closes open rows of another at start, as in a restored copy.",
    )

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["charge_point", "-opened_at"])]

    def __str__(self) -> str:
        return f"{self.charge_point} connection {self.pk}"

    def is_open(self) -> bool:
        return self.closed_at is None


class ConnectionEvent(models.Model):
    """Every attempt to connect and every close: "the charger cannot connect" is the first
    thing a lab debugs."""

    class Kind(models.TextChoices):
        CONNECTED = "connected"
        REFUSED = "refused"
        CLOSED = "closed"
        REPLACED = "replaced"

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    # As presented in the URL, also when no such identity exists.
    charge_point_identity = models.CharField(max_length=200)
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    detail = models.CharField(max_length=300, blank=True)
    close_code = models.PositiveIntegerField(null=True, blank=True)
    # "host:port"; a refusal's row holds the host only, as it aggregates every port.
    remote_address = models.CharField(max_length=64, blank=True)
    # Refused handshakes are aggregated (chargers.services.record_refusal): one row per
    # identity, host and reason per throttle window; ``at`` is the first, ``last_at`` the
    # latest of ``count`` refusals.
    count = models.PositiveIntegerField(default=1)
    last_at = models.DateTimeField(null=True, blank=True)
    # The TLS handshake of a wss:// connection (chargers.ocpp.tls.handshake_evidence): version,
    # cipher, SNI, the server certificate presented, the client certificate; null for ws://.
    tls = models.JSONField(null=True, blank=True)
    run, step_result = step_evidence("connection_events")

    manufacturer_path: ClassVar[str] = "charge_point__charger_model__manufacturer"

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["charge_point", "-at"]),
            models.Index(fields=["charge_point_identity", "-at"]),
            models.Index(fields=["remote_address", "last_at"], name="event_refusals_by_address"),
        ]

    def __str__(self) -> str:
        return f"{self.charge_point_identity} {self.kind} {self.at:%Y-%m-%d %H:%M:%S}"


class Frame(models.Model):
    """One OCPP-J websocket frame, in either direction, exactly as it went over the wire:
    the evidence everything else is judged on."""

    class Direction(models.TextChoices):
        IN = "in", "charger → portal"
        OUT = "out", "portal → charger"

    class MessageType(models.IntegerChoices):
        CALL = 2, "CALL"
        CALLRESULT = 3, "CALLRESULT"
        CALLERROR = 4, "CALLERROR"

    # No single-column indexes on the foreign keys: the composite indexes below start with
    # them, and every index costs time on the hot insert path.
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="frames", db_index=False
    )
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="frames", db_index=False
    )
    seq = models.PositiveIntegerField(help_text="Order within the connection, from 1.")
    captured_at = models.DateTimeField(help_text="When the portal received or sent it (UTC, µs).")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_type = models.PositiveSmallIntegerField(
        choices=MessageType.choices, null=True, blank=True
    )
    unique_id = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=64, blank=True)
    raw = models.TextField(help_text="The exact text of the frame.")
    payload = models.JSONField(null=True, blank=True)
    validation_error = models.TextField(blank=True)
    # Deliberately invalid frames the engineer sent in expert mode (negative tests).
    deliberately_invalid = models.BooleanField(default=False)
    # The certification run and step attempt that were running when the frame was captured.
    run, step_result = step_evidence("frames", db_index=False)

    manufacturer_path: ClassVar[str] = "charge_point__charger_model__manufacturer"

    class Meta:
        ordering = ["captured_at", "seq"]
        constraints = [
            models.UniqueConstraint("connection", "seq", name="frame_seq_unique_per_connection")
        ]
        indexes = [
            models.Index(fields=["charge_point", "captured_at"]),
            models.Index(fields=["charge_point", "action"]),
            models.Index(fields=["run", "captured_at"]),
            models.Index(fields=["step_result", "captured_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.action or '?'} #{self.seq}"


class IdTag(models.Model):
    """An idTag the central system knows, with the status Authorize answers.
    Tags that are not listed are answered Invalid."""

    class Status(models.TextChoices):
        ACCEPTED = "Accepted"
        BLOCKED = "Blocked"
        EXPIRED = "Expired"
        INVALID = "Invalid"
        CONCURRENT_TX = "ConcurrentTx"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="id_tags")
    id_tag = models.CharField("idTag", max_length=20)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACCEPTED)
    expiry_date = models.DateTimeField(null=True, blank=True)
    parent_id_tag = models.CharField("parentIdTag", max_length=20, blank=True)

    class Meta:
        ordering = ["id_tag"]
        constraints = [
            # idTags are CiString20Type: "deadbeef" and "DEADBEEF" are the same card.
            models.UniqueConstraint(
                models.F("charge_point"),
                Lower("id_tag"),
                name="id_tag_unique_per_charge_point_ci",
                violation_error_message="This charge point already has this idTag "
                "(idTags are compared without regard to case).",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id_tag} ({self.status})"

    def id_tag_info(self) -> dict[str, str]:
        info = {"status": self.status}
        if self.expiry_date:
            info["expiryDate"] = self.expiry_date.isoformat()
        if self.parent_id_tag:
            info["parentIdTag"] = self.parent_id_tag
        return info


class Transaction(models.Model):
    """A charging session; its primary key is the transactionId the charger receives."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="transactions"
    )
    connector_id = models.PositiveIntegerField()
    id_tag = models.CharField(max_length=20)
    meter_start = models.BigIntegerField()
    started_at = models.DateTimeField(help_text="The charger's timestamp.")
    reservation_id = models.IntegerField(null=True, blank=True)
    meter_stop = models.BigIntegerField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=20, blank=True)
    stop_id_tag = models.CharField(max_length=20, blank=True)
    stop_repeats = models.PositiveIntegerField(
        default=0, help_text="StopTransaction frames resent after the first."
    )
    id_tag_status = models.CharField(
        max_length=12,
        default="Accepted",
        help_text="idTagInfo.status the StartTransaction was answered with.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    manufacturer_path: ClassVar[str] = "charge_point__charger_model__manufacturer"

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # A StartTransaction resent after a reconnect is the same transaction.
            models.UniqueConstraint(
                "charge_point",
                "connector_id",
                "id_tag",
                "started_at",
                "meter_start",
                name="transaction_start_identity",
            )
        ]

    def __str__(self) -> str:
        return f"transaction {self.pk} on {self.charge_point}/{self.connector_id}"

    def is_ongoing(self) -> bool:
        """Charging as far as the portal knows: started with an accepted idTag (a charger
        answered otherwise stops, OCPP 1.6 §5.11) and not stopped."""
        return self.stopped_at is None and self.id_tag_status == IdTag.Status.ACCEPTED

    def state(self) -> str:
        """In words, for the charge point page."""
        if self.stopped_at is not None:
            return "stopped"
        if self.id_tag_status != IdTag.Status.ACCEPTED:
            return f"not authorized ({self.id_tag_status})"
        return "ongoing"

    def energy_wh(self) -> int | None:
        return None if self.meter_stop is None else self.meter_stop - self.meter_start


class Connector(models.Model):
    """The last StatusNotification of a connector (0 is the charge point itself)."""

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="connectors"
    )
    connector_id = models.PositiveIntegerField()
    status = models.CharField(max_length=16)
    error_code = models.CharField(max_length=24, default="NoError")
    info = models.CharField(max_length=50, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    status_at = models.DateTimeField()
    current_transaction = models.ForeignKey(
        Transaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["charge_point", "connector_id"]
        constraints = [
            models.UniqueConstraint(
                "charge_point", "connector_id", name="connector_unique_per_charge_point"
            )
        ]

    def __str__(self) -> str:
        return f"{self.charge_point}/{self.connector_id}: {self.status}"


class Command(models.Model):
    """A CSMS-initiated call an engineer (or the API, or a script) sent to a charger."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the answer"
        ANSWERED = "answered", "Answered"
        CALLERROR = "callerror", "Answered with CALLERROR"
        MALFORMED = "malformed", "Answered with a malformed CALLRESULT or CALLERROR"
        TIMEOUT = "timeout", "No answer in time"
        LATE = "late", "Answered after the timeout"
        NOT_CONNECTED = "not_connected", "Charger not connected"
        FAILED = "failed", "Could not be sent"

    class Origin(models.TextChoices):
        CONSOLE = "console", "run console"
        API = "api", "automation API"
        CHARGE_POINT_PAGE = "charge_point_page", "charge point page"
        OTHER = "other", "management command or script"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="commands")
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.OTHER)
    # The run whose evidence the command's frames are (the run it was sent through, or the
    # one holding the charge point), and that run's step attempt running at the time.
    run, step_result = step_evidence("commands")
    action = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    deliberately_invalid = models.BooleanField(
        default=False, help_text="Expert mode: sent without schema validation."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    unique_id = models.CharField(max_length=36, blank=True)
    response = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    round_trip_ms = models.PositiveIntegerField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    manufacturer_path: ClassVar[str] = "charge_point__charger_model__manufacturer"

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["charge_point", "-requested_at"])]

    def __str__(self) -> str:
        return f"{self.action} to {self.charge_point} ({self.status})"


# --- Files that travel: firmware images and diagnostics -----------------------------------


def firmware_image_path(image: FirmwareImage, filename: str) -> str:
    return f"firmware/{image.firmware_version_id}/{image.purpose}/{filename}"


class FirmwareImage(models.Model):
    """An image file of a firmware version, served to chargers by UpdateFirmware."""

    class Purpose(models.TextChoices):
        VALID = "valid", "Image to install"
        CORRUPT = "corrupt", "Corrupt image (installation-failed test)"

    firmware_version = models.ForeignKey(
        FirmwareVersion, on_delete=models.CASCADE, related_name="images"
    )
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.VALID)
    file = models.FileField(upload_to=firmware_image_path, max_length=300)
    original_name = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    uploaded_at = models.DateTimeField()

    manufacturer_path: ClassVar[str] = "firmware_version__charger_model__manufacturer"

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_purpose_display()})"


class TransferLocation(models.Model):
    """An unguessable, expiring location given to a charger: where to download firmware
    (UpdateFirmware) or where to upload diagnostics (GetDiagnostics)."""

    class Kind(models.TextChoices):
        FIRMWARE = "firmware", "Firmware download"
        DIAGNOSTICS = "diagnostics", "Diagnostics upload"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    token = models.CharField(max_length=64, unique=True)
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="transfer_locations"
    )
    run = models.ForeignKey(
        "certification.TestRun",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="transfer_locations",
    )
    image = models.ForeignKey(
        FirmwareImage, on_delete=models.CASCADE, null=True, blank=True, related_name="locations"
    )
    # The step attempt it was given in: an upload location works only while that attempt
    # runs (chargers.transfers.upload_refusal).
    step_result = models.ForeignKey(
        "certification.StepResult",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="transfer_locations",
    )
    used_at = models.DateTimeField(
        null=True, blank=True, help_text="When a completed upload used it up (single use)."
    )
    ftp_username = models.CharField(max_length=40, blank=True, db_index=True)
    ftp_password = models.CharField(
        max_length=64, blank=True, help_text="Per-location secret, in the URL given to the charger."
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="firmware") | models.Q(image__isnull=False),
                name="firmware_location_has_an_image",
            )
        ]

    def __str__(self) -> str:
        until = f"{self.expires_at:%Y-%m-%d %H:%M}"
        return f"{self.get_kind_display()} for {self.charge_point} until {until}"

    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


def transfer_file_path(transfer: Transfer, filename: str) -> str:
    return f"diagnostics/{transfer.charge_point_id}/{transfer.location_id}/{filename}"


class Transfer(models.Model):
    """A file that crossed the wire, or tried to: evidence of the step it belongs to."""

    class Direction(models.TextChoices):
        DOWNLOAD = "download", "charger downloaded"
        UPLOAD = "upload", "charger uploaded"

    class Status(models.TextChoices):
        COMPLETED = "completed"
        CUT = "cut", "Cut off before the end"
        REFUSED = "refused"

    location = models.ForeignKey(
        TransferLocation, on_delete=models.CASCADE, null=True, blank=True, related_name="transfers"
    )
    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, null=True, blank=True, related_name="transfers"
    )
    run, step_result = step_evidence("transfers")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    protocol = models.CharField(max_length=5, default="http")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    detail = models.CharField(max_length=300, blank=True)
    byte_range = models.CharField(max_length=100, blank=True)
    bytes_transferred = models.PositiveBigIntegerField(default=0)
    expected_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to=transfer_file_path, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    remote_address = models.CharField(max_length=64, blank=True)

    manufacturer_path: ClassVar[str] = "charge_point__charger_model__manufacturer"

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["step_result", "started_at"])]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.file_name or '?'} ({self.status})"


# --- Faults the portal injects on purpose ----------------------------------------------------


class InjectedFault(models.Model):
    """A disturbance the portal causes on purpose, as the OCA's compliance tool does: it
    closes the charger's websocket and refuses its reconnects for a while, delays or
    withholds its answers, answers with a CALLERROR, or answers BootNotification Pending or
    Rejected. The central system reads these rows as data (chargers.faults); each one is
    evidence of the step attempt it ran in, with when it started and ended."""

    class Kind(models.TextChoices):
        DISCONNECT = "disconnect", "Close the connection and refuse reconnects"
        DELAY = "delay", "Delay the answers"
        WITHHOLD = "withhold", "Withhold the answers"
        CALL_ERROR = "call_error", "Answer with a CALLERROR"
        BOOT_STATUS = "boot_status", "Answer BootNotification Pending or Rejected"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="faults")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    action = models.CharField(
        max_length=64, blank=True, help_text="The charger's action whose answers it changes."
    )
    seconds = models.FloatField(
        null=True, blank=True, help_text="Reconnects refused for, or answers delayed by (s)."
    )
    error_code = models.CharField("CALLERROR errorCode", max_length=40, blank=True)
    boot_status = models.CharField("BootNotification status", max_length=8, blank=True)
    interval = models.PositiveIntegerField(
        null=True, blank=True, help_text="The interval of the BootNotification answer (s)."
    )
    times = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many answers it changes; empty: until it ends."
    )
    applied = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Its planned end, if any.")
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    run, step_result = step_evidence("faults")

    manufacturer_path: ClassVar[str] = "charge_point__charger_model__manufacturer"

    class Meta:
        ordering = ["started_at", "pk"]
        indexes = [models.Index(fields=["charge_point", "ended_at"])]

    def __str__(self) -> str:
        return f"fault #{self.pk} on {self.charge_point}: {self.describe()}"

    def describe(self) -> str:
        """One sentence, as the evidence table and the report show it."""
        times = f" {self.times} time{'s' if self.times != 1 else ''}" if self.times else ""
        match self.kind:
            case self.Kind.DISCONNECT:
                return f"connection closed, reconnects refused for {self.seconds or 0:g} s"
            case self.Kind.DELAY:
                return f"answers to {self.action} delayed by {self.seconds or 0:g} s{times}"
            case self.Kind.WITHHOLD:
                return f"answers to {self.action} withheld{times}"
            case self.Kind.CALL_ERROR:
                return f"{self.action} answered with CALLERROR {self.error_code}{times}"
            case _:
                return (
                    f"BootNotification answered {self.boot_status} with interval "
                    f"{self.interval or 0} s{times}"
                )

    def end(self) -> datetime.datetime | None:
        """When it ended: ended early, or its planned end once that has passed."""
        if self.ended_at is not None:
            return self.ended_at
        if self.ends_at is not None and self.ends_at <= timezone.now():
            return self.ends_at
        return None


# --- The lab's public-key infrastructure (security profiles 2 and 3) ----------------------


class LabCertificate(models.Model):
    """A certificate of the lab PKI the portal creates and keeps (chargers.pki): the root
    chargers install, the server certificates of the TLS port, the firmware-signing
    certificate, and the deliberately invalid server certificates of TC_078."""

    class Purpose(models.TextChoices):
        ROOT = "root", "Lab root CA"
        SERVER_RSA = "server-rsa", "Server certificate (RSA)"
        SERVER_ECDSA = "server-ecdsa", "Server certificate (ECDSA)"
        FIRMWARE_SIGNING = "firmware-signing", "Firmware-signing certificate"
        UNKNOWN_CA_ROOT = "unknown-ca-root", "A CA chargers do not know (fault injection)"
        FAULT_UNKNOWN_CA = "fault-unknown-ca", "Server certificate from an unknown CA"
        FAULT_EXPIRED = "fault-expired", "Expired server certificate"
        FAULT_WRONG_HOST = "fault-wrong-host", "Server certificate for another host name"

    purpose = models.CharField(max_length=20, choices=Purpose.choices, unique=True)
    certificate_pem = models.TextField()
    # The lab's own keys: kept in the database so that every worker serves the same ones.
    private_key_pem = models.TextField(editable=False)
    subject = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    not_after = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["purpose"]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({self.subject})"


class ManufacturerCertificate(models.Model):
    """A manufacturer's CA uploaded for a charger model: security profile 3 client
    certificates of that model's charge points may chain to it instead of the lab root."""

    charger_model = models.ForeignKey(
        ChargerModel, on_delete=models.CASCADE, related_name="ca_certificates"
    )
    certificate_pem = models.TextField()
    subject = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    not_after = models.DateTimeField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    uploaded_at = models.DateTimeField()

    manufacturer_path: ClassVar[str] = "charger_model__manufacturer"

    class Meta:
        ordering = ["charger_model", "-uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                "charger_model",
                "sha256",
                name="manufacturer_ca_unique_per_model",
                violation_error_message="This model already has this CA certificate.",
            )
        ]

    def __str__(self) -> str:
        return self.subject


class TlsFault(models.Model):
    """A deliberately invalid server side for the next TLS handshakes of the portal's TLS
    port (TC_078): the charger must refuse it, send nothing over it, and report
    SecurityEventNotification InvalidCentralSystemCertificate once it is back.

    The identity is unknown during a TLS handshake (it comes with the HTTP request that
    follows), so an armed fault applies to the next handshakes of the listener, whoever
    makes them; it is armed for one charge point, to whom what happens is attributed."""

    class Kind(models.TextChoices):
        UNKNOWN_CA = "unknown-ca", "Certificate signed by an unknown CA"
        EXPIRED = "expired", "Expired certificate"
        WRONG_HOST = "wrong-host", "Certificate for another host name"
        OLD_TLS = "old-tls", "Only TLS 1.0 and 1.1 offered"

    charge_point = models.ForeignKey(
        ChargePoint, on_delete=models.CASCADE, related_name="tls_faults"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    handshakes = models.PositiveIntegerField(
        default=1, help_text="How many handshakes get the fault."
    )
    presented = models.PositiveIntegerField(default=0)
    armed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    armed_at = models.DateTimeField()

    manufacturer_path: ClassVar[str] = "charge_point__charger_model__manufacturer"

    class Meta:
        ordering = ["-armed_at"]

    def __str__(self) -> str:
        shown = f"{self.presented}/{self.handshakes}"
        return f"{self.get_kind_display()} for {self.charge_point} ({shown} presented)"

    def is_armed(self) -> bool:
        return self.presented < self.handshakes
