"""The inventory's locking protocol in one place (written down in docs/locking.md).

Every write transaction on seats and orders:

1. starts with ``SET LOCAL lock_timeout`` (short: waiting longer only piles up
   connections) and, when it changes what a fan holds, a transaction-scoped
   advisory lock on (event, fan), so one fan's concurrent requests cannot
   both pass the per-fan ticket cap;
2. locks inventory rows before order rows, each kind in primary-key order
   (``ORDER BY id FOR UPDATE``, or ``FOR UPDATE SKIP LOCKED`` which never waits);
3. never takes an event-wide or section-wide lock.

A lock timeout, a deadlock or a serialization failure becomes ``Busy``: the
request changed nothing and may be retried (HTTP 503 + Retry-After).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import CursorWrapper

# lock_not_available, deadlock_detected, serialization_failure, query_canceled
RETRYABLE_SQLSTATES = frozenset({"55P03", "40P01", "40001", "57014"})


class Busy(Exception):
    """The inventory is contended right now; nothing was changed. Retry soon."""

    retry_after = 1

    def __init__(self, detail: str = "Too many fans are trying for these seats right now; try again.") -> None:
        super().__init__(detail)
        self.detail = detail


def lock_timeout_ms() -> int:
    return int(getattr(settings, "INVENTORY_LOCK_TIMEOUT_MS", 2000))


def _sqlstate(exc: BaseException) -> str | None:
    while exc is not None:
        state = getattr(exc, "sqlstate", None)
        if state:
            return str(state)
        exc = exc.__cause__  # type: ignore[assignment]
    return None


@contextmanager
def inventory_transaction() -> Iterator[CursorWrapper]:
    """A transaction for inventory writes, yielding a cursor. Retryable
    database conflicts leave as ``Busy``; everything is rolled back."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            yield cursor
    except DatabaseError as exc:
        if _sqlstate(exc) in RETRYABLE_SQLSTATES:
            raise Busy() from exc
        raise


def begin(cursor: CursorWrapper, *, fan_key: str | None = None, then: str = "", params: Any = None) -> None:
    """Step 1 of the protocol, in one round trip with the caller's first
    statement ``then`` (whose result set the cursor is left on)."""
    sql = f"SET LOCAL lock_timeout = '{lock_timeout_ms():d}ms';"
    args: list[Any] = []
    if fan_key is not None:
        sql += " SELECT pg_advisory_xact_lock(hashtextextended(%s, 0));"
        args.append(fan_key)
    if not then:
        cursor.execute(sql, args)
        return
    if isinstance(params, dict):
        # One parameter style per statement batch: name the leading ones too.
        sql = sql.replace("%s", "%(_fan_key)s")
        named = dict(params)
        if fan_key is not None:
            named["_fan_key"] = fan_key
        cursor.execute(f"{sql} {then}", named)
    else:
        cursor.execute(f"{sql} {then}", [*args, *(params or [])])
    # psycopg keeps every result of the batch; stop on the last (the caller's).
    while cursor.nextset():
        pass
