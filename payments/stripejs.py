"""Where the checkout page loads Stripe.js from, and the CSP that page needs.

Real Stripe serves Stripe.js at https://js.stripe.com/v3/; localstripe (make
run, the tests) serves its own test Stripe.js at
``<STRIPE_API_BASE>/js.stripe.com/v3/``, whose fake card fields and 3-D Secure
prompt talk to the emulator. ``STRIPE_JS_URL`` overrides the choice.

Only the checkout page loads it, so only that page's Content-Security-Policy
names the Stripe origins (``csp_update``): every other page keeps the site's
"'self' only" policy from settings.CONTENT_SECURITY_POLICY.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

REAL_API = "https://api.stripe.com"
REAL_JS = "https://js.stripe.com/v3/"
# Stripe.js opens the bank's 3-D Secure page in a frame from here.
REAL_3DS_FRAMES = "https://hooks.stripe.com"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _is_real_stripe(api_base: str) -> bool:
    return _origin(api_base) == REAL_API


def is_test_mode() -> bool:
    """Test keys (localstripe's, or a Stripe test account's): the page may
    name the test cards."""
    return str(settings.STRIPE_PUBLISHABLE_KEY).startswith("pk_test_")


def script_url() -> str:
    """The Stripe.js the checkout page loads."""
    if settings.STRIPE_JS_URL:
        return str(settings.STRIPE_JS_URL)
    base = str(settings.STRIPE_API_BASE).rstrip("/")
    return REAL_JS if _is_real_stripe(base) else f"{base}/js.stripe.com/v3/"


def csp_update() -> dict[str, list[str]]:
    """The sources the checkout page adds to the site's policy, and no more:
    Stripe.js's origin for its script and its card frames, the API origin it
    calls (localstripe: the same origin for all three; real Stripe adds its
    3-D Secure frame origin)."""
    js = _origin(script_url())
    frames = [js, REAL_3DS_FRAMES] if js == _origin(REAL_JS) else [js]
    return {
        "script-src": [js],
        "frame-src": frames,
        "connect-src": [_origin(str(settings.STRIPE_API_BASE))],
    }
