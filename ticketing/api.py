"""The JSON API's shared shapes: every error is {"error": code, "detail": text}."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse

from ticketing.inputs import json_problem


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra

    def response(self) -> JsonResponse:
        return error_response(self.status, self.code, self.detail, **self.extra)


def error_response(status: int, code: str, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail, **extra}, status=status)


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or ApiError 400."""
    if request.content_type != "application/json":
        raise ApiError(
            415 if request.body else 400, "bad_content_type", "Send a JSON body with Content-Type: application/json."
        )
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {str(exc)[:120]}") from exc
    except RecursionError as exc:
        raise ApiError(400, "malformed_json", "The body is nested too deeply.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "The body must be a JSON object.")
    problem = json_problem(data)
    if problem:
        raise ApiError(400, "invalid_text", problem)
    return data
