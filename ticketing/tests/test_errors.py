"""One error vocabulary: every code the apps raise has an HTTP status in one
table, and every refusal a store page can meet has the fan's words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from inventory.services import holds, idempotency
from inventory.services.locking import Busy
from ticketing.error_texts import TEXTS, fan_message
from ticketing.errors import STATUS_BY_CODE, DomainError, domain_error_response

ROOT = Path(settings.BASE_DIR)
# code="x" / code = "x" / QueueError(403, "x" / error_json("x" in production code
CODE = re.compile(r'(?:\bcode\s*=\s*|QueueError\(\d+,\s*|error_json\(|error_response\(\d+,\s*)"([a-z_]+)"')


def _codes_in_the_apps() -> set[str]:
    found = set()
    for app in ("inventory", "queueroom", "payments", "ticketing"):
        for path in (ROOT / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            found |= set(CODE.findall(path.read_text()))
    return found


def test_every_code_raised_in_the_apps_has_its_http_status_in_the_one_table():
    codes = _codes_in_the_apps()
    assert len(codes) > 20, codes  # the scan itself works
    assert codes - set(STATUS_BY_CODE) == set()


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def test_every_app_error_is_a_domain_error():
    from inventory.access import StoreAccessDenied
    from inventory.services.catalog import CatalogError
    from queueroom.services import QueueError
    from ticketing.api import RequestError

    for cls in (holds.HoldError, Busy, StoreAccessDenied, CatalogError, QueueError, RequestError):
        assert issubclass(cls, DomainError), cls


def test_every_refusal_of_a_hold_has_the_fans_words():
    codes = {cls.code for cls in _subclasses(holds.HoldError)} | {idempotency.KeyReused.code, Busy.code}
    codes -= {"invalid_request"}  # the base: its subclasses name the reason
    assert codes - set(TEXTS) == set()


@pytest.mark.parametrize(
    ("exc", "status", "retry_after"),
    [
        (holds.SeatsUnavailable([3, 1]), 409, None),
        (holds.LimitReached("over", allowed=1), 409, None),
        (idempotency.KeyReused("reused"), 422, None),
        (Busy(), 503, "1"),
        (DomainError("x", code="unavailable", retry_after=5), 503, "5"),
    ],
)
def test_a_domain_error_answers_its_status_code_and_extras(exc, status, retry_after):
    response = domain_error_response(exc)
    assert response.status_code == status
    import json

    body = json.loads(response.content)
    assert body["error"] == exc.code and body["detail"] == exc.detail
    assert {k: body[k] for k in exc.extra} == exc.extra
    assert response.get("Retry-After") == retry_after


@pytest.mark.parametrize(
    ("language", "words"),
    [("es", "otra persona ha cogido 2 de tus asientos"), ("ca", "algú altre ha agafat 2 dels teus seients")],
)
def test_pages_speak_the_fans_language_not_the_services_detail(language, words):
    with translation.override(language):
        text = fan_message(holds.SeatsUnavailable([1, 2]))
    assert words in text
    assert "pick others" not in text


def test_an_unknown_code_still_gets_plain_words():
    with translation.override("es"):
        assert (
            fan_message(DomainError("developer text", code="no_such_code")) == "No ha funcionado. Vuelve a intentarlo."
        )
