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
