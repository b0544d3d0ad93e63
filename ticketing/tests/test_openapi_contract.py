"""The API contract (docs/openapi.yaml).

schemathesis sends generated requests, valid and invalid, to every described
operation of the real ASGI application (``ticketing.asgi.application``, so
the raw-ASGI queue fast path answers too) on real PostgreSQL and Redis. Every
answer must be JSON, a documented status, and match its schema and headers;
no 5xx but a documented 503. Undeclared methods must get 405 with ``Allow``.

Bounded and reproducible: a fixed number of generated examples per
operation after schemathesis' deterministic coverage cases, derandomized
generation (the same requests on every run), no shrinking, a per-request
timeout and a time budget for the whole module (~30 s on 2 cores; see
docs/api.md).
"""

from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import jsonschema_rs
import pytest
import requests
import schemathesis
from django.conf import settings
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from ticketing.asgi import application

SPEC = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
HOST = "127.0.0.1"  # allowed, and the host the queue fast path checks
EXAMPLES_PER_OPERATION = 40
REQUEST_TIMEOUT = 10.0  # seconds; a request that hangs is a failure, not a stuck run
MODULE_BUDGET = 90.0  # seconds; past it the remaining examples send nothing (and say so)


def answers_in_json(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """Every answer under /api/, wrong methods and middleware refusals
    included, is JSON, and an error is an object with "error" and "detail"."""
    if not case.operation.path.startswith("/api/"):
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.split(";")[0] == "application/json", f"not JSON: {content_type!r}"
    body = json.loads(response.content)
    if response.status_code >= 400:
        assert isinstance(body, dict) and {"error", "detail"} <= body.keys(), "an error without error/detail"


CHECKS = [
    answers_in_json,
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,
]

BODY_CHUNK = 1024


async def as_served(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The application as a server runs it: a request body arrives in
    several messages (a server hands them on as it reads the socket), not in
    the single one a test client sends; an application that raises before
    answering gets the server's bare 500."""
    if scope["type"] != "http":
        return await application(scope, receive, send)
    pending: list[dict[str, Any]] = []
    started = failed = False

    async def receive_in_chunks() -> dict[str, Any]:
        if not pending:
            message = await receive()
            if message["type"] != "http.request":
                return message  # type: ignore[no-any-return]
            body = message.get("body", b"")
            pieces = [body[i : i + BODY_CHUNK] for i in range(0, len(body), BODY_CHUNK)] or [b""]
            pending.extend({"type": "http.request", "body": piece, "more_body": True} for piece in pieces)
            pending[-1]["more_body"] = message.get("more_body", False)
        return pending.pop(0)

    async def send_unless_failed(message: dict[str, Any]) -> None:
        nonlocal started
        if failed:
            return  # the server has answered 500 and closed the connection
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await application(scope, receive_in_chunks, send_unless_failed)
    except Exception:
        if started:
            raise
        failed = True
        await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"Internal Server Error"})


schema = schemathesis.openapi.from_path(SPEC)
schema.app = as_served
schema.config.update(base_url=f"http://{HOST}")
# 503 is a documented answer (busy, unavailable, not ready; with Retry-After),
# held to its schema by the conformance checks. Any other 5xx is a bug.
schema.config.checks.not_a_server_error.expected_statuses = ["2xx", "3xx", "4xx", "503"]


@dataclass
class World:
    """Real values that generated requests use some of the time instead of
    random ones, so they get past 404 and 403 to the interesting answers."""

    slug: str = ""
    sections: list[str] = field(default_factory=list)
    seat_ids: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    session: requests.Session | None = None
    calls: int = 0
    deadline: float = 0.0
    skipped: int = 0


WORLD = World()

# Inputs that broke the service before (issue 8): NUL bytes, a slash, a value
# far too long to echo back, and a lone surrogate (in JSON bodies only: it
# cannot travel in a URL).
HOSTILE_TEXT = ["\x00", "A\x00", "a/b", "x" * 100_000]
HOSTILE_JSON_TEXT = [*HOSTILE_TEXT, "\ud800"]


def _mixed(value: Any, real: list[Any], hostile: list[Any] | None = None) -> st.SearchStrategy[Any]:
    """The generated value, a real one or a hostile one, about evenly."""
    options: list[st.SearchStrategy[Any]] = [st.just(value)]
    if real:
        options.append(st.sampled_from(real))
    if hostile:
        options.append(st.sampled_from(hostile))
    return st.one_of(options)


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> Any:
    if not path_parameters:
        return st.just(path_parameters)
    real = {"token": WORLD.tokens, "order_id": WORLD.order_ids}
    parts = {name: _mixed(value, real.get(name, [])) for name, value in path_parameters.items()}
    if "slug" in parts:  # any other slug is a 404, which the coverage cases check
        parts["slug"] = st.sampled_from([path_parameters["slug"], WORLD.slug, WORLD.slug, WORLD.slug])
    return st.fixed_dictionaries(parts)


