from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Venues, events and sales")

    def ready(self) -> None:
        # The sale dashboard's own figures and charts (places, holds, revenue);
        # queueroom and payments register theirs in their ready().
        from inventory import dashboard_render

        dashboard_render.register_builtin()
