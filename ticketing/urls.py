from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from inventory.urls import api_urlpatterns as inventory_api
from payments.urls import api_urlpatterns as payments_api
from queueroom.urls import api_urlpatterns as queue_api
from ticketing import health, metrics

admin.site.site_header = _("Tickets · promoters")
admin.site.site_title = _("Tickets admin")
admin.site.index_title = _("Sales, venues and events")
# At 1280 px the model list beside every page took a quarter of the width the
# event list and the price tiers need; the breadcrumbs and the index remain.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Prometheus, for a bearer of METRICS_TOKEN only; everyone else gets the ordinary 404.
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include((inventory_api, "inventory_api"))),
    path("api/v1/", include((queue_api, "queue_api"))),
    path("api/v1/", include((payments_api, "payments_api"))),
    path("", include("queueroom.urls")),
    path("", include("payments.urls")),
    path("", include("inventory.urls")),
]


handler400 = "ticketing.errors.bad_request"
handler403 = "ticketing.errors.permission_denied"
handler404 = "ticketing.errors.page_not_found"
handler500 = "ticketing.errors.server_error"
