from django.urls import path

from inventory import api, views

app_name = "inventory"

urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("events/<slug:slug>/", views.event_detail, name="event_detail"),
    path("events/<slug:slug>/buy/<str:code>/", views.section_page, name="section"),
    path("events/<slug:slug>/hold/", views.hold, name="hold"),
    path("orders/<str:order_id>/", views.cart, name="cart"),
    path("orders/<str:order_id>/release/", views.release, name="release"),
]

api_urlpatterns = [
    path("events/", api.event_list, name="api_event_list"),
    path("events/<slug:slug>/", api.event_detail, name="api_event_detail"),
    path("events/<slug:slug>/seats/", api.seats, name="api_seats"),
    path("events/<slug:slug>/holds/", api.create_hold, name="api_create_hold"),
    path("events/<slug:slug>/orders/", api.event_orders, name="api_event_orders"),
    path("orders/<str:order_id>/", api.order_detail, name="api_order"),
]
