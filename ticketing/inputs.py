"""What a request may carry, and how much of it an error may show back.

PostgreSQL text cannot hold NUL, UTF-8 cannot encode a lone surrogate, and
Python's JSON parser recurses once per nesting level: any of them reaching
a query or a parser used to be a 500. These checks turn them into a 400 at
the edge, before anything is read from or written to a database.
"""

from __future__ import annotations

from typing import Any

MAX_SHOWN = 40  # characters of a client's value an error message repeats
MAX_JSON_DEPTH = 32


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """repr() of a client's value, cut to ``limit`` characters: an error may
    name what it refused, but never echo a megabyte back."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


def json_problem(data: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """The first reason a parsed JSON document cannot be used, or None.
    Iterative, so a deep document cannot exhaust the stack here either."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                return f"A text value {problem}."
        elif isinstance(node, dict | list):
            if depth > max_depth:
                return f"The body is nested more than {max_depth} levels deep."
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in items:
                if isinstance(key, str) and (problem := text_problem(key)):
                    return f"A field name {problem}."
                stack.append((value, depth + 1))
    return None
