"""The catalog and charge points in the automation API. Rows come through access.visible,
like the pages; writes need an engineer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from knox import views as knox_views
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.authentication import BasicAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from chargers import security, services, transfers
from chargers.access import can_edit, visible
from chargers.models import (
    ChargePoint,
    ChargerModel,
    Connection,
    FirmwareImage,
    FirmwareVersion,
    IdTag,
    Manufacturer,
    ManufacturerCertificate,
    TlsFault,
    Transaction,
)


class EngineerWrites(permissions.BasePermission):
    """Anyone logged in reads what they may see; only engineers change anything."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return can_edit(request.user)


class EngineersOnly(permissions.BasePermission):
    """Lab resources (charge points, plans): engineers only, as on the pages."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_edit(request.user)


class ManufacturerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Manufacturer
        fields = ["id", "name", "country", "website", "contact_email"]

    def validate_name(self, name: str) -> str:
        # The unique index ignores case; say so before the database does (with a 500).
        taken = Manufacturer.objects.filter(name__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("A manufacturer with this name already exists.")
        return name


class ChargerModelSerializer(serializers.ModelSerializer):
    # The database's CHECK constraints, said as validation errors.
    connectors = serializers.IntegerField(min_value=1, required=False)
    max_power_kw = serializers.DecimalField(
        max_digits=7, decimal_places=2, min_value=Decimal("0.01"), allow_null=True, required=False
    )

    class Meta:
        model = ChargerModel
        fields = [
            "id",
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


class FirmwareVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = FirmwareVersion
        fields = ["id", "charger_model", "version", "reported_as", "release_date", "notes"]


class ScopedViewSet(viewsets.ModelViewSet):
    permission_classes = [permissions.IsAuthenticated, EngineerWrites]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return visible(queryset, self.request.user)


class ManufacturerViewSet(ScopedViewSet):
    serializer_class = ManufacturerSerializer
    filterset_fields = ["country"]

    def get_queryset(self) -> QuerySet[Manufacturer]:
        return self.scoped(Manufacturer.objects.order_by("name"))


class ManufacturerCertificateSerializer(serializers.ModelSerializer):
    certificate_pem = serializers.CharField(
        help_text="The manufacturer's CA certificate, PEM (basicConstraints CA:TRUE)."
    )

    class Meta:
        model = ManufacturerCertificate
        fields = ["id", "certificate_pem", "subject", "sha256", "not_after", "uploaded_at"]
        read_only_fields = ["id", "subject", "sha256", "not_after", "uploaded_at"]


class ChargerModelViewSet(ScopedViewSet):
    serializer_class = ChargerModelSerializer
    filterset_fields = ["manufacturer", "current_type", "outlet"]

    def get_queryset(self) -> QuerySet[ChargerModel]:
        return self.scoped(ChargerModel.objects.order_by("manufacturer__name", "name"))

    @extend_schema(
        methods=["GET"],
        summary="The manufacturer CAs trusted for the model's security profile 3 certificates",
        request=None,
        responses=ManufacturerCertificateSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Trust a manufacturer CA for the model's security profile 3 certificates",
        request=ManufacturerCertificateSerializer,
        responses={201: ManufacturerCertificateSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="ca-certificates")
    def ca_certificates(self, request: Request, pk: str | None = None) -> Response:
        charger_model = self.get_object()
        if request.method == "GET":
            rows = charger_model.ca_certificates.all()
            return Response(ManufacturerCertificateSerializer(rows, many=True).data)
        serializer = ManufacturerCertificateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            row = security.add_manufacturer_ca(
                charger_model,
                serializer.validated_data["certificate_pem"],
                uploaded_by=request.user,
            )
        except (ValueError, DjangoValidationError) as error:
            detail = error.messages if isinstance(error, DjangoValidationError) else [str(error)]
            raise serializers.ValidationError({"certificate_pem": detail}) from None
        return Response(ManufacturerCertificateSerializer(row).data, status=status.HTTP_201_CREATED)


class FirmwareImageSerializer(serializers.ModelSerializer):
    image = serializers.FileField(write_only=True, help_text="The image file (multipart).")

    class Meta:
        model = FirmwareImage
        fields = ["id", "purpose", "original_name", "size", "sha256", "uploaded_at", "image"]
        read_only_fields = ["id", "original_name", "size", "sha256", "uploaded_at"]


class FirmwareVersionViewSet(ScopedViewSet):
    serializer_class = FirmwareVersionSerializer
    filterset_fields = ["charger_model"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[FirmwareVersion]:
        return self.scoped(FirmwareVersion.objects.order_by("charger_model", "version"))

    @extend_schema(
        methods=["POST"], request=FirmwareImageSerializer, responses=FirmwareImageSerializer
    )
    @extend_schema(methods=["GET"], request=None, responses=FirmwareImageSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def images(self, request: Request, pk: str) -> Response:
        """The image files of a firmware version (newest first); POST uploads one (multipart
        field `image`, optional `purpose`), as the charger model page does. Step 19 serves
        the newest valid image of another version of the model."""
        firmware = self.get_object()
        if request.method == "GET":
            images = firmware.images.order_by("-uploaded_at")
            return Response(FirmwareImageSerializer(images, many=True).data)
        body = FirmwareImageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            image = transfers.store_firmware_image(
                firmware,
                body.validated_data["image"],
                user=request.user,
                purpose=body.validated_data.get("purpose", FirmwareImage.Purpose.VALID),
            )
        except transfers.TransferError as error:
            raise ValidationError({"image": [str(error)]}) from None
        return Response(FirmwareImageSerializer(image).data, status=status.HTTP_201_CREATED)


class IdTagSerializer(serializers.ModelSerializer):
    id_tag = serializers.CharField(max_length=20, label="idTag")

    class Meta:
        model = IdTag
        fields = ["id", "id_tag", "status", "expiry_date", "parent_id_tag"]

    def validate_id_tag(self, id_tag: str) -> str:
        id_tag = id_tag.strip()
        charge_point = self.context["charge_point"]
        clash = IdTag.objects.filter(charge_point=charge_point, id_tag=id_tag)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(f"{id_tag} is already in this charge point's list.")
        return id_tag

    def create(self, validated_data: dict[str, Any]) -> IdTag:
        return IdTag.objects.create(charge_point=self.context["charge_point"], **validated_data)


class TransactionSerializer(serializers.ModelSerializer):
    transaction_id = serializers.IntegerField(source="pk", read_only=True)
    ongoing = serializers.BooleanField(source="is_ongoing", read_only=True)
    energy_wh = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Transaction
        fields = [
            "transaction_id",
            "connector_id",
            "id_tag",
            "meter_start",
            "meter_stop",
            "energy_wh",
            "started_at",
            "stopped_at",
            "stop_reason",
            "ongoing",
        ]
        read_only_fields = fields


class ChargePointSerializer(serializers.ModelSerializer):
    connected = serializers.BooleanField(read_only=True)
    authorization_key = serializers.CharField(
        write_only=True,
        required=False,
        min_length=16,
        max_length=40,
        help_text="Profile 1 key; generated when omitted and returned once in the answer.",
    )
    no_auth = serializers.BooleanField(write_only=True, required=False, default=False)

    class Meta:
        model = ChargePoint
        fields = [
            "id",
            "charge_point_id",
            "charger_model",
            "firmware_version",
            "security_profile",
            "enabled",
            "boot_answer",
            "heartbeat_interval",
            "data_transfer_answer",
            "bench_url",
            "reported_vendor",
            "reported_model",
            "reported_serial",
            "reported_firmware",
            "reported_iccid",
            "last_boot_at",
            "connected",
            "authorization_key",
            "no_auth",
        ]
        read_only_fields = [
            "security_profile",
            "reported_vendor",
            "reported_model",
            "reported_serial",
            "reported_firmware",
            "reported_iccid",
            "last_boot_at",
        ]

    def create(self, validated_data: dict[str, Any]) -> ChargePoint:
        key = validated_data.pop("authorization_key", None)
        no_auth = validated_data.pop("no_auth", False)
        charge_point_id = validated_data.pop("charge_point_id")
        charge_point, clear_key = services.create_charge_point(
            charge_point_id, authorization_key=key, no_auth=no_auth, **validated_data
        )
        charge_point.new_authorization_key = clear_key  # type: ignore[attr-defined]
        return charge_point

    def to_representation(self, instance: ChargePoint) -> dict[str, Any]:
        data = super().to_representation(instance)
        new_key = getattr(instance, "new_authorization_key", None)
        if new_key:
            data["authorization_key"] = new_key
        data.setdefault("connected", services.is_connected(instance))
        return data


class TlsFaultSerializer(serializers.Serializer):
    """A server-side TLS fault for the next handshakes of the TLS port (TC_078)."""

    kind = serializers.ChoiceField(choices=TlsFault.Kind.choices)
    handshakes = serializers.IntegerField(min_value=1, max_value=100, default=1)
    presented = serializers.IntegerField(read_only=True)
    armed_at = serializers.DateTimeField(read_only=True)


class SecurityProfileSerializer(serializers.Serializer):
    security_profile = serializers.ChoiceField(choices=ChargePoint.SecurityProfile.choices)


class ChargePointViewSet(ScopedViewSet):
    serializer_class = ChargePointSerializer
    permission_classes = [permissions.IsAuthenticated, EngineersOnly]
    filterset_fields = ["enabled", "charger_model"]

    def get_queryset(self) -> QuerySet[ChargePoint]:
        open_connection = Connection.objects.filter(
            charge_point=OuterRef("pk"), closed_at__isnull=True
        )
        return self.scoped(
            ChargePoint.objects.annotate(connected=Exists(open_connection)).order_by(
                "charge_point_id"
            )
        )

    @extend_schema(
        summary="Arm a server-side TLS fault for the next handshakes (TC_078)",
        request=TlsFaultSerializer,
        responses={201: TlsFaultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="tls-fault")
    def tls_fault(self, request: Request, pk: str | None = None) -> Response:
        serializer = TlsFaultSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fault = security.arm_tls_fault(
            self.get_object(),
            serializer.validated_data["kind"],
            handshakes=serializer.validated_data["handshakes"],
            armed_by=request.user,
        )
        return Response(TlsFaultSerializer(fault).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Set the security profile the portal demands (0-3)",
        request=SecurityProfileSerializer,
        responses={200: SecurityProfileSerializer},
    )
    @action(detail=True, methods=["post"], url_path="security-profile")
    def security_profile(self, request: Request, pk: str | None = None) -> Response:
        serializer = SecurityProfileSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        charge_point = self.get_object()
        try:
            security.set_security_profile(
                charge_point, serializer.validated_data["security_profile"]
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError({"security_profile": error.messages}) from None
        return Response({"security_profile": charge_point.security_profile})

    @extend_schema(methods=["POST"], request=IdTagSerializer, responses=IdTagSerializer)
    @extend_schema(methods=["GET"], request=None, responses=IdTagSerializer(many=True))
    @action(detail=True, methods=["get", "post"], url_path="id-tags")
    def id_tags(self, request: Request, pk: str) -> Response:
        """The idTags the central system answers for this charge point (a tag not listed is
        Invalid); POST adds one with its status (Accepted, Blocked, Expired, Invalid,
        ConcurrentTx)."""
        charge_point = self.get_object()
        if request.method == "GET":
            return Response(IdTagSerializer(charge_point.id_tags.all(), many=True).data)
        body = IdTagSerializer(data=request.data, context={"charge_point": charge_point})
        body.is_valid(raise_exception=True)
        body.save()
        return Response(body.data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["PATCH"], request=IdTagSerializer, responses=IdTagSerializer)
    @extend_schema(methods=["GET"], request=None, responses=IdTagSerializer)
    @action(detail=True, methods=["get", "patch"], url_path=r"id-tags/(?P<id_tag>[^/]+)")
    def id_tag(self, request: Request, pk: str, id_tag: str) -> Response:
        """One idTag of the charge point; PATCH changes its status, expiry or parent."""
        charge_point = self.get_object()
        tag = get_object_or_404(charge_point.id_tags, id_tag=id_tag)
        if request.method == "GET":
            return Response(IdTagSerializer(tag).data)
        body = IdTagSerializer(
            tag, data=request.data, partial=True, context={"charge_point": charge_point}
        )
        body.is_valid(raise_exception=True)
        body.save()
        return Response(body.data)

    @extend_schema(request=None, responses=TransactionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def transactions(self, request: Request, pk: str) -> Response:
        """The charge point's transactions, newest first (the latest 100), and the ongoing
        one per connector (`ongoing`: connectorId -> transaction or null), as
        `{transaction:ongoing}` resolves it."""
        charge_point = self.get_object()
        recent = charge_point.transactions.order_by("-pk")[:100]
        model = charge_point.charger_model
        connectors = set(range(1, model.connectors + 1)) if model else set()
        connectors |= set(
            charge_point.connectors.filter(connector_id__gt=0).values_list(
                "connector_id", flat=True
            )
        )
        connectors |= set(
            charge_point.transactions.filter(stopped_at__isnull=True).values_list(
                "connector_id", flat=True
            )
        )
        ongoing = {
            str(connector): (
                TransactionSerializer(found).data
                if (found := charge_point.ongoing_transaction(connector))
                else None
            )
            for connector in sorted(connectors)
        }
        return Response(
            {"ongoing": ongoing, "transactions": TransactionSerializer(recent, many=True).data}
        )


class ApiTokenSerializer(serializers.Serializer):
    """A new API token: shown in this answer only."""

    expiry = serializers.DateTimeField()
    token = serializers.CharField()


@extend_schema_view(
    post=extend_schema(
        summary="Log in with HTTP Basic and get a new API token (shown once)",
        request=None,
        responses={200: ApiTokenSerializer, 401: None, 429: None},
        tags=["auth"],
    )
)
class ApiLoginView(knox_views.LoginView):
    """``POST /api/auth/login/`` with HTTP Basic (username and password): a new API token
    for that user, shown once in the answer (``{"expiry": ..., "token": ...}``). The
    password check passes the same guard as every login (chargers/throttle.py): 429 when
    locked out."""

    authentication_classes = [BasicAuthentication]
    permission_classes = [IsAuthenticated]


@extend_schema_view(
    post=extend_schema(
        summary="Revoke the token this request carries",
        request=None,
        responses={204: None},
        tags=["auth"],
    )
)
class ApiLogoutView(knox_views.LogoutView):
    pass


@extend_schema_view(
    post=extend_schema(
        summary="Revoke every token of the user this request's token belongs to",
        request=None,
        responses={204: None},
        tags=["auth"],
    )
)
class ApiLogoutAllView(knox_views.LogoutAllView):
    pass
