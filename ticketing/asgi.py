import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from queueroom.fastpath import QueueFastPath  # noqa: E402
from queueroom.routing import websocket_urlpatterns  # noqa: E402
from ticketing.edge import BodyLimit  # noqa: E402
from ticketing.gate import DjangoGate  # noqa: E402
from ticketing.health import ProbeApp  # noqa: E402


def http_app(django_app: Any) -> Any:
    """Probes and the waiting room's two hottest requests skip Django's
    thread hops; no request body reaches either unbounded; at most so many
    requests are inside Django at once (ticketing.gate)."""
    return ProbeApp(BodyLimit(QueueFastPath(DjangoGate(django_app))))


application = ProtocolTypeRouter(
    {
        "http": http_app(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
