"""Dates as each language writes them. Django's own formats are close but
not right for fans: Catalan "13 abril de 2026" and "Dilluns" (Catalan writes
"dilluns, 13 d'abril de 2026"), Spanish without the "de" in a custom format."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import get_language

register = template.Library()

_CA_ELIDED = ("abril", "agost", "octubre")


@register.filter
def fan_date(value: dt.datetime | None, style: str = "") -> str:
    """``{{ d|fan_date }}``: 13 de abril de 2026, 21:00; ``{{ d|fan_date:"weekday" }}``
    adds the day's name in front; ``{{ d|fan_date:"short" }}`` is for lists:
    lun 13 abr 2026 · 21:00."""
    if value is None:
        return ""
    value = timezone.localtime(value) if timezone.is_aware(value) else value
    language = (get_language() or "en").split("-")[0]
    if style == "short":
        return _short(value, language)
    day, month, year, time = value.day, date_format(value, "F"), value.year, date_format(value, "H:i")
    if language == "ca":
        month = month.lower()
        text = f"{day} {'d’' if month.startswith(_CA_ELIDED) else 'de '}{month} de {year}, {time}"
    elif language == "es":
        text = f"{day} de {month.lower()} de {year}, {time}"
    else:
        text = f"{day} {month} {year}, {time}"
    if style == "weekday":
        weekday = date_format(value, "l")
        text = f"{weekday.lower() if language in ('ca', 'es') else weekday}, {text}"
    return text


def _short(value: dt.datetime, language: str) -> str:
    """Abbreviated day and month as the language writes them in running text:
    lower case in Catalan and Spanish (Django's "M" capitalises "Dic", "Des.")."""
    month = date_format(value, "M") if language == "en" else date_format(value, "b")
    return f"{date_format(value, 'D')} {value.day} {month} {value.year} · {date_format(value, 'H:i')}"
