from django.urls import path

from chargers import views

app_name = "chargers"

urlpatterns = [
    path("manufacturers/", views.ManufacturerListView.as_view(), name="manufacturer-list"),
    path(
        "manufacturers/new/",
        views.ManufacturerCreateView.as_view(),
        name="manufacturer-create",
    ),
    path(
        "manufacturers/<int:pk>/",
        views.ManufacturerDetailView.as_view(),
        name="manufacturer-detail",
    ),
    path(
        "manufacturers/<int:pk>/edit/",
        views.ManufacturerUpdateView.as_view(),
        name="manufacturer-update",
    ),
    path("models/", views.ChargerModelListView.as_view(), name="model-list"),
    path("models/new/", views.ChargerModelCreateView.as_view(), name="model-create"),
    path("models/<int:pk>/", views.ChargerModelDetailView.as_view(), name="model-detail"),
    path("models/<int:pk>/edit/", views.ChargerModelUpdateView.as_view(), name="model-update"),
    path(
        "models/<int:model_pk>/firmware/new/",
        views.FirmwareVersionCreateView.as_view(),
        name="firmware-create",
    ),
    path("firmware/", views.FirmwareVersionListView.as_view(), name="firmware-list"),
    path(
        "firmware/<int:pk>/edit/",
        views.FirmwareVersionUpdateView.as_view(),
        name="firmware-update",
    ),
]
