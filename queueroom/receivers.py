"""What the waiting room does when inventory says something happened.

``order_paid``: the fan's store session ends at once, so their place in the
store goes to the next fan on the next tick instead of when the pass runs
out. Payments never calls the waiting room: both listen to inventory.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import redis
from django.dispatch import receiver

from inventory.signals import order_paid
from queueroom import services
from queueroom.services.errors import QueueError

log = logging.getLogger(__name__)


@receiver(order_paid, dispatch_uid="queueroom.end_session_on_paid")
def end_session_on_paid(*, order_id: uuid.UUID, owner: str, event_id: int, **_: Any) -> None:
    try:
        ended = services.end_session_of_fan(event_id=event_id, fan_id=owner)
    except (QueueError, redis.RedisError) as exc:
        # The pass then simply runs out; the sale itself is done.
        log.warning("store session of paid order %s not ended: %s", order_id, exc)
        return
    if ended:
        log.debug("store session ended: order %s paid", order_id)
