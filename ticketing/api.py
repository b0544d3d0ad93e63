"""The JSON API's shared shapes: every error is {"error": code, "detail": text}."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest

from ticketing.errors import DomainError
from ticketing.inputs import json_problem


class RequestError(DomainError):
    """The request itself cannot be used (shape, type, size): the API layer's
    own refusals, before any service runs."""


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or RequestError."""
    if request.content_type != "application/json":
        raise RequestError("Send a JSON body with Content-Type: application/json.", code="bad_content_type")
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"The body is not valid JSON: {str(exc)[:120]}", code="malformed_json") from exc
    except RecursionError as exc:
        raise RequestError("The body is nested too deeply.", code="malformed_json") from exc
    if not isinstance(data, dict):
        raise RequestError("The body must be a JSON object.", code="malformed_json")
    problem = json_problem(data)
    if problem:
        raise RequestError(problem, code="invalid_text")
    return data


def reject_unknown_fields(data: dict[str, Any], allowed: frozenset[str] | set[str]) -> None:
    """RequestError unknown_fields when the body has a field no one reads:
    a misspelt field must not be silently ignored."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise RequestError(f"Unknown fields: {', '.join(unknown)}.", code="unknown_fields")
