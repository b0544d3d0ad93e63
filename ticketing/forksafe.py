"""A forked child must never talk on its parent's database sessions, nor
wait for its parent's threads.

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


def fresh_thread_executors() -> None:
    """fork copies only the thread that forked: asgiref's executor for sync
    code (`SyncToAsync.single_thread_executor`, which Django's
    database_sync_to_async and Channels' consumers use) may believe it has an
    idle worker thread that does not exist in the child, and every call
    queued to it then waits for ever. Found as a flaky browser test: the
    live server (a forked child) accepted WebSockets whose consumer never got
    past its first database call once an earlier test in the same pytest
    process had used the executor; Daphne killed them, the page reconnected
    and waited again."""
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import AsyncToSync, SyncToAsync

    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    SyncToAsync.context_to_thread_executor.clear()
    AsyncToSync.context_to_thread_executor.clear()


def after_fork_in_child() -> None:
    forget_inherited_connections()
    fresh_thread_executors()


def install() -> None:
    os.register_at_fork(after_in_child=after_fork_in_child)
