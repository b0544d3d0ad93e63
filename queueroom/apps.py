from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueueroomConfig(AppConfig):
    name = "queueroom"
    verbose_name = _("Waiting room")

    def ready(self) -> None:
        # Connects the order_paid receiver (the store session ends on payment).
        from queueroom import dashboard, receivers  # noqa: F401

        # The waiting room's figures, charts and controls on the sale dashboard (inventory/dashboard.py).
        dashboard.register()
