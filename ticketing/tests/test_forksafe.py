"""A forked child opens its own database sessions: one that used its
parent's would prepare statements in the parent's session ("prepared
statement _pg3_N already exists" there later) or end it."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from inventory.services.locking import inventory_transaction

pytestmark = pytest.mark.django_db(transaction=True)

SQL = "SELECT count(*) FROM inventory_item WHERE id > %s"


def _prepare_twice() -> None:
    with inventory_transaction() as cursor:
        for _ in range(3):  # prepared on its second run
            cursor.execute(SQL, [0])
            cursor.fetchone()


def test_a_forked_child_does_not_use_the_parents_session() -> None:
    _prepare_twice()
    parent_session = connection.connection.info.backend_pid
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its session, prepare there, leave without cleanup
        code = 1
        try:
            _prepare_twice()
            os.write(write, str(connection.connection.info.backend_pid).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    child_session = int(os.read(read, 32) or b"0")
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert child_session and child_session != parent_session
    _prepare_twice()  # the parent's session is as it left it
    assert connection.connection.info.backend_pid == parent_session


def test_a_forked_child_gets_working_executors_for_sync_code() -> None:
    """asgiref's executor for sync code, used in the parent before the fork,
    still runs the child's sync calls (it would wait for a worker thread that
    the fork did not copy)."""
    import asyncio
    import select
    import threading

    from asgiref.sync import sync_to_async

    def where() -> int:
        return threading.get_ident()

    async def call() -> int:
        return await sync_to_async(where, thread_sensitive=True)()

    # From an event loop with no sync caller (as in a server), thread-
    # sensitive calls go to asgiref's single-thread executor, which now has
    # its worker thread.
    asyncio.run(call())
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            asyncio.run(call())
            os.write(write, b"ok")
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    ready, _, _ = select.select([read], [], [], 20)
    got = os.read(read, 8) if ready else b""
    os.close(read)
    if not got:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    assert got == b"ok", "the child's sync call never ran"
