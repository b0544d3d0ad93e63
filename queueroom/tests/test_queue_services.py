"""Joining, order, admission, offers and leases, on real Redis with controlled time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from inventory.models import Event, InventoryItem, ItemStatus, Order, OrderStatus
from queueroom import passes, services
from queueroom.models import Lane, PresaleCode
from queueroom.shuffle import Permutation
from queueroom.tests.conftest import join_many

pytestmark = pytest.mark.django_db


def _set(event: Event, **fields: int) -> None:
    Event.objects.filter(pk=event.pk).update(**fields)
    event.refresh_from_db()
    services.forget_setup(event.pk)


def _open(event: Event, now: float) -> None:
    """The first tick after sale start opens the lanes."""
    assert services.tick(event=event, now=now) is not None


def test_joining_twice_returns_the_same_token_and_place(small_event, now) -> None:
    first, created = services.join(event=small_event, fan_id="fan-a", now=now)
    again, created_again = services.join(event=small_event, fan_id="fan-a", now=now + 5)
    other, _ = services.join(event=small_event, fan_id="fan-b", now=now + 6)
    assert created and not created_again
    assert again.token == first.token and again.ticket == first.ticket == 1
    assert other.ticket == 2 and other.token != first.token


def test_after_opening_fans_are_served_in_arrival_order(small_event, now) -> None:
    _set(small_event, admission_rate_per_minute=60)
    _open(small_event, now)
    fans = join_many(small_event, 5, now=now)
    assert [services.status(token=f.token, fan_id=None, now=now).position for f in fans] == [1, 2, 3, 4, 5]
    offered = []
    for second in range(1, 6):
        services.tick(event=small_event, now=now + second)
        for i, f in enumerate(fans):
            s = services.status(token=f.token, fan_id=None, now=now + second, claim=False)
            if s.status == services.OFFERED and i not in offered:
                offered.append(i)
    assert offered == [0, 1, 2, 3, 4]


def test_fans_joining_after_opening_before_any_tick_wait_in_arrival_order(small_event, now) -> None:
    """The pre-queue ends at the announced opening time, decided in the join
    itself: no fan who arrives after it lands in the pre-queue or in the
    shuffle, even before the admitter's first tick."""
    _set(small_event, admission_rate_per_minute=600)
    assert small_event.sale_opens_at.timestamp() < now
    fans = [services.join(event=small_event, fan_id=f"fan-{i}", now=now + i * 0.05)[0] for i in range(30)]
    assert {f.status for f in fans} == {services.WAITING}
    assert [f.position for f in fans] == list(range(1, 31))
    assert [services.status(token=f.token, fan_id=None, now=now + 2).place for f in fans] == list(range(1, 31))
    services.tick(event=small_event, now=now + 2)
    offered = [
        i
        for i, f in enumerate(fans)
        if services.status(token=f.token, fan_id=None, now=now + 2, claim=False).status == services.OFFERED
    ]
    assert offered == list(range(10))


def test_pre_queue_is_shuffled_once_at_opening_and_verifies(future_event, capsys) -> None:
    before = future_event.sale_opens_at.timestamp() - 3600
    fans = join_many(future_event, 40, now=before)
    assert {services.status(token=f.token, fan_id=None, now=before).status for f in fans} == {services.PRE_QUEUE}
    opening = future_event.sale_opens_at.timestamp()
    _open(future_event, opening)
    late = services.join(event=future_event, fan_id="late", now=opening + 1)[0]
    places = [services.status(token=f.token, fan_id=None, now=opening + 1).place for f in fans]
    assert sorted(places) == list(range(1, 41))  # nothing lost or duplicated
    assert places != list(range(1, 41))
    assert services.status(token=late.token, fan_id=None, now=opening + 1).place == 41  # then arrival order
    lane = Lane.objects.get(event=future_event, kind=Lane.Kind.GENERAL)
    assert places == [Permutation(lane.shuffle_key, 40).place(t) for t in range(1, 41)]
    call_command("verify_shuffle", event=future_event.slug)
    assert "OK: the key matches the commitment; 40 pre-queue tickets" in capsys.readouterr().out
    # Admission follows the shuffled order.
    services.tick(event=future_event, now=opening + 2)
    first = fans[places.index(1)]
    assert services.status(token=first.token, fan_id=None, now=opening + 2, claim=False).status == services.OFFERED


def test_admission_honours_the_rate(small_event, now) -> None:
    _set(small_event, admission_rate_per_minute=120, max_in_store=1000)
    _open(small_event, now)
    join_many(small_event, 50, now=now)
    admitted = [services.tick(event=small_event, now=now + s)["admitted"] for s in range(1, 11)]
    assert admitted == [2] * 10
    assert services.state_document(small_event.pk)["offers"] == 20


