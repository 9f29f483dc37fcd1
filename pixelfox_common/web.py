"""Conventions every PixelFox HTTP service follows, installed by one call."""

from __future__ import annotations

import uuid

from quart import Quart, Response, g, jsonify, request
from quart_schema import QuartSchema, RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from pixelfox_storage.protocol.errors import APIError, status_code_error

REQUEST_ID_HEADER = "X-Request-ID"


def _request_id() -> str:
    # A caller may pass its id along (the app to a node, a node to the app) so one
    # upload can be followed across hosts; anything odd is replaced.
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    if 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum():
        return incoming
    return uuid.uuid4().hex


def error_response(error: APIError) -> tuple[Response, int, dict[str, str]]:
    return jsonify(error.to_dict()), error.status, error.headers


def install(app: Quart, *, title: str, version: str) -> QuartSchema:
    """Error format, request ids, nosniff and the OpenAPI document."""
    schema = QuartSchema(
        app,
        info={"title": title, "version": version},
        openapi_path="/openapi.json",
        redoc_ui_path=None,
        scalar_ui_path=None,
        swagger_ui_path="/api/docs",
        conversion_preference="pydantic",
    )

    @app.before_request
    async def _assign_request_id() -> None:
        g.request_id = _request_id()

    @app.after_request
    async def _common_headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        return response

    @app.errorhandler(APIError)
    async def _api_error(error: APIError):  # type: ignore[no-untyped-def]
        return error_response(error)

    @app.errorhandler(RequestSchemaValidationError)
    async def _validation_error(error: RequestSchemaValidationError):  # type: ignore[no-untyped-def]
        details = {"errors": _describe(error.validation_error)}
        return error_response(APIError("VALIDATION_ERROR", details=details))

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        return error_response(status_code_error(error.code or 500))

    return schema


def _describe(validation_error: object) -> list[dict[str, str]]:
    errors = getattr(validation_error, "errors", None)
    if callable(errors):
        return [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "problem": str(e.get("msg", ""))}
            for e in errors()
        ]
    return [{"field": "", "problem": str(validation_error)}]
