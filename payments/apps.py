from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # inventory asks this handler before releasing an order with a
        # payment in flight (inventory/hooks.py); inventory never imports us.
        from inventory import hooks
        from payments import services

        hooks.register_payment_release(services.release_with_payment)
