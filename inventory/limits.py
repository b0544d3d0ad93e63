"""How often one fan may ask for a hold (django-ratelimit over the shared
Redis cache). The per-fan ticket cap bounds what a fan can hold; this
bounds what their attempts cost the inventory: a script with a valid store
pass would otherwise retry claims as fast as the network allows."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limited:
    retry_after: int


def hold_attempt(request: HttpRequest) -> Limited | None:
    """Count one hold attempt for the request's fan; ``Limited`` when they are
    over ``HOLD_RATE_LIMIT`` (e.g. "60/m"; empty: no limit). If the cache is
    unreachable the attempt is allowed: the limit protects the database, it
    must not become a way to stop the sale."""
    return attempt(request, group="inventory.hold", who=getattr(request, "fan_id", ""), rate=settings.HOLD_RATE_LIMIT)


def attempt(request: HttpRequest, *, group: str, who: str, rate: str) -> Limited | None:
    """Count one attempt of ``who`` in ``group`` (django-ratelimit, fixed
    windows in the shared cache); ``Limited`` when over ``rate`` ("N/m"; empty:
    no limit). Allowed when the cache does not answer (logged)."""
    if not rate:
        return None
    try:
        usage = get_usage(
            request,
            group=group,
            key=lambda group, request: who,
            rate=rate,
            method=["POST"],
            increment=True,
        )
    except Exception:  # noqa: BLE001 - any cache failure: allow, and say so
        log.warning("%s rate limit skipped: cache unavailable", group, exc_info=True)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return Limited(retry_after=max(1, int(usage["time_left"])))
