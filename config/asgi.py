"""ASGI entry point: pages through Django, websockets (chargers, live pages) through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from config.proxy import TrustedProxyHeaders  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402

# The client address and scheme are decided once, in front of everything.
application = TrustedProxyHeaders(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": URLRouter(websocket_urlpatterns),
        }
    ),
    settings.TRUSTED_PROXIES,
)
