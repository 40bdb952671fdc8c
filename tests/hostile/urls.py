"""The project's URLs with the throttled login view, as config/urls.py will wire it."""

from django.urls import include, path

from chargers.throttle import ThrottledLoginView

urlpatterns = [
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("", include("config.urls")),
]
