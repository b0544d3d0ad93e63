"""Admin logins: after AXES_FAILURE_LIMIT wrong passwords for one username
from one address, that pair is locked out with a clear message."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def _login(client: Client, password: str, address: str = "198.51.100.5", language: str = "es"):  # type: ignore[no-untyped-def]
    return client.post(
        LOGIN,
        {"username": "promoter", "password": password},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE=language,
    )


def test_five_wrong_passwords_lock_the_account_from_that_address(promoter, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    for _ in range(4):
        assert _login(client, "wrong").status_code == 200  # the login form again, with its error
    assert _login(client, "wrong").status_code == 429  # the fifth failure locks
    locked = _login(client, "pw-promoter-1")  # even the right password, now
    assert locked.status_code == 429 and int(locked["Retry-After"]) >= 60
    with translation.override("es"):
        assert translation.gettext("Too many failed logins") in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # The same promoter from another address is not locked out.
    other = Client()
    assert _login(other, "pw-promoter-1", address="203.0.113.77").status_code == 302


def test_a_success_resets_the_count(promoter, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        _login(client, "wrong")
    assert _login(client, "pw-promoter-1").status_code == 302
    client.logout()
    for _ in range(2):
        _login(client, "wrong")
    assert _login(client, "pw-promoter-1").status_code == 302
