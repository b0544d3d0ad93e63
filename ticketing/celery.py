import os
import time

from celery import Celery
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")

app = Celery("ticketing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each task's log lines carry the context of the request that queued it (request_id, fan).
app.steps["worker"].add(DjangoStructLogInitStep)


@app.task(name="ticketing.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Beat sends this every few seconds; the worker that runs it proves the
    whole background path (beat, broker, a worker) is alive. /readyz reports
    its age (ticketing/health.py)."""
    from django_redis import get_redis_connection

    from ticketing.health import heartbeat_key

    client = get_redis_connection("default")
    client.set(heartbeat_key(), repr(time.time()), ex=3600)
