"""When psycopg's cache of prepared statements and the server disagree
("prepared statement already exists"), the inventory answers Busy (nothing
written, try again) and the next attempt works: the cache is reset."""

from __future__ import annotations

import pytest
from django.db import connection

from inventory.services.locking import Busy, inventory_transaction

pytestmark = pytest.mark.django_db(transaction=True)

SQL = "SELECT count(*) FROM inventory_item WHERE id > %s"


def test_a_prepared_statement_the_server_already_has_gives_busy_then_works() -> None:
    with inventory_transaction() as cursor:
        for _ in range(2):  # prepared on its second run (prepare_threshold 1)
            cursor.execute(SQL, [0])
            cursor.fetchone()
    manager = connection.connection._prepared
    assert manager._names, "the statement is prepared"
    # Put the client out of step: it forgets the statement and would name the
    # next one as the server already has it.
    key = next(iter(manager._names))
    manager._names.clear()
    manager._counts[key] = 5
    manager._prepared_idx -= 1
    with pytest.raises(Busy), inventory_transaction() as cursor:
        cursor.execute(SQL, [0])
    with inventory_transaction() as cursor:
        cursor.execute(SQL, [0])
        assert cursor.fetchone() is not None
