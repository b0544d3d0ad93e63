import pytest


@pytest.fixture(autouse=True)
def _store_door_open(settings):  # type: ignore[no-untyped-def]
    """These tests exercise the store itself. The waiting room's door in front
    of it (settings.STORE_ACCESS_CHECK) is tested end to end in
    queueroom/tests/test_store_door.py; inventory never imports queueroom."""
    settings.STORE_ACCESS_CHECK = ""
