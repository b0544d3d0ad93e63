"""The admitter killed (docs/failures.md, "The admitter dies").

Two real admitters (``manage.py run_admitter``, as on two hosts); one holds
the Redis leader lock and ticks, the other waits. The leader is killed with
SIGKILL, so it never releases the lock; fans join while nobody ticks. The
lock expires (3 s) and the other admitter takes over, and admits every
fan exactly once, in the order they joined: watched place by place while it
happens, the fans admitted so far are always the first ones in the line,
and no offer is ever made twice (an offer made again would get a new
expiry, and the lane's front would run past the fans).

(The lock itself, between threads: queueroom/tests/test_concurrency.py.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from inventory.models import Event
from queueroom import keys
from queueroom import redis_scripts as rs
from queueroom import services as queue
from queueroom.tests.conftest import join_many
from ticketing.tests.failures import leader_pid, running, start_admitter, wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # the admitters read what the test committed

FANS = 10


def test_the_other_admitter_takes_over_and_admits_each_place_once_in_order(small_event, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    Event.objects.filter(pk=small_event.pk).update(admission_rate_per_minute=120, max_in_store=100)  # 2 a tick
    small_event.refresh_from_db()
    queue.forget_setup(small_event.pk)
    assert queue.tick(event=small_event, now=time.time()) is not None  # opens the lanes: places in join order
    client = rs.client()
    client.sadd(keys.active(), small_event.pk)
    lane = queue.cached_setup(small_event.pk).general.id

    admitters = [start_admitter(logs=tmp_path, name=f"admitter-{i}") for i in range(2)]
    with running(*admitters):
        by_pid = {a.pid: a for a in admitters}
        first = wait_for(lambda: leader_pid() in by_pid and leader_pid(), what="one admitter leads")
        last_tick = float(client.hget(keys.meta(small_event.pk), "last_t") or 0)
        wait_for(
            lambda: float(client.hget(keys.meta(small_event.pk), "last_t") or 0) > last_tick,
            what="the leader ticks",
            context=lambda: (
                f"{by_pid[first].output()}\nmeta {client.hgetall(keys.meta(small_event.pk))}"
                f" active {client.smembers(keys.active())} leader {client.get(keys.leader())} event {small_event.pk}"
            ),
        )

        by_pid[first].kill()  # kill -9: the lock is not released
        killed_at = time.monotonic()
        fans = join_many(small_event, FANS, now=time.time())
        assert [f.ticket for f in fans] == list(range(1, FANS + 1))
        (other,) = set(by_pid) - {first}

        tickets = [keys.ticket(small_event.pk, lane, n) for n in range(1, FANS + 1)]
        offers: dict[int, str] = {}  # ticket → the expiry of its offer, when first seen

        def all_admitted() -> bool:
            pipe = client.pipeline(transaction=False)
            for key in tickets:
                pipe.hmget(key, ["st", "oexp"])
            seen = pipe.execute()
            admitted = [n for n, (st, _) in enumerate(seen, start=1) if st != "W"]
            assert admitted == list(range(1, len(admitted) + 1)), f"not in order: {admitted}"
            for n, (st, oexp) in enumerate(seen, start=1):
                assert st in ("W", "O"), f"place {n}: {st}"  # none skipped (X), none claimed by anyone
                if st == "O":
                    assert offers.setdefault(n, oexp) == oexp, f"place {n} offered twice"
            return len(admitted) == FANS

        wait_for(all_admitted, what="the other admitter admits every fan", every=0.05, context=by_pid[other].output)
        taken_over = time.monotonic() - killed_at
        assert leader_pid() == other
        assert by_pid[other].alive()

    assert client.hget(keys.lane(small_event.pk, lane), "front") == str(FANS)
    assert set(client.zrange(keys.offers(small_event.pk), 0, -1)) == {keys.place(lane, n) for n in range(1, FANS + 1)}
    print(f"the other admitter had admitted all {FANS} fans {taken_over:.1f} s after the leader was killed")
