"""Structured logs: JSON in production, readable lines in development.

Every process calls :func:`configure` once at start-up (``serve-app``,
``serve-storage`` and the workers do). After that, both ``structlog`` loggers
and plain ``logging.getLogger(__name__)`` loggers come out through the same
renderer, and every line carries what this module has bound for the current
request or job:

- ``request_id``: set per request by ``web.install``; a storage node adopts the
  upload token's ``rid`` with :func:`bind_request_id`, a worker binds its job's
  request id with :func:`job_context`, so one upload is one search across hosts.
- ``node_id``, ``user_id``, ``job_id``, ``job``: bound where they become known
  (:func:`bind`).
- ``service`` and, on storage nodes, the node's own ``node_id``: static for
  the process, given to :func:`configure`.

The context lives in ``contextvars``: each request and each job runs in its
own task, so what one binds never leaks into another.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from structlog.contextvars import bind_contextvars, get_contextvars, reset_contextvars
from structlog.types import EventDict, Processor

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept as a request id from outside (a header, a token claim): short,
# and only characters that cannot break a log line or a header.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")

# Libraries that are chatty at INFO and say nothing an operator needs.
_QUIET_LOGGERS = {"aiosqlite": "WARNING", "tortoise": "WARNING", "httpx": "WARNING"}

_HANDLER_NAME = "pixelfox"


def valid_request_id(value: str | None) -> bool:
    """True when ``value`` may be used as a request id as it is."""
    return bool(value) and _REQUEST_ID_RE.match(value or "") is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


# Fields of this process (service, a node's own node_id), set by configure().
_static: dict[str, str] = {}


def _add_static(_: Any, __: str, event_dict: EventDict) -> EventDict:
    for key, value in _static.items():
        event_dict.setdefault(key, value)
    return event_dict


_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _add_static,
]

# Keys a reader scans for first; the rest follow in the order they were given.
_LEADING_KEYS = ("timestamp", "level", "service", "node_id", "logger", "event", "request_id")


def _leading_keys_first(_: Any, __: str, event_dict: EventDict) -> EventDict:
    ordered = {key: event_dict.pop(key) for key in _LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


@dataclass
class _Output:
    """What :func:`configure` set up, for :func:`write_line` (the per-request fast path)."""

    handler: logging.StreamHandler[Any]
    final: list[Processor]


_output: _Output | None = None


def configure(
    *,
    service: str,
    fmt: str = "console",
    level: str = "INFO",
    stream: Any = None,
    **static: str | None,
) -> None:
    """Route structlog and stdlib logging through one renderer on ``stream`` (stderr).

    ``fmt`` is ``json`` (production: one JSON object per line) or ``console``.
    ``static`` fields (e.g. ``node_id="s01"``) are added to every line unless a
    line carries its own value (on the app, ``node_id`` is the calling node's).
    Calling it again replaces the previous configuration.
    """
    _static.clear()
    _static.update({"service": service, **{k: v for k, v in static.items() if v}})
    out = stream or sys.stderr
    renderer: Processor
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json":
        # A plain traceback string: structured tracebacks would log local variables (tokens).
        final += [structlog.processors.format_exc_info, _leading_keys_first]
        renderer = structlog.processors.JSONRenderer()
    else:
        isatty = getattr(out, "isatty", None)
        renderer = structlog.dev.ConsoleRenderer(colors=bool(isatty and isatty()))

    # The structlog side never changes, so loggers cached on first use stay valid;
    # what differs between configurations lives in the handler below.
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # Lines from stdlib loggers (ours, arq, hypercorn, tortoise) get the same fields.
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder()],
        processors=[*final, renderer],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # Replace only our own handler: a test runner's capture handler stays in place.
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, quiet_level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet_level)
    global _output
    meta = structlog.stdlib.ProcessorFormatter.remove_processors_meta
    _output = _Output(handler, [*(p for p in final if p is not meta), renderer])


def write_line(logger: str, event: str, **fields: Any) -> None:
    """Log one INFO line with the same fields and renderer as any other, minus the overhead.

    The access log calls this for every request. The stdlib path builds two
    ``LogRecord`` objects and walks the stack per line (~4x the cost); this
    runs the same processors and writes through the same handler (and its lock).
    Before :func:`configure`, it falls back to an ordinary logger.
    """
    std = logging.getLogger(logger)
    if not std.isEnabledFor(logging.INFO):
        return
    output = _output
    if output is None:
        get_logger(logger).info(event, **fields)
        return
    rendered: Any = {"event": event, **fields}
    for processor in (*_SHARED, *output.final):
        rendered = processor(std, "info", rendered)
    handler = output.handler
    handler.acquire()
    try:
        handler.stream.write(f"{rendered}\n")
        handler.flush()
    finally:
        handler.release()


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; ``logging.getLogger`` works just as well."""
    return structlog.stdlib.get_logger(name)


def bind(**fields: Any) -> None:
    """Add fields (``user_id``, ``node_id``, ``job_id`` …) to every line of this request or job."""
    bind_contextvars(**{k: v for k, v in fields.items() if v is not None})


def current_request_id() -> str | None:
    """The request id bound for this request or job, if any."""
    value = get_contextvars().get("request_id")
    return str(value) if value else None


def request_id_header() -> dict[str, str]:
    """``{"X-Request-ID": …}`` for an outgoing call that belongs to this request (or ``{}``)."""
    rid = current_request_id()
    return {REQUEST_ID_HEADER: rid} if rid else {}


def bind_request_id(rid: str | None) -> bool:
    """Adopt ``rid`` (e.g. an upload token's ``rid`` claim) as this request's id.

    A storage node calls this right after verifying the token, so its log lines,
    its ``X-Request-ID`` answer, its report to the app and the processing job
    all carry the id the app gave the upload session. Returns False (and keeps
    the current id) when ``rid`` is missing or malformed.
    """
    if not valid_request_id(rid):
        return False
    assert rid is not None
    bind_contextvars(request_id=rid)
    # Inside a request, the response header and the access-log line follow too.
    from quart import g, has_request_context

    if has_request_context():
        g.request_id = rid
    return True


@contextmanager
def job_context(
    *, job_id: str | None, job: str, request_id: str | None = None, **fields: Any
) -> Iterator[None]:
    """Bind a job's ids for the lines it logs; restores the previous context after.

    ``request_id`` is the id of the upload (or admin action) that enqueued the
    job; without one, the job id stands in so the job's lines still group.
    """
    rid = request_id if valid_request_id(request_id) else None
    tokens = bind_contextvars(
        job_id=job_id,
        job=job,
        request_id=rid or job_id or new_request_id(),
        **{k: v for k, v in fields.items() if v is not None},
    )
    try:
        yield
    finally:
        reset_contextvars(**tokens)


def start_request_context(request_id: str) -> None:
    """Forget whatever an earlier request left in this context and bind the new id."""
    structlog.contextvars.clear_contextvars()
    bind_contextvars(request_id=request_id)
