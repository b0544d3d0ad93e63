from django.apps import AppConfig


class QueueroomConfig(AppConfig):
    name = "queueroom"
    verbose_name = "Waiting room"
