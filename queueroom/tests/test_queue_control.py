"""manage.py queue_control: the runbook's pause, resume and rate (docs/operations.md)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Event
from queueroom import services
from queueroom.models import QueueConfig

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("queue_control", *args, stdout=out)
    return out.getvalue()


def test_pause_applies_on_the_next_tick_and_resume_lifts_it(small_event, now) -> None:
    services.tick(event=small_event, now=now)
    services.join(event=small_event, fan_id="fan-1", now=now)
    assert "PAUSED" in run(small_event.slug, "--pause")
    assert QueueConfig.objects.get(event=small_event).paused
    assert services.tick(event=small_event, now=now + 1)["admitted"] == 0
    assert "admitting" in run(small_event.slug, "--resume")
    assert services.tick(event=small_event, now=now + 2)["admitted"] == 1


def test_rate_and_capacity(small_event) -> None:
    out = run(small_event.slug, "--rate", "120", "--capacity", "500")
    assert "rate 120/min, capacity 500" in out
    event = Event.objects.get(pk=small_event.pk)
    assert (event.admission_rate_per_minute, event.max_in_store) == (120, 500)


def test_all_pauses_every_event_on_sale(small_event, future_event) -> None:
    out = run("--all", "--pause")
    assert small_event.slug in out and future_event.slug in out
    assert QueueConfig.objects.filter(paused=True).count() == 2


@pytest.mark.parametrize("args", [(), ("no-such-event", "--pause"), ("demo-small", "--all")])
def test_needs_one_known_event_or_all(small_event, args) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError):
        run(*args)
