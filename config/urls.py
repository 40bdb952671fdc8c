from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from certification.api import TestPlanViewSet, TestRunViewSet, UnattendedRunViewSet
from chargers import views as charger_views
from chargers.api import (
    ApiLoginView,
    ApiLogoutAllView,
    ApiLogoutView,
    ChargePointViewSet,
    ChargerModelViewSet,
    FirmwareVersionViewSet,
    ManufacturerViewSet,
)
from chargers.throttle import PortalLoginView


class ApiRouter(DefaultRouter):
    # No ".json"-style format suffixes: they would take "report.pdf" for the "report" route.
    include_format_suffixes = False


api = ApiRouter()
api.register("manufacturers", ManufacturerViewSet, basename="manufacturer")
api.register("charger-models", ChargerModelViewSet, basename="charger-model")
api.register("firmware-versions", FirmwareVersionViewSet, basename="firmware-version")
api.register("charge-points", ChargePointViewSet, basename="charge-point")
api.register("test-plans", TestPlanViewSet, basename="test-plan")
api.register("runs", TestRunViewSet, basename="run")
api.register("unattended-runs", UnattendedRunViewSet, basename="unattended-run")

urlpatterns = [
    path("", charger_views.home, name="home"),
    # Failed logins on every path are counted by django-axes; see chargers/throttle.py.
    path("accounts/login/", PortalLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", include("chargers.urls")),
    path("", include("certification.urls")),
    # The report as a file, at the address without a trailing slash that a file has.
    path(
        "api/runs/<int:pk>/report.pdf",
        TestRunViewSet.as_view({"get": "report_pdf"}),
        name="api-run-report-pdf",
    ),
    # API tokens (chargers/api_tokens.py): HTTP Basic login, through the login guard.
    path("api/auth/login/", ApiLoginView.as_view(), name="api-login"),
    path("api/auth/logout/", ApiLogoutView.as_view(), name="api-logout"),
    path("api/auth/logoutall/", ApiLogoutAllView.as_view(), name="api-logoutall"),
    path(
        "api/unattended-runs/<int:pk>/junit.xml",
        UnattendedRunViewSet.as_view({"get": "junit"}),
        name="api-unattended-run-junit",
    ),
    path("api/", include(api.urls)),
    # Behind login like the API they describe (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]);
    # the docs page is a page, so it sends a browser to the login form. The split view
    # serves Swagger UI's start script as a file: the CSP allows no inline script.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        login_required(
            csp_update({"style-src": [UNSAFE_INLINE]})(  # Swagger UI's own <style> block
                SpectacularSwaggerSplitView.as_view(url_name="api-schema")
            )
        ),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
]
