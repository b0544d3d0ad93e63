from django.apps import AppConfig


class QueueroomConfig(AppConfig):
    name = "queueroom"
    verbose_name = "Waiting room"

    def ready(self) -> None:
        # Connects the order_paid receiver (the store session ends on payment).
        from queueroom import receivers  # noqa: F401
