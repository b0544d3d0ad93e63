import logging.config
import os
import time
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

from ticketing.logging_setup import log_format

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")

app = Celery("ticketing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each task's log lines carry the context of the request that queued it (request_id, fan).
app.steps["worker"].add(DjangoStructLogInitStep)


def _django_logging(**kwargs: Any) -> None:
    """JSON logs: the worker and beat log through Django's LOGGING (LOG_LEVEL,
    the JSON formatter, the request's context) instead of Celery's own
    setup, which would replace the handlers and default to WARNING."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


if log_format() == "json":
    # Connected only then: in development Celery sets up its logging as before.
    setup_logging.connect(_django_logging, weak=False)


@app.task(name="ticketing.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Beat sends this every few seconds; the worker that runs it proves the
    whole background path (beat, broker, a worker) is alive. /readyz reports
    its age (ticketing/health.py)."""
    from django_redis import get_redis_connection

    from ticketing.health import heartbeat_key

    client = get_redis_connection("default")
    client.set(heartbeat_key(), repr(time.time()), ex=3600)
