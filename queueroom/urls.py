from django.urls import path

from queueroom import api, views

app_name = "queueroom"

urlpatterns = [
    path("events/<slug:slug>/queue/", views.waiting_room, name="waiting_room"),
    path("events/<slug:slug>/queue/fairness/", views.fairness, name="fairness"),
]

api_urlpatterns = [
    path("events/<slug:slug>/queue/", api.join, name="queue_join"),
    path("events/<slug:slug>/queue/state/", api.state, name="queue_state"),
    path("events/<slug:slug>/queue/challenge/", api.challenge, name="queue_challenge"),
    path("queue/<str:token>/", api.place, name="queue_place"),
    path("queue/<str:token>/heartbeat/", api.heartbeat, name="queue_heartbeat"),
]
