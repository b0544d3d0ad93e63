"""The store's door (settings.STORE_ACCESS_CHECK, see inventory/access.py):
only fans holding a valid pass for the event, in the browser it was issued
to, for a store session that has not ended, reach the store.

The signature check needs no Redis. The revocation check (the fan left the
queue, or paid, before the pass expired) is one ZSCORE; if Redis cannot
answer, the pass is honoured: it is still signed, bound and unexpired, and a
Redis outage must not lock every admitted fan out of the store.
"""

from __future__ import annotations

import datetime as dt
import logging

import redis
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from inventory.access import StoreAccessDenied
from inventory.models import Event
from queueroom import passes, services
from queueroom.models import Lane

log = logging.getLogger(__name__)


def store_access_check(request: HttpRequest, event: Event) -> StoreAccessDenied | None:
    presented = passes.pass_from_request(request, event.pk)
    try:
        claims = passes.verify_pass(presented, event_id=event.pk, fan_id=getattr(request, "fan_id", None))
        if _revoked(claims):
            raise passes.PassInvalid("revoked (store session ended)")
    except passes.PassInvalid as exc:
        # Why goes to the log, not to the client: an attacker learns nothing
        # from the answer about which part of a forgery failed. No pass at all
        # is every visitor of the event page, not worth a line.
        if presented:
            log.info("store pass refused for event %s: %s", event.pk, exc)
        return StoreAccessDenied(
            code="queue_pass_required",
            detail=_("Join the waiting room for this event first."),
            redirect_url=reverse("queueroom:waiting_room", args=[event.slug]),
        )
    # The store pages count the session down (inventory/access.py's protocol).
    request.store_session_ends_at = dt.datetime.fromtimestamp(claims.expires_at, tz=dt.UTC)  # type: ignore[attr-defined]
    # Fans let in through the presale lane may hold during the presale.
    request.store_presale = _presale_lane(event, claims.lane_id)  # type: ignore[attr-defined]
    return None


def _presale_lane(event: Event, lane_id: int) -> bool:
    lane = services.cached_setup(event.pk).lane(lane_id)
    return lane is not None and lane.kind == Lane.Kind.PRIORITY


def _revoked(claims: passes.StorePass) -> bool:
    try:
        return services.is_revoked(claims)
    except redis.RedisError as exc:
        log.warning("pass revocation check skipped (Redis: %s)", exc)
        return False