@schema.hook
def flatmap_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> Any:
    if not query or "section" not in query:
        return st.just(query)
    return _mixed(query["section"], WORLD.sections, HOSTILE_TEXT).map(lambda code: {**query, "section": code})


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> Any:
    if not isinstance(body, dict):
        return st.just(body)
    parts: dict[str, st.SearchStrategy[Any]] = {name: st.just(value) for name, value in body.items()}
    if "section" in body:
        parts["section"] = _mixed(body["section"], WORLD.sections, HOSTILE_JSON_TEXT)
    if "code" in body or context.operation.path == "/api/v1/events/{slug}/queue/":
        parts["code"] = _mixed(body.get("code", ""), [], HOSTILE_JSON_TEXT)
    if isinstance(body.get("seat_ids"), list) and WORLD.seat_ids:
        real = st.lists(st.sampled_from(WORLD.seat_ids), min_size=1, max_size=5, unique=True)
        parts["seat_ids"] = st.one_of(st.just(body["seat_ids"]), real)
    if "quantity" in body:
        parts["quantity"] = st.one_of(st.just(body["quantity"]), st.integers(1, 5))
    return st.fixed_dictionaries(parts)


def _forget_queue_state() -> None:
    """The per-process caches and this worker's Redis keys (as queueroom's
    tests do): the event is created anew and gets a new id."""
    from queueroom import keys as queue_keys
    from queueroom import redis_scripts as rs
    from ticketing import memo

    memo.clear_all()
    c = rs.client()
    keys = list(c.scan_iter(match=f"{queue_keys.prefix()}*", count=1000))
    for i in range(0, len(keys), 500):
        c.delete(*keys[i : i + 500])


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """Built once for the module, committed (the server's threads use their
    own connections), and wiped after it: the operations see the state the
    earlier ones left, as a real client would."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        _forget_queue_state()
        try:
            # The per-fan hold limit would answer most generated holds with
            # 429 after the first minute's 60; one 429 is enough to check.
            # The event asks for no proof of work (its refusals are tested in
            # queueroom/tests/test_bots.py): the challenge answers no_challenge.
            with override_settings(HOLD_RATE_LIMIT="10000/m", QUEUE_CHALLENGE_MAX_NUMBER=0):
                yield _build_world()
        finally:
            if WORLD.skipped:
                warnings.warn(f"time budget spent: {WORLD.skipped} examples sent nothing", stacklevel=1)
            WORLD.__init__()  # type: ignore[misc]
            call_command("flush", interactive=False, verbosity=0)
            _forget_queue_state()


def _build_world() -> World:
    """The small event; a fan with a store pass, an admitted place in the
    queue, a held order and a paid one; a second fan with a waiting place;
    an order of someone else."""
    from inventory.services import holds
    from inventory.services.demo import seed_small
    from inventory.tests.helpers import seat_ids
    from queueroom import services
    from queueroom.testing import grant_store_pass

    event, _ = seed_small()
    fan, other = Client(), Client()
    grant_store_pass(fan, event)
    now = time.time()
    services.tick(event=event, now=now - 2)  # opens the general lane
    join = f"/api/v1/events/{event.slug}/queue/"
    token = fan.post(join, content_type="application/json").json()["token"]
    services.tick(event=event, now=now - 1)  # offers the fan's turn
    other_token = other.post(join, content_type="application/json").json()["token"]
    fan_id = fan.cookies[settings.FAN_COOKIE_NAME].value.split(":")[0]
    held = holds.hold_best_available(event=event, owner=fan_id, section_code="PISTA", quantity=1)
    paid = holds.hold_best_available(event=event, owner=fan_id, section_code="PISTA", quantity=1)
    holds.start_checkout(order_id=paid.order_id, owner=fan_id)
    holds.sell_order(order_id=paid.order_id)
    theirs = holds.hold_best_available(event=event, owner="someone-else", section_code="A", quantity=1)

    session = requests.Session()
    # A plain header: the cookie jar would not send cookies to an IP host.
    session.headers["Cookie"] = "; ".join(f"{name}={morsel.value}" for name, morsel in fan.cookies.items())
    WORLD.slug = event.slug
    WORLD.sections = ["A", "PISTA"]
    WORLD.seat_ids = seat_ids(event, count=50)
    WORLD.tokens = [token, other_token]
    WORLD.order_ids = [str(held.order_id), str(paid.order_id), str(theirs.order_id)]
    WORLD.session = session
    WORLD.deadline = time.monotonic() + MODULE_BUDGET
    return WORLD


# The marker makes pytest-django create the test database; the requests run
# on the server's threads and connections, outside the test's transaction.
@pytest.mark.django_db
@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_api_answers_as_documented(case: schemathesis.Case, world: World) -> None:
    if time.monotonic() > world.deadline:
        world.skipped += 1
        return
    # Every third request comes from a new browser (no cookies): the door's
    # 403, other fans' orders and places, and a first join.
    world.calls += 1
    session = world.session if world.calls % 3 else requests.Session()
    case.call_and_validate(session=session, checks=CHECKS, timeout=REQUEST_TIMEOUT)


SEATS, HOLDS, JOIN = "/api/v1/events/{slug}/seats/", "/api/v1/events/{slug}/holds/", "/api/v1/events/{slug}/queue/"
NAMED = {"\x00": "NUL", "A\x00": "A-NUL", "a/b": "slash", "\ud800": "lone-surrogate", "x" * 100_000: "100KB"}
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
HOSTILE_REQUESTS = [
    *((f"seats-section-{NAMED[v]}", "GET", SEATS, {"query": {"section": v}}) for v in HOSTILE_TEXT),
    *((f"hold-best-{NAMED[v]}", "POST", HOLDS, {"body": {"section": v, "quantity": 1}}) for v in HOSTILE_JSON_TEXT),
    *((f"hold-seats-{NAMED[v]}", "POST", HOLDS, {"body": {"seat_ids": [1], "section": v}}) for v in HOSTILE_JSON_TEXT),
    *((f"join-code-{NAMED[v]}", "POST", JOIN, {"body": {"code": v}}) for v in HOSTILE_JSON_TEXT),
    ("hold-deep-json", "POST", HOLDS, {"body": DEEP_JSON}),
    ("join-deep-json", "POST", JOIN, {"body": DEEP_JSON}),
    ("hold-over-upload-limit", "POST", HOLDS, {"body": {"section": "x" * 3_000_000, "quantity": 1}}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "parts"), [pytest.param(*r[1:], id=r[0]) for r in HOSTILE_REQUESTS])
def test_inputs_that_broke_the_service_get_documented_answers(
    method: str, path: str, parts: dict[str, Any], world: World
) -> None:
    """The bad inputs of issue 8, every time (the fuzzer above finds them only
    some of the time), from a new browser (a first join) and from the fan."""
    case = schema[path][method].Case(path_parameters={"slug": world.slug}, media_type="application/json", **parts)
    for session in (requests.Session(), world.session):
        case.call_and_validate(session=session, checks=CHECKS, timeout=REQUEST_TIMEOUT)


# --- the spec itself ------------------------------------------------------------

# Described but not routed yet (none today).
PENDING: set[str] = set()


def _walk(node: Any, path: str = "#") -> Iterator[tuple[str, Any]]:
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        yield from _walk(value, f"{path}/{key}")


def _pointer(document: Any, ref: str) -> Any:
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_spec_is_valid_openapi_with_valid_schemas_and_references() -> None:
    schema.validate()  # OpenAPI 3.1's own structure; the checks below go inside the schemas
    raw = schema.raw_schema
    for path, node in _walk(raw):
        if path.endswith("/schema") or re.fullmatch(r"#/components/schemas/[^/]+", path):
            jsonschema_rs.meta.validate(node)
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            _pointer(raw, node["$ref"])  # KeyError: a reference to nothing


def test_every_error_answer_is_the_shared_error_shape() -> None:
    raw = schema.raw_schema

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        return resolve(_pointer(raw, node["$ref"])) if "$ref" in node else node

    for path, item in raw["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                body = resolve(response)["content"]["application/json"]["schema"]
                refs = [body.get("$ref")] + [part.get("$ref") for part in body.get("allOf", [])]
                assert "#/components/schemas/Error" in refs, f"{method.upper()} {path} {status}"


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    """Every route of the URLconf as an OpenAPI path template."""
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        else:
            yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_every_json_endpoint_is_described_and_every_described_path_exists() -> None:
    routes = {r for r in _routes(get_resolver().url_patterns) if r.startswith("/api/")} | {"/healthz", "/readyz"}
    described = set(schema.raw_schema["paths"])
    assert routes - described == set(), "describe these in docs/openapi.yaml"
    assert described - routes <= PENDING, "docs/openapi.yaml describes paths that do not exist"
