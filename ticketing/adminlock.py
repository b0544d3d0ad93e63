"""The answer to a locked-out admin login (django-axes' AXES_LOCKOUT_CALLABLE):
a page in the promoter's language saying for how long, 429 + Retry-After."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def locked_out(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(
        request,
        "admin/locked_out.html",
        {"cooloff_minutes": max(1, seconds // 60), "site_header": "", "has_permission": False},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
