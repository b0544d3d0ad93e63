"""Expected refusals do not fill the log; server errors still do."""

import json
import logging

import pytest

from queueroom.testing import grant_store_pass

pytestmark = pytest.mark.django_db


def test_a_refused_hold_is_not_a_warning_but_a_server_error_is(fan, second_fan, small_event, caplog):
    grant_store_pass(fan, small_event)
    grant_store_pass(second_fan, small_event)
    body = json.dumps({"section": "PISTA", "quantity": 4})
    url = f"/api/v1/events/{small_event.slug}/holds/"
    assert fan.post(url, body, content_type="application/json").status_code == 201
    with caplog.at_level(logging.INFO, logger="django.request"):
        for _ in range(3):
            assert fan.post(url, body, content_type="application/json").status_code == 409  # over the cap
        assert fan.put(url).status_code == 405
        assert fan.get("/api/v1/nothing/").status_code == 404
    assert [r for r in caplog.records if r.name == "django.request" and r.levelno >= logging.INFO] == []

    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error", None, None)
    record.status_code = 500
    from ticketing.logfilters import ExpectedRefusals

    assert ExpectedRefusals().filter(record) is True and record.levelno == logging.ERROR