def test_admission_honours_capacity_and_counts_leases(small_event, now) -> None:
    _set(small_event, admission_rate_per_minute=6000, max_in_store=3)
    _open(small_event, now)
    fans = join_many(small_event, 10, now=now)
    assert services.tick(event=small_event, now=now + 1)["admitted"] == 3
    # Claiming turns the offers into leases: still no room.
    for i in range(3):
        assert services.status(token=fans[i].token, fan_id=f"fan-{i}", now=now + 2).status == services.ADMITTED
    doc = services.tick(event=small_event, now=now + 3)
    assert (doc["admitted"], doc["in_store"], doc["offers"]) == (0, 3, 0)
    # A fan who leaves the store frees a place on the next tick.
    services.leave(token=fans[0].token, fan_id="fan-0", now=now + 4)
    assert services.tick(event=small_event, now=now + 5)["admitted"] == 1


def test_unclaimed_offers_expire_and_the_slot_goes_to_the_next_fan(small_event, now, settings) -> None:
    _set(small_event, admission_rate_per_minute=6000, max_in_store=1)
    _open(small_event, now)
    a, b = join_many(small_event, 2, now=now)
    services.tick(event=small_event, now=now + 1)
    assert services.status(token=a.token, fan_id=None, now=now + 1).status == services.OFFERED
    assert services.tick(event=small_event, now=now + 2)["admitted"] == 0
    late = now + 1 + settings.QUEUE_OFFER_TTL_SECONDS + 1
    services.heartbeat(token=b.token, fan_id="fan-1", now=late - 1)
    assert services.tick(event=small_event, now=late)["admitted"] == 1
    expired = services.status(token=a.token, fan_id="fan-0", now=late)
    assert (expired.status, expired.reason) == (services.CLOSED, "offer_expired")
    assert services.status(token=b.token, fan_id="fan-1", now=late).status == services.ADMITTED
    # The fan who missed the turn may join again, at the back.
    again, created = services.join(event=small_event, fan_id="fan-0", now=late)
    assert created and again.ticket == 3


def test_fans_without_heartbeat_lose_their_place_without_wasting_a_slot(small_event, now, settings) -> None:
    _set(small_event, admission_rate_per_minute=60, max_in_store=100)
    _open(small_event, now)
    gone, stays = join_many(small_event, 2, now=now)
    later = now + settings.QUEUE_GRACE_SECONDS + 10
    services.heartbeat(token=stays.token, fan_id="fan-1", now=later - 5)
    assert services.tick(event=small_event, now=later)["admitted"] == 1
    assert services.status(token=gone.token, fan_id=None, now=later).reason == "no_heartbeat"
    assert services.status(token=stays.token, fan_id=None, now=later, claim=False).status == services.OFFERED


def test_pause_and_rate_changes_apply_on_the_next_tick(small_event, now) -> None:
    _set(small_event, admission_rate_per_minute=60)
    _open(small_event, now)
    join_many(small_event, 20, now=now)
    services.set_paused(event=small_event, paused=True)
    doc = services.tick(event=small_event, now=now + 1)
    assert doc["paused"] and doc["admitted"] == 0
    services.set_paused(event=small_event, paused=False)
    services.set_admission(event=small_event, rate_per_minute=300)
    small_event.refresh_from_db()
    assert services.tick(event=small_event, now=now + 2)["admitted"] == 5


def test_sold_out_closes_the_queue(small_event, now) -> None:
    _open(small_event, now)
    waiting = join_many(small_event, 3, now=now)[2]
    sold_at = dt.datetime.now(dt.UTC)
    order = Order.objects.create(event=small_event, owner="x", status=OrderStatus.PAID, paid_at=sold_at)
    InventoryItem.objects.filter(event=small_event).update(
        status=ItemStatus.SOLD, sold_to="x", sold_at=sold_at, order=order
    )
    assert services.tick(event=small_event, now=now + 1)["closed"] is True
    s = services.status(token=waiting.token, fan_id=None, now=now + 1)
    assert (s.status, s.reason) == (services.CLOSED, "sold_out")
    assert services.join(event=small_event, fan_id="newcomer", now=now + 2)[0].status == services.CLOSED


def test_lanes_share_admissions_by_weight_and_presale_codes_are_limited(future_event) -> None:
    lane = Lane.objects.create(event=future_event, name="Fan club", kind=Lane.Kind.PRIORITY, weight=3)
    PresaleCode.objects.create(lane=lane, code="LUX", max_uses=5)
    _set(future_event, admission_rate_per_minute=240, max_in_store=1000)
    t = future_event.sale_opens_at.timestamp() + 10
    _open(future_event, t)
    presale = [services.join(event=future_event, fan_id=f"p{i}", code="LUX", now=t)[0] for i in range(5)]
    assert {s.lane for s in presale} == {lane.pk}
    with pytest.raises(services.QueueError) as exc:
        services.join(event=future_event, fan_id="p-extra", code="LUX", now=t)
    assert exc.value.code == "code_used_up"
    # Joining again with the code does not use it up.
    services.join(event=future_event, fan_id="p0", code="LUX", now=t)
    assert PresaleCode.objects.get(lane=lane).used == 5
    join_many(future_event, 10, now=t, prefix="g")
    doc = services.tick(event=future_event, now=t + 1)
    shares = {lane_id: lane_doc["admitted"] for lane_id, lane_doc in doc["lanes"].items()}
    assert shares[str(lane.pk)] == 3 and sum(shares.values()) == 4


