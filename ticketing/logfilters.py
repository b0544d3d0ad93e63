"""Logging filters.

Django logs every 4xx answer on ``django.request`` as a WARNING with the
request line. On an on-sale day most answers of the store are expected
refusals (seats someone else took, the per-fan cap, a rate limit, a pass
that ended): at hundreds per second they would bury the warnings that mean
something. Those are demoted to DEBUG; 5xx and unexpected 4xx stay.
"""

from __future__ import annotations

import logging

# A refusal the product gives on purpose, many times a second on a busy day.
EXPECTED_STATUSES = frozenset({400, 403, 404, 405, 409, 410, 413, 415, 422, 429})


class ExpectedRefusals(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in EXPECTED_STATUSES:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True
