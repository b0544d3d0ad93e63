"""The clocks the store pages count down (static/js/countdown.js takes over
in the browser; without JavaScript the server's value is what the fan sees)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()


def clock(left: dt.timedelta) -> str:
    """HH:MM:SS, the format static/js/countdown.js counts down in."""
    seconds = max(0, int(left.total_seconds()))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@register.filter
def time_left(ends_at: dt.datetime | None) -> str:
    return clock(ends_at - timezone.now()) if ends_at else ""
