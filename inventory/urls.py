from django.urls import path

from inventory import api, views

app_name = "inventory"

urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("events/<slug:slug>/", views.event_detail, name="event_detail"),
]

api_urlpatterns = [
    path("events/", api.event_list, name="api_event_list"),
    path("events/<slug:slug>/", api.event_detail, name="api_event_detail"),
]
