"""Conventions every PixelFox HTTP service follows, installed by one call.

``install(app, title=…, version=…)`` gives a service:

- the OpenAPI document at ``/openapi.json`` (Swagger UI at ``/api/docs``);
- one error format for every 4xx/5xx, ``{"error": {"code", "message", "details"?}}``,
  including framework errors (404, 405, malformed JSON, failed validation) and
  unhandled exceptions (500, logged with their traceback);
- a request id per request (``g.request_id``, the ``X-Request-ID`` header; a
  caller's id is adopted) bound to every log line of the request;
- one access-log line and the request metrics per request;
- ``X-Content-Type-Options: nosniff``.

For route authors (import from here)::

    from quart_schema import validate_request, validate_response
    from pixelfox_common.web import ErrorBody, raises, public_api

    @blueprint.post("/api/v1/upload/sessions")
    @validate_request(SessionRequest)          # bad body → 400/422 in our format
    @validate_response(SessionGrant, 201)      # the success shape
    @raises("RATE_LIMITED", "NO_STORAGE")      # documents 429 and 503 with examples
    async def create_session(data: SessionRequest): …

Errors are raised, never returned: ``raise APIError("NO_STORAGE")``. Every
documented operation already lists the generic 4XX/5XX answers, so ``raises``
is only for the codes a client should plan for. ``ErrorBody`` is the pydantic
model of the error format, for ``validate_response(ErrorBody, 409)`` where a
route wants it explicit. Once you know who is calling, add it to the logs:
``logs.bind(user_id=…)`` (app) or ``logs.bind_request_id(claims.request_id)``
(node, after verifying an upload token).
"""

from __future__ import annotations

import functools
import json
import math
import time
from typing import Any

import quart_schema.conversion
from pydantic import TypeAdapter
from quart import Quart, Response, g, jsonify, request
from quart.wrappers import Request
from quart_schema import QuartSchema, RequestSchemaValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from pixelfox_protocol.errors import APIError, status_code_error

from . import apidocs, logs, metrics, streambody
from .openapi import INTERNAL_TAG, ErrorBody, PixelFoxOpenAPI, no_content, public_api, raises

__all__ = [
    "REQUEST_ID_HEADER",
    "ErrorBody",
    "error_response",
    "install",
    "no_content",
    "public_api",
    "raises",
]

REQUEST_ID_HEADER = logs.REQUEST_ID_HEADER
# Numbers in a JSON body must fit a database column; bigger ones are malformed input.
_JSON_INT_LIMIT = 2**63 - 1

_error_log = logs.get_logger("pixelfox.error")

# quart-schema builds a pydantic TypeAdapter (a schema compile) for every validated
# request and every dict or list answer; pydantic advises building one per type
# and reusing it. Cached by type, that cost is paid once per process, not per request.
quart_schema.conversion.TypeAdapter = functools.lru_cache(maxsize=1024)(TypeAdapter)  # type: ignore[assignment,misc]


def _request_id() -> str:
    # A caller may pass its id along (the app to a node, a node to the app) so one
    # upload can be followed across hosts; anything odd is replaced.
    incoming = request.headers.get(REQUEST_ID_HEADER)
    if incoming is not None and logs.valid_request_id(incoming):
        return incoming
    return logs.new_request_id()


ErrorAnswer = tuple[Response, int, dict[str, str]]


# The largest id a row can have in every database we run on (SQLite, PostgreSQL integer).
MAX_ROW_ID = 2**31 - 1


def error_response(error: APIError) -> ErrorAnswer:
    """Render an APIError (and count it as a rejection)."""
    metrics.count_rejection(error.code, error.status)
    return jsonify(error.to_dict()), error.status, error.headers


def _bounded_int(text: str) -> int:
    value = int(text)
    if abs(value) > _JSON_INT_LIMIT:
        raise ValueError("a number in the body is too large")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number in the body is too large")
    return value


def _no_constants(text: str) -> float:
    raise ValueError(f"{text} is not allowed in JSON")


def _strict_loads(data: str | bytes, **kwargs: Any) -> Any:
    """JSON for request bodies: no NaN/Infinity, numbers within 64 bits, bounded nesting."""
    try:
        return json.loads(
            data,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constants,
            **kwargs,
        )
    except RecursionError as exc:
        raise ValueError("the body is nested too deeply") from exc


