from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults

from inventory.urls import api_urlpatterns as inventory_api
from queueroom.urls import api_urlpatterns as queue_api
from ticketing import api, health

admin.site.site_header = "Ticketing · promoters"
admin.site.site_title = "Ticketing admin"
admin.site.index_title = "Sales, venues and events"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include((inventory_api, "inventory_api"))),
    path("api/v1/", include((queue_api, "queue_api"))),
    path("", include("queueroom.urls")),
    path("", include("inventory.urls")),
]


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api.not_found(request, exception)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api.server_error(request)
    return defaults.server_error(request)
