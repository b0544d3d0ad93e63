from django.urls import path

from payments import api, views

app_name = "payments"

urlpatterns = [
    path("orders/<str:order_id>/pay/", views.checkout, name="checkout"),
    path("orders/<str:order_id>/tickets/", views.tickets, name="tickets"),
    path("payments/stripe/webhook/", api.stripe_webhook, name="stripe_webhook"),
]

api_urlpatterns = [
    path("orders/<str:order_id>/checkout/", api.checkout, name="api_checkout"),
    path("orders/<str:order_id>/pay/", api.pay, name="api_pay"),
    path("orders/<str:order_id>/settle/", api.settle, name="api_settle"),
]
