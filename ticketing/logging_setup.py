"""Structured logs: structlog for our lines and django-structlog's, rendered
by the standard logging handlers, so every library's lines come out the same.

``LOG_FORMAT=json`` (the production default) writes one JSON object per line
with ``timestamp``, ``level``, ``logger``, ``event`` and whatever the context
holds: ``request_id`` (ticketing.requestid), ``fan`` (a digest of the fan's
identity: the same on every request of one browser), ``ip``, ``user_id``,
``task_id`` in Celery tasks (django-structlog carries the request's context
into the tasks it queues). ``LOG_FORMAT=plain`` (development, set by
scripts/devstack.py through ENVIRONMENT=development) keeps the lines as they
were: ``time LEVEL logger message``; structlog's events add their keys as
``key=value`` after the message.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from ticketing.env import envbool, envstr

# Added to every line, ours and the libraries' (stdlib logging), before rendering.
SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def log_format() -> str:
    """LOG_FORMAT, else ``plain`` in development and ``json`` in production
    (ENVIRONMENT as the settings read it). A function of the environment
    alone: ticketing.celery needs it before Django's settings are loaded."""
    environment = envstr("ENVIRONMENT", "development" if envbool("DEBUG", False) else "production")
    return envstr("LOG_FORMAT", "plain" if environment == "development" else "json")


def configure_structlog() -> None:
    """structlog hands its events to stdlib logging (LOGGING's handlers and
    formatters render them); called once from the settings."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def json_formatter() -> logging.Formatter:
    """One JSON object per line (logging.config's ``()`` factory)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=str),
        ],
    )


_HIDDEN = frozenset({"event", "level", "logger", "timestamp", "_record", "_from_structlog"})


def _plain(_: WrappedLogger, __: str, event_dict: EventDict) -> str:
    """A library's line: its message, untouched (the stdlib formatter adds
    time, level, name and any traceback, as before). One of structlog's:
    the event, then its keys."""
    if not event_dict.get("_from_structlog"):
        return str(event_dict.get("event", ""))
    event_dict = structlog.processors.format_exc_info(_, __, dict(event_dict))
    extra = " ".join(f"{k}={v!r}" for k, v in event_dict.items() if k not in _HIDDEN and k != "exception")
    text = f"{event_dict.get('event', '')} {extra}".rstrip()
    if "exception" in event_dict:
        text += "\n" + str(event_dict["exception"])
    return text


def plain_formatter() -> logging.Formatter:
    """The development format of before: ``time LEVEL logger message``."""
    return structlog.stdlib.ProcessorFormatter(
        fmt="%(asctime)s %(levelname)s %(name)s %(message)s",
        processors=[_plain],
        keep_exc_info=True,
        keep_stack_info=True,
    )


def tasks_from_requests_only(record: logging.LogRecord) -> bool:
    """django-structlog's per-task INFO lines (started, succeeded, enqueued)
    only for tasks a request queued (they carry its request_id); beat's sweep
    every few seconds would otherwise flood the logs. Warnings and errors
    always pass, and every other logger's lines (a handler's filter)."""
    if record.levelno >= logging.WARNING or not record.name.startswith("django_structlog.celery"):
        return True
    event: Any = record.msg
    return isinstance(event, dict) and "request_id" in event
