"""Every answer carries the same security headers, whoever makes it (Django,
the queue's raw-ASGI fast path, the probes, the body limit); cookies are
SameSite everywhere and Secure in production; `check --deploy` is clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from queueroom import selectors, services
from queueroom.tests.conftest import _clean_queue_state  # noqa: F401 - an empty queue key space per test
from ticketing.tests import asgi

pytestmark = pytest.mark.django_db

SECURITY = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")
SECURITY += ("cross-origin-opener-policy",)


def security(answer: asgi.Answer) -> dict[str, str]:
    return {name: answer.headers.get(name, "") for name in SECURITY}


def test_pages_api_fast_path_probes_and_refusals_carry_the_same_headers(small_event, monkeypatch):
    selectors.published_event(small_event.slug)
    services.cached_setup(small_event.pk)
    fast_joins = []
    original = services.ajoin

    async def spy(**kwargs):
        result = await original(**kwargs)
        fast_joins.append(result is not None)
        return result

    monkeypatch.setattr(services, "ajoin", spy)
    join = f"/api/v1/events/{small_event.slug}/queue/"
    answers = {
        "page": asgi.request("GET", "/"),
        "api": asgi.request("GET", "/api/v1/events/"),
        "fast path": asgi.request("POST", join, headers=[(b"content-type", b"application/json")]),
        "healthz": asgi.request("GET", "/healthz"),
        "readyz": asgi.request("GET", "/readyz"),
        "413": asgi.request("POST", join, headers=[(b"content-length", b"99999999")]),
    }
    assert fast_joins == [True]
    expected = security(answers["page"])
    assert all(expected.values()), expected
    assert "default-src 'self'" in expected["content-security-policy"]
    assert "frame-ancestors 'none'" in expected["content-security-policy"]
    for name, answer in answers.items():
        assert security(answer) == expected, name


def test_hsts_is_sent_over_https_by_everyone(small_event, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    for path in ("/", "/api/v1/events/", "/healthz"):
        answer = asgi.request("GET", path, scheme="https")
        assert answer.headers.get("strict-transport-security", "").startswith("max-age=3600"), path
    assert "strict-transport-security" not in asgi.request("GET", "/healthz").headers


def test_no_answer_names_a_server_version(small_event):
    for path in ("/", "/api/v1/events/", "/healthz"):
        assert "server" not in asgi.request("GET", path).headers


def _cookies(fan) -> list[str]:
    return [morsel.OutputString() for morsel in fan.cookies.values()]


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_every_cookie_is_samesite_and_secure_in_production(fan, small_event, settings, production):
    from queueroom.testing import grant_store_pass

    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.LANGUAGE_COOKIE_SECURE = production
    fan.get("/")  # fan id
    fan.post("/i18n/setlang/", {"language": "ca", "next": "/"})  # language
    fan.get(f"/events/{small_event.slug}/queue/")  # csrf token for the join form
    fan.post(f"/api/v1/events/{small_event.slug}/queue/", None, content_type="application/json")
    grant_store_pass(fan, small_event)
    names = set(fan.cookies)
    assert {"fan_id", settings.LANGUAGE_COOKIE_NAME, "csrftoken"} <= names
    for name, morsel in fan.cookies.items():
        if name.startswith("qpass_"):
            continue  # set by the test helper, not by the server
        assert morsel["samesite"] == "Lax", name
        assert bool(morsel["secure"]) is production, name


def test_the_pass_cookie_is_samesite_and_secure_in_production(fan, small_event, settings):
    import time

    settings.SESSION_COOKIE_SECURE = True
    services.tick(event=small_event, now=time.time() - 2)
    token = fan.post(f"/api/v1/events/{small_event.slug}/queue/", None, content_type="application/json").json()
    services.tick(event=small_event, now=time.time() - 1)
    response = fan.get(f"/api/v1/queue/{token['token']}/")
    morsel = next(m for name, m in response.cookies.items() if name.startswith("qpass_"))
    assert (morsel["samesite"], bool(morsel["secure"]), bool(morsel["httponly"])) == ("Lax", True, True)


def test_check_deploy_is_clean_with_production_settings():
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "DEBUG": "0",
        "SECRET_KEY": "k2V-9rTq_Wz4xLp7Ym3Nb8Hc6Jd5Fs1Ga0Eu-XoQiRwYtUvKlMnBz9Cx",
        "ALLOWED_HOSTS": "tickets.example.com",
    }
    for name in ("SECURE_COOKIES", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
