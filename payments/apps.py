from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # inventory asks these at run time (inventory/hooks.py); neither
        # inventory nor queueroom ever imports payments.
        from inventory import hooks
        from payments import dashboard, gate, selectors, services

        # Before releasing an order with a payment in flight.
        hooks.register_payment_release(services.release_with_payment)
        # What GET /api/v1/orders/{id}/ shows of the order's payment.
        hooks.register_order_payment_view(selectors.payment_summary)
        # The waiting room admits nobody while the PSP's circuit breaker is open.
        hooks.register_admission_gate("payments", gate.admission_gate)
        # The PSP's breaker and bucket in /metrics and on the sale dashboard.
        dashboard.register()
