"""Catalan and Spanish fans read every string of the fan pages in their language."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ["ca", "es"]


def po_entries(path: Path) -> list[dict[str, object]]:
    """A small reader for the .po files makemessages writes: each entry's
    flags, msgid, msgid_plural and msgstr (or msgstr[n]) texts."""
    entries: list[dict[str, object]] = []
    entry: dict[str, object] = {}
    key = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry:
                entries.append(entry)
            entry, key = {}, None
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["flags"] = {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] = str(entry[key]) + ast.literal_eval(line)
        else:
            key, _, text = line.partition(" ")
            entry[key] = ast.literal_eval(text)
    return [e for e in entries if not e.get("obsolete") and e.get("msgid")]


def _doubled(text: object) -> bool:
    text = str(text)
    half = len(text) // 2
    return len(text) > 1 and len(text) % 2 == 0 and text[:half] == text[half:]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated_and_none_is_a_guess(language):
    entries = po_entries(LOCALE / language / "LC_MESSAGES" / "django.po")
    assert len(entries) > 50
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", set())]
    missing = [e["msgid"] for e in entries if not all(v for k, v in e.items() if k.startswith("msgstr"))]
    doubled = [e["msgid"] for e in entries if any(_doubled(v) for k, v in e.items() if k.startswith("msgstr"))]
    assert fuzzy == []
    assert missing == []
    assert doubled == []  # a translation pasted twice


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_the_po_file(language):
    directory = LOCALE / language / "LC_MESSAGES"
    with open(directory / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for entry in po_entries(directory / "django.po"):
        if "msgid_plural" in entry:
            forms = {v for k, v in entry.items() if k.startswith("msgstr[")}
            for n in (1, 2, 5, 1_000_000):  # every plural form the language's rule can pick
                assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], n) in forms
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"], "run: python manage.py compilemessages"
