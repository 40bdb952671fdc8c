from django.urls import path

from chargers import views

app_name = "chargers"

urlpatterns = [
    path("accounts/tokens/", views.api_tokens, name="api-tokens"),
    path("accounts/tokens/<str:digest>/revoke/", views.api_token_revoke, name="api-token-revoke"),
    path("catalog/manufacturers/", views.ManufacturerListView.as_view(), name="manufacturer-list"),
    path(
        "catalog/manufacturers/new/",
        views.ManufacturerCreateView.as_view(),
        name="manufacturer-create",
    ),
    path(
        "catalog/manufacturers/<int:pk>/",
        views.ManufacturerDetailView.as_view(),
        name="manufacturer-detail",
    ),
    path(
        "catalog/manufacturers/<int:pk>/edit/",
        views.ManufacturerUpdateView.as_view(),
        name="manufacturer-update",
    ),
    path("catalog/models/", views.ChargerModelListView.as_view(), name="model-list"),
    path("catalog/models/new/", views.ChargerModelCreateView.as_view(), name="model-create"),
    path("catalog/models/<int:pk>/", views.ChargerModelDetailView.as_view(), name="model-detail"),
    path(
        "catalog/models/<int:pk>/ca-certificates/",
        views.chargermodel_ca_upload,
        name="model-ca-upload",
    ),
    path(
        "catalog/models/<int:pk>/edit/", views.ChargerModelUpdateView.as_view(), name="model-update"
    ),
    path(
        "catalog/models/<int:model_pk>/firmware/new/",
        views.FirmwareVersionCreateView.as_view(),
        name="firmware-create",
    ),
    path("catalog/firmware/", views.FirmwareVersionListView.as_view(), name="firmware-list"),
    path(
        "catalog/firmware/<int:pk>/edit/",
        views.FirmwareVersionUpdateView.as_view(),
        name="firmware-update",
    ),
    path("charge-points/", views.ChargePointListView.as_view(), name="chargepoint-list"),
    path("charge-points/new/", views.ChargePointCreateView.as_view(), name="chargepoint-create"),
    path("charge-points/connected/", views.connected_charge_points, name="connected"),
    path("charge-points/events/", views.ConnectionEventListView.as_view(), name="event-list"),
    path("charge-points/<int:pk>/", views.chargepoint_detail, name="chargepoint-detail"),
    path(
        "charge-points/<int:pk>/settings/",
        views.chargepoint_settings,
        name="chargepoint-settings",
    ),
    path(
        "charge-points/<int:pk>/rotate-key/",
        views.chargepoint_rotate_key,
        name="chargepoint-rotate-key",
    ),
    path("charge-points/<int:pk>/toggle/", views.chargepoint_toggle, name="chargepoint-toggle"),
    path(
        "charge-points/<int:pk>/security/", views.chargepoint_security, name="chargepoint-security"
    ),
    path("charge-points/lab-root.pem", views.lab_root_certificate, name="lab-root"),
    path("charge-points/<int:pk>/id-tags/", views.idtag_add, name="idtag-add"),
    path(
        "charge-points/<int:pk>/id-tags/<int:tag_pk>/delete/",
        views.idtag_delete,
        name="idtag-delete",
    ),
    path("charge-points/<int:pk>/commands/", views.command_send, name="command-send"),
    path("charge-points/<int:pk>/frames/", views.FrameListView.as_view(), name="frame-list"),
    path(
        "catalog/firmware/<int:pk>/images/",
        views.firmware_image_upload,
        name="firmware-image-upload",
    ),
    path(
        "catalog/firmware/<int:firmware_pk>/declarations/new/",
        views.declaration_create,
        name="declaration-create",
    ),
    path("catalog/declarations/<int:pk>/", views.declaration_detail, name="declaration-detail"),
    path("catalog/declarations/<int:pk>/edit/", views.declaration_edit, name="declaration-edit"),
    path("catalog/declarations/<int:pk>/lock/", views.declaration_lock, name="declaration-lock"),
    path("transfers/<int:pk>/file/", views.transfer_file, name="transfer-file"),
    # Given to chargers in UpdateFirmware / GetDiagnostics: the token is the credential.
    path(
        "transfers/firmware/<str:token>/<str:name>",
        views.firmware_download,
        name="firmware-download",
    ),
    path("transfers/diagnostics/<str:token>/", views.diagnostics_upload, name="diagnostics-upload"),
    path(
        "transfers/diagnostics/<str:token>/<str:name>",
        views.diagnostics_upload,
        name="diagnostics-upload-named",
    ),
]
