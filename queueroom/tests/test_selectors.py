"""The waiting room's per-process event cache stays bounded whatever slugs clients send."""

from __future__ import annotations

import secrets

import pytest

from queueroom import selectors

pytestmark = pytest.mark.django_db


def test_thousands_of_random_slugs_leave_the_event_cache_at_its_bound(small_event) -> None:  # type: ignore[no-untyped-def]
    bound = selectors._by_slug.maxsize
    for _ in range(3 * bound):
        assert selectors.published_event(secrets.token_hex(30)) is None
    assert len(selectors._by_slug) <= bound
    # The real event is still found (and then cached) among the junk.
    assert selectors.published_event(small_event.slug).pk == small_event.pk
    assert selectors.peek_published_event(small_event.slug).pk == small_event.pk


@pytest.mark.parametrize("slug", ["x" * 4000, "x" * 121, "bad slug", "a/b", "nul\x00", "\ud800", ""])
def test_a_slug_no_event_can_have_costs_no_query_and_is_not_cached(slug, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_num_queries(0):
        assert selectors.published_event(slug) is None
    assert len(selectors._by_slug) == 0


def test_the_store_event_cache_refuses_impossible_slugs_too(settings, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    from inventory import selectors as store

    settings.INVENTORY_EVENT_CACHE_SECONDS = 5
    with django_assert_num_queries(0):
        assert store.store_event("x" * 4000) is None
    assert len(store._STORE_EVENTS) == 0
