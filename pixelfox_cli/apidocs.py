"""The checked-in API documents: both OpenAPI files and the error-code page.

They are generated from the code (the two app factories and
``protocol.errors.CODES``), byte for byte reproducible, so a test and
``pixelfox openapi check`` can tell when the copy in ``docs/`` is stale.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pixelfox_protocol.errors import CODES

OPENAPI_FILES = {"app": "openapi-app.json", "storage": "openapi-storage.json"}
ERRORS_FILE = "errors.md"


def _app_factory() -> Any:
    from pixelfox_app import create_app
    from pixelfox_app.config import AppSettings

    # Built-in defaults, never the environment: the document must not depend on the host.
    return create_app(AppSettings())


def _storage_factory() -> Any:
    from pixelfox_storage import create_app
    from pixelfox_storage.config import StorageSettings

    return create_app(StorageSettings())


FACTORIES: dict[str, Callable[[], Any]] = {"app": _app_factory, "storage": _storage_factory}


def openapi_document(service: str) -> dict[str, Any]:
    """The OpenAPI document of ``service`` (app or storage), as served at /openapi.json."""
    # A factory may warn about settings it lacks (keys, pools); the defaults used
    # here lack them on purpose, and the warnings would only confuse the operator.
    logging.disable(logging.WARNING)
    try:
        app = FACTORIES[service]()
    finally:
        logging.disable(logging.NOTSET)

    async def build() -> dict[str, Any]:
        async with app.app_context():
            document: dict[str, Any] = app.extensions["QUART_SCHEMA"].openapi_provider.schema()
            return document

    return asyncio.run(build())


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_errors() -> str:
    """docs/errors.md: every stable error code with its status and default message."""
    lines = [
        "# Error codes",
        "",
        "<!-- Generated from pixelfox_protocol/errors.py by"
        " `pixelfox error-codes export`; do not edit. -->",
        "",
        "Every error answer of the control app and the storage nodes has one shape:",
        "",
        "```json",
        '{"error": {"code": "FILE_TOO_LARGE", "message": "…", "details": {}}}',
        "```",
        "",
        "`code` is stable: clients act on it (codes are added, never renamed or",
        "removed). `message` is for people and may change; `details` is optional and",
        "holds machine-readable specifics, e.g. the invalid fields of a request.",
        "",
        "| Code | HTTP status | Default message |",
        "|---|---|---|",
    ]
    for code in CODES.values():
        message = code.message.replace("|", "\\|")
        lines.append(f"| `{code.code}` | {code.status} | {message} |")
    return "\n".join(lines) + "\n"


def write(docs_dir: Path, names: list[str]) -> list[Path]:
    """Write the named generated files into ``docs_dir``; returns the paths written."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    written = []
    generated = _generate(names)
    for name, text in generated.items():
        path = docs_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(docs_dir: Path, names: list[str]) -> list[str]:
    """Names of the generated files whose copy in ``docs_dir`` is missing or differs."""
    out = []
    for name, text in _generate(names).items():
        path = docs_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def _generate(names: list[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    for service, name in OPENAPI_FILES.items():
        if name in names:
            files[name] = render_json(openapi_document(service))
    if ERRORS_FILE in names:
        files[ERRORS_FILE] = render_errors()
    return files
