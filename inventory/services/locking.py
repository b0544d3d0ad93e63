"""The inventory's locking protocol in one place (written down in docs/locking.md).

Every write transaction on seats and orders:

1. starts with a transaction-local ``lock_timeout`` (short: waiting longer only piles up
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

import psycopg
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import CursorWrapper

from ticketing.errors import DomainError

# lock_not_available, deadlock_detected, serialization_failure, query_canceled
RETRYABLE_SQLSTATES = frozenset({"55P03", "40P01", "40001", "57014"})


class Busy(DomainError):
    """The inventory is contended right now; nothing was changed. Retry soon."""

    code = "busy"
    default_detail = "Too many fans are trying for these seats right now; try again."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, retry_after=1)


def lock_timeout_ms() -> int:
    return int(getattr(settings, "INVENTORY_LOCK_TIMEOUT_MS", 2000))


def _sqlstate(exc: BaseException | None) -> str | None:
    while exc is not None:
        state = getattr(exc, "sqlstate", None)
        if state:
            return str(state)
        exc = exc.__cause__
    return None


def prepared_cursor() -> CursorWrapper:
    """A cursor with server-side parameter binding, so psycopg prepares the
    hot statements on each connection after a few runs: planning the claim
    costs more database CPU than running it. (The project's default cursor
    binds client-side.) Wrapped like Django's own, so queries are counted."""
    connection.ensure_connection()
    conn = connection.connection
    if conn.prepare_threshold is None:
        # Django turns auto-prepare off; it only affects server-side binding
        # cursors, which only this module makes.
        conn.prepare_threshold = 1
    raw = psycopg.Cursor(conn)
    # The stubs say these take a Django CursorWrapper; they take the driver's cursor.
    if connection.queries_logged:
        return connection.make_debug_cursor(raw)  # type: ignore[arg-type]
    return connection.make_cursor(raw)  # type: ignore[arg-type]


@contextmanager
def inventory_transaction() -> Iterator[CursorWrapper]:
    """A transaction for inventory writes, yielding a cursor. Retryable
    database conflicts leave as ``Busy``; everything is rolled back."""
    try:
        with transaction.atomic():
            cursor = prepared_cursor()
            try:
                yield cursor
            finally:
                cursor.close()
    except DatabaseError as exc:
        state = _sqlstate(exc)
        if state in PREPARED_OUT_OF_STEP:
            _forget_prepared()
            raise Busy() from exc
        if state in RETRYABLE_SQLSTATES:
            raise Busy() from exc
        raise


# "prepared statement already exists" / "does not exist": psycopg's cache of
# what this session has prepared disagrees with the server. Seen rarely, with
# pooled connections used by many threads (issue 14 notes); the cure is to
# forget both sides (psycopg sends DEALLOCATE ALL before the next statement)
# and let the caller try again.
PREPARED_OUT_OF_STEP = frozenset({"42P05", "26000"})


def _forget_prepared() -> None:
    conn = connection.connection
    if conn is not None:
        conn._prepared.clear()  # noqa: SLF001 - psycopg's own reset, as after a ROLLBACK


def begin(cursor: CursorWrapper, *, fan_key: str | None = None, then: str = "", params: Any = None) -> None:
    """Step 1 of the protocol in one statement (``set_config(..., true)`` is
    SET LOCAL), then the caller's first statement ``then``, whose result set
    the cursor is left on."""
    timeout = f"{lock_timeout_ms():d}ms"
    # The hot statements look rows up by primary key or by the best-available
    # index whatever the parameters: a generic plan is right, and re-planning
    # them per call was most of the database CPU of a hold.
    settings_sql = (
        "SELECT set_config('lock_timeout', %s, true), set_config('plan_cache_mode', 'force_generic_plan', true)"
    )
    if fan_key is None:
        cursor.execute(settings_sql, [timeout])
    else:
        cursor.execute(f"{settings_sql}, pg_advisory_xact_lock(hashtextextended(%s, 0))", [timeout, fan_key])
    if then:
        cursor.execute(then, params)
