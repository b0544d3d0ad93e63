from ticketing import forksafe
from ticketing.celery import app as celery_app

# Forked children (Channels' live server, Celery's prefork workers) open their own database sessions.
forksafe.install()

__all__ = ("celery_app",)
