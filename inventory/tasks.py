"""Celery tasks of the inventory: thin wrappers over the services."""

from __future__ import annotations

import logging

from celery import shared_task

from inventory.services.holds import sweep_expired
from inventory.services.locking import Busy

log = logging.getLogger(__name__)


@shared_task(name="inventory.sweep_expired_locks", ignore_result=True, max_retries=0)
def sweep_expired_locks(batch_size: int = 500) -> int:
    """Free seats whose lock expired and expire their orders. Claims do not
    wait for this (an expired lock is claimable at once); it keeps the
    availability shown to fans accurate. Runs every few seconds from beat;
    overlapping runs are safe (SKIP LOCKED batches)."""
    try:
        freed = sweep_expired(batch_size=batch_size)
    except Busy:
        log.info("sweep skipped: inventory busy; the next run catches up")
        return 0
    if freed:
        log.info("freed %d expired seat locks", freed)
    return freed


@shared_task(name="inventory.sample_dashboards", ignore_result=True, max_retries=0)
def sample_dashboards() -> int:
    """Keep one sample of each event on sale for the sale dashboard's last
    hour (inventory/dashboard.py). Beat sends it every DASHBOARD_SAMPLE_SECONDS."""
    from inventory import dashboard

    return dashboard.sample_all()
