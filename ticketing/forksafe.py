"""A forked child must never talk on its parent's database sessions.

fork copies the process with its open PostgreSQL connections: the pooled
ones (psycopg_pool keeps idle sessions) and the thread's own. A child that
used one (Channels' live test server is a forked process; so are Celery's
prefork workers) shares a server session with its parent without either
knowing: statements the child prepares there make the parent's next
"prepared statement _pg3_N already exists", and a child closing it ends the
parent's session. So the child forgets them, without closing (closing would
end the parent's session too), and opens its own.
"""

from __future__ import annotations

import os


def forget_inherited_connections() -> None:
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    for conn in connections.all(initialized_only=True):
        conn.connection = None
    DatabaseWrapper._connection_pools.clear()  # type: ignore[attr-defined]


def install() -> None:
    os.register_at_fork(after_in_child=forget_inherited_connections)
