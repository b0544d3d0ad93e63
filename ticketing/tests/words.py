"""What a page shows for a translatable text, for tests that must stay right
before and after the .po files get the translation."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.html import escape


def shown(text: str, language: str = "es", **params: Any) -> str:
    """``text`` as a page in ``language`` (es: the default) shows it, escaped as in the HTML."""
    with translation.override(language):
        words = translation.gettext(text)
    return escape(words % params if params else words)