class PixelFoxRequest(Request):
    """A request whose JSON failures are our ``BAD_REQUEST``, never a 500."""

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return await super().get_json(force=force, silent=silent, cache=cache)
        except UnicodeDecodeError as exc:
            if silent:
                return None
            return self.on_json_loading_failed(exc)

    def on_json_loading_failed(self, error: Exception) -> Any:
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise APIError(
            "BAD_REQUEST", "The request body is not valid JSON.", details={"reason": reason}
        )


class RowIdConverter(IntegerConverter):
    """``<int:…>`` of every route: a row id, so at most the largest 32-bit integer.

    A larger number in a path is answered 404 by the router, as any id that names
    no row, and never reaches a database that would fail to bind it (a 500).
    """

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def install(app: Quart, *, title: str, version: str, description: str | None = None) -> QuartSchema:
    """Error format, request ids, logs, metrics, nosniff and the OpenAPI document."""
    app.request_class = PixelFoxRequest
    # Before any route is added: every <int:…> in a path names a database row.
    app.url_map.converters["int"] = RowIdConverter
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    schema = QuartSchema(
        app,
        info=info,
        openapi_path="/openapi.json",
        redoc_ui_path=None,
        scalar_ui_path=None,
        swagger_ui_path=None,  # our own page: see apidocs
        conversion_preference="pydantic",
        openapi_provider_class=PixelFoxOpenAPI,
        tags=[INTERNAL_TAG],
    )
    # Request bodies are parsed by ``app.json`` (set up by QuartSchema just above).
    setattr(app.json, "loads", _strict_loads)  # noqa: B010 - replaces a method on this instance
    app.register_blueprint(apidocs.blueprint(title))

    @app.before_request
    async def _start_request() -> None:
        g.request_started = time.perf_counter()
        g.request_id = _request_id()
        logs.start_request_context(g.request_id)

    @app.after_request
    async def _finish_request(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        seconds = time.perf_counter() - started if started is not None else 0.0
        rule = request.url_rule
        route = rule.rule if rule is not None else None
        metrics.observe_request(request.method, route, response.status_code, seconds)
        logs.write_line(
            "pixelfox.access",
            "request",
            method=request.method,
            route=route or metrics.UNMATCHED_ROUTE,
            path=request.path,
            status=response.status_code,
            duration_ms=round(seconds * 1000, 2),
            remote_addr=request.remote_addr,
        )
        return response

    @app.errorhandler(APIError)
    async def _api_error(error: APIError) -> ErrorAnswer:
        await _hear_out()
        return error_response(error)

    @app.errorhandler(RequestSchemaValidationError)
    async def _validation_error(error: RequestSchemaValidationError) -> ErrorAnswer:
        await _hear_out()
        details = {"errors": _describe(error.validation_error)}
        return error_response(APIError("VALIDATION_ERROR", details=details))

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> ErrorAnswer:
        await _hear_out()
        api_error = status_code_error(error.code or 500)
        # Keep what the framework says about the error: Allow on 405, Retry-After, …
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                api_error.headers[name] = value
        return error_response(api_error)

    @app.errorhandler(Exception)
    async def _unhandled(error: Exception) -> ErrorAnswer:
        _error_log.error("unhandled exception", exc_info=error)
        await _hear_out()
        return error_response(APIError("INTERNAL"))

    return schema


async def _hear_out() -> None:
    """Before any refusal, read away a bounded rest of the request's unread body.

    A refusal may come before the handler read a byte (a query that does not
    validate, a missing grant): closing then with the body still arriving makes
    the kernel reset the connection, and the client (or nginx in front, which
    answers 502) loses the refusal. See :func:`streambody.drain` for the bounds.
    """
    if request.content_length or "chunked" in request.headers.get("Transfer-Encoding", ""):
        await streambody.drain(request.body)


def _describe(validation_error: object) -> list[dict[str, str]]:
    errors = getattr(validation_error, "errors", None)
    if callable(errors):
        described = []
        for e in errors():
            field = ".".join(str(p) for p in e.get("loc", ()))
            problem = str(e.get("msg", ""))
            if not field and e.get("type") == "model_type":
                problem = "The body must be a JSON object (Content-Type: application/json)."
            described.append({"field": field, "problem": problem})
        return described
    return [{"field": "", "problem": str(validation_error)}]