def test_presale_code_moves_a_waiting_fan_from_the_general_line_to_the_priority_lane(future_event) -> None:
    lane = Lane.objects.create(event=future_event, name="Fan club", kind=Lane.Kind.PRIORITY, weight=3)
    PresaleCode.objects.create(lane=lane, code="LUX", max_uses=1)
    _set(future_event, admission_rate_per_minute=60, max_in_store=1000)
    t = future_event.sale_opens_at.timestamp() + 10
    _open(future_event, t)
    ahead = join_many(future_event, 3, now=t, prefix="g")
    general, _ = services.join(event=future_event, fan_id="fan", now=t)
    assert general.position == 4

    with pytest.raises(services.QueueError) as bad:
        services.join(event=future_event, fan_id="fan", code="NOPE", now=t + 1)
    assert bad.value.code == "invalid_code"
    kept = services.join(event=future_event, fan_id="fan", now=t + 1)[0]
    assert (kept.token, kept.lane) == (general.token, general.lane)  # a bad code changes nothing

    moved, created = services.join(event=future_event, fan_id="fan", code="LUX", now=t + 2)
    assert created and moved.lane == lane.pk and moved.position == 1
    assert PresaleCode.objects.get(lane=lane).used == 1
    assert services.find_place(event=future_event, fan_id="fan") == moved.token
    # The general place is given up: the fans behind it move up, and it is never offered.
    behind, _ = services.join(event=future_event, fan_id="after", now=t + 3)
    assert behind.position == 4
    assert services.status(token=ahead[2].token, fan_id=None, now=t + 3).position == 3


def test_presale_code_leaves_an_offered_place_alone(small_event, now) -> None:
    lane = Lane.objects.create(event=small_event, name="Fan club", kind=Lane.Kind.PRIORITY, weight=1)
    PresaleCode.objects.create(lane=lane, code="LUX", max_uses=5)
    _set(small_event, admission_rate_per_minute=60, max_in_store=100)
    _open(small_event, now)
    first, _ = services.join(event=small_event, fan_id="fan", now=now)
    services.tick(event=small_event, now=now + 1)
    assert services.status(token=first.token, fan_id="fan", now=now + 1, claim=False).status == services.OFFERED

    again, created = services.join(event=small_event, fan_id="fan", code="LUX", now=now + 2)
    assert not created and again.token == first.token
    assert PresaleCode.objects.get(lane=lane).used == 0


def test_pipelined_heartbeats_keep_places(small_event, now, settings) -> None:
    _set(small_event, admission_rate_per_minute=60, max_in_store=100)
    _open(small_event, now)
    fans = join_many(small_event, 3, now=now)
    later = now + settings.QUEUE_GRACE_SECONDS + 10
    services.heartbeat_many(tokens=[f.token for f in fans[1:]] + ["forged.1.1.x"], now=later - 5)
    services.tick(event=small_event, now=later)
    assert services.status(token=fans[0].token, fan_id=None, now=later).reason == "no_heartbeat"
    assert services.status(token=fans[1].token, fan_id=None, now=later, claim=False).status == services.OFFERED


def test_ending_a_store_session_frees_its_place_once(small_event, now) -> None:
    _set(small_event, admission_rate_per_minute=6000, max_in_store=1)
    _open(small_event, now)
    a, b = join_many(small_event, 2, now=now)
    services.tick(event=small_event, now=now + 1)
    admitted = services.status(token=a.token, fan_id="fan-0", now=now + 1)
    claims = passes.verify_pass(admitted.store_pass or "", event_id=small_event.pk, fan_id="fan-0", now=now + 1)
    assert services.tick(event=small_event, now=now + 2)["admitted"] == 0
    assert services.end_session(store_pass=claims) is True
    assert services.end_session(store_pass=claims) is False
    assert services.tick(event=small_event, now=now + 3)["admitted"] == 1
    assert services.status(token=a.token, fan_id="fan-0", now=now + 3).reason == "session_ended"


def test_ending_the_session_of_a_fan_frees_its_place_once(small_event, now) -> None:
    _set(small_event, admission_rate_per_minute=6000, max_in_store=1)
    _open(small_event, now)
    a, _ = join_many(small_event, 2, now=now)
    services.tick(event=small_event, now=now + 1)
    assert services.status(token=a.token, fan_id="fan-0", now=now + 1).status == services.ADMITTED
    assert services.tick(event=small_event, now=now + 2)["admitted"] == 0
    assert services.end_session_of_fan(event_id=small_event.pk, fan_id="nobody", now=now + 2) is False
    # fan-1 waits: it has a place but no store session to end.
    assert services.end_session_of_fan(event_id=small_event.pk, fan_id="fan-1", now=now + 2) is False
    assert services.end_session_of_fan(event_id=small_event.pk, fan_id="fan-0", now=now + 2) is True
    assert services.end_session_of_fan(event_id=small_event.pk, fan_id="fan-0", now=now + 2) is False
    assert services.tick(event=small_event, now=now + 3)["admitted"] == 1
