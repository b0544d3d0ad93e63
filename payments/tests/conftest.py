"""Fixtures of the payments tests: every test talks to the private
localstripe of its pytest worker (``localstripe_url``, in the root conftest)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _psp(settings, localstripe_url):  # type: ignore[no-untyped-def]
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    settings.STORE_ACCESS_CHECK = ""
