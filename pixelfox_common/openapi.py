"""How both services describe themselves in OpenAPI (served at ``/openapi.json``).

Route authors declare the error codes a route may answer with
``@raises("FILE_TOO_LARGE", …)``; every documented operation also gets the
generic ``4XX``/``5XX`` answers in our error format, and ``400``/``422`` when it
validates a body, query or headers. Paths under ``/api/internal/`` are tagged
``internal`` and carry ``x-internal: true`` (node ↔ app calls), unless the route
is marked ``@public_api`` (the upload URL keeps the seed's name but is called
by browsers). Only the API is documented: paths under ``/api/`` and the health
endpoint; pages and HTMX fragments are not a contract.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from quart_schema import OpenAPIProvider
from quart_schema.openapi import QUART_SCHEMA_OPERATION_ID_ATTRIBUTE, QUART_SCHEMA_TAG_ATTRIBUTE
from quart_schema.validation import (
    QUART_SCHEMA_HEADERS_ATTRIBUTE,
    QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
    QUART_SCHEMA_REQUEST_ATTRIBUTE,
)
from werkzeug.routing.rules import Rule

from pixelfox_protocol.errors import CODES

INTERNAL_PREFIX = "/api/internal/"
DOCUMENTED_PREFIXES = ("/api/",)
DOCUMENTED_PATHS = frozenset({"/healthz"})
# The docs page itself and its assets (pixelfox_common.apidocs).
UNDOCUMENTED_PREFIXES = ("/api/docs",)
INTERNAL_TAG = {
    "name": "internal",
    "description": "Calls between storage nodes and the control app; not for browsers.",
}
SECURITY_SCHEMES: dict[str, Any] = {
    "uploadToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Ed25519-signed upload token from POST /api/v1/upload/sessions.",
    },
    "replicationGrant": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Ed25519-signed grant for one image's files, from a move ticket.",
    },
    "nodeCredential": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Node <node_id>:<credential>`: a storage node calling the app.",
    },
}

_ERROR_CODES_ATTRIBUTE = "_pixelfox_error_codes"
_PUBLIC_ATTRIBUTE = "_pixelfox_public_api"
_NO_CONTENT_ATTRIBUTE = "_pixelfox_no_content"
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}

T = TypeVar("T", bound=Callable[..., Any])


class ErrorInfo(BaseModel):
    code: str = Field(
        description="Stable error code (docs/errors.md); clients act on this, not on the text.",
        json_schema_extra={"enum": list(sorted(CODES))},
    )
    message: str = Field(description="A sentence a person can read.")
    details: dict[str, Any] | None = Field(
        default=None, description="Machine-readable specifics, e.g. the invalid fields."
    )


class ErrorBody(BaseModel):
    """Every error answer of both services has this shape."""

    error: ErrorInfo


def raises(*codes: str) -> Callable[[T], T]:
    """Document the error codes a route may answer with (grouped by status in OpenAPI).

    Unknown codes fail at import time, so a typo cannot reach the docs.
    """
    for code in codes:
        if code not in CODES:
            raise KeyError(f"unknown error code {code!r}; add it to protocol/errors.py first")

    def decorate(func: T) -> T:
        known = getattr(func, _ERROR_CODES_ATTRIBUTE, ())
        setattr(func, _ERROR_CODES_ATTRIBUTE, (*known, *codes))
        return func

    return decorate


def no_content(func: T) -> T:
    """Document a route's success as ``204 No Content`` (it has no response model)."""
    setattr(func, _NO_CONTENT_ATTRIBUTE, True)
    return func


def public_api(func: T) -> T:
    """Mark a route under ``/api/internal/`` as called by browsers (not tagged internal)."""
    setattr(func, _PUBLIC_ATTRIBUTE, True)
    return func


def _error_response(description: str, codes: list[str] | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": _ERROR_REF}
    if codes:
        media["examples"] = {
            code: {"value": {"error": {"code": code, "message": CODES[code].message}}}
            for code in codes
        }
    return {"description": description, "content": {"application/json": media}}


def _error_components() -> dict[str, Any]:
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = schema.pop("$defs", {})
    components["ErrorBody"] = schema
    return components


class PixelFoxOpenAPI(OpenAPIProvider):
    """quart-schema's provider plus our error answers, internal marks and stable ids."""

    def schema(self) -> dict[str, Any]:
        document = super().schema()
        document["paths"] = dict(document["paths"])
        document["components"]["schemas"].update(_error_components())
        # Added here rather than through QuartSchema(security_schemes=…), which drops descriptions.
        document["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
        return document

    def generate_rules(self) -> Any:
        for rule in super().generate_rules():
            if rule.rule.startswith(UNDOCUMENTED_PREFIXES):
                continue
            if rule.rule in DOCUMENTED_PATHS or rule.rule.startswith(DOCUMENTED_PREFIXES):
                yield rule

    def build_paths(self, rule: Rule) -> tuple[dict, dict]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        internal = rule.rule.startswith(INTERNAL_PREFIX) and not getattr(
            func, _PUBLIC_ATTRIBUTE, False
        )
        validates = any(
            getattr(func, attribute, None) is not None
            for attribute in (
                QUART_SCHEMA_REQUEST_ATTRIBUTE,
                QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
                QUART_SCHEMA_HEADERS_ATTRIBUTE,
            )
        )
        declared: dict[int, list[str]] = defaultdict(list)
        if validates:
            declared[400].append("BAD_REQUEST")
            declared[422].append("VALIDATION_ERROR")
        for code in getattr(func, _ERROR_CODES_ATTRIBUTE, ()):
            if code not in declared[CODES[code].status]:
                declared[CODES[code].status].append(code)

        for methods in paths.values():
            for method, shared in list(methods.items()):
                operation = dict(shared)
                documented = dict(shared["responses"])
                if getattr(func, _NO_CONTENT_ATTRIBUTE, False):
                    documented.pop(200, None)
                    documented["204"] = {"description": "Done; no content."}
                operation["responses"] = self._responses(documented, declared)
                if not hasattr(func, QUART_SCHEMA_OPERATION_ID_ATTRIBUTE):
                    # Endpoint names are unique; bare function names are not across blueprints.
                    operation["operationId"] = f"{method}_{rule.endpoint.replace('.', '_')}"
                tags = set(operation.get("tags", ()))
                if not getattr(func, QUART_SCHEMA_TAG_ATTRIBUTE, None) and "." in rule.endpoint:
                    tags.add(rule.endpoint.split(".", 1)[0])
                if internal:
                    tags.add("internal")
                    operation["x-internal"] = True
                if tags:
                    operation["tags"] = sorted(tags)
                methods[method] = operation
        return paths, components

    @staticmethod
    def _responses(documented: dict[Any, Any], declared: dict[int, list[str]]) -> dict[str, Any]:
        responses = {str(status): value for status, value in documented.items()}
        if not any(status.startswith(("2", "3")) for status in responses):
            responses["2XX"] = {"description": "Success (no response model declared yet)."}
        for status, codes in sorted(declared.items()):
            if str(status) not in responses:
                text = "\n".join(f"`{code}`: {CODES[code].message}" for code in codes)
                responses[str(status)] = _error_response(text, codes)
        responses.setdefault(
            "4XX", _error_response("Any other client error, in the same format (docs/errors.md).")
        )
        responses.setdefault("5XX", _error_response("A server-side error, in the same format."))
        return responses
