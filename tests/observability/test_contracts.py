"""The API contract: OpenAPI from the code, checked in; errors documented in our format."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from pixelfox_cli.main import cli
from tests.observability.conftest import Live
from tests.support import ROOT

DOCS = ROOT / "docs"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_the_checked_in_openapi_documents_match_the_code() -> None:
    code, output = _run("openapi", "check", "--docs-dir", str(DOCS))
    assert code == 0, f"{output}\nrun: pixelfox openapi export"


def test_the_error_code_page_is_current() -> None:
    code, output = _run("error-codes", "check", "--docs-dir", str(DOCS))
    assert code == 0, f"{output}\nrun: pixelfox error-codes export"


def test_a_stale_openapi_copy_is_named_and_fails_the_check(tmp_path: Path) -> None:
    assert _run("openapi", "export", "--docs-dir", str(tmp_path))[0] == 0
    stale = tmp_path / "openapi-storage.json"
    stale.write_text(stale.read_text().replace('"openapi": "3.1.0"', '"openapi": "3.0.0"'))

    code, output = _run("openapi", "check", "--docs-dir", str(tmp_path))

    assert code == 1
    assert "stale  " in output and "openapi-storage.json" in output
    assert "ok     " in output and "openapi-app.json" in output


def test_export_writes_the_same_bytes_twice(tmp_path: Path) -> None:
    assert _run("openapi", "export", "--docs-dir", str(tmp_path))[0] == 0
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert _run("openapi", "export", "--docs-dir", str(tmp_path))[0] == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first


@pytest.fixture(scope="session")
def documents(live: Live) -> dict[str, dict]:
    return {
        "app": httpx.get(f"{live.app_url}/openapi.json").json(),
        "node": httpx.get(f"{live.node_url}/openapi.json").json(),
    }


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_internal_operations_are_tagged_and_marked_internal(documents: dict[str, dict]) -> None:
    internal = [
        (path, op)
        for path, _, op in _operations(documents["app"])
        if path.startswith("/api/internal/")
    ]
    assert internal, "the app serves the node → app API"
    for path, operation in internal:
        assert operation.get("x-internal") is True, path
        assert "internal" in operation.get("tags", []), path
    for path, _, operation in _operations(documents["app"]):
        if not path.startswith("/api/internal/"):
            assert "x-internal" not in operation, path


def test_every_operation_documents_its_errors_in_our_format(documents: dict[str, dict]) -> None:
    for service, document in documents.items():
        assert "ErrorBody" in document["components"]["schemas"]
        for path, method, operation in _operations(document):
            responses = operation["responses"]
            for status in ("4XX", "5XX"):
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (service, path)
            assert operation["operationId"], (service, method, path)


def test_validated_bodies_document_400_and_422(documents: dict[str, dict]) -> None:
    sessions = documents["app"]["paths"]["/api/v1/upload/sessions"]["post"]
    assert "requestBody" in sessions
    assert "BAD_REQUEST" in sessions["responses"]["400"]["description"]
    assert "VALIDATION_ERROR" in sessions["responses"]["422"]["description"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{", "application/json", 400, "BAD_REQUEST"),
        (b"", "application/json", 400, "BAD_REQUEST"),
        (b'{"username": "\xff"}', "application/json", 400, "BAD_REQUEST"),
        (b'{"username": NaN}', "application/json", 400, "BAD_REQUEST"),
        (b'{"username": 1e999}', "application/json", 400, "BAD_REQUEST"),
        (b'{"username": ' + b"9" * 40 + b"}", "application/json", 400, "BAD_REQUEST"),
        (b"[" * 50_000 + b"]" * 50_000, "application/json", 400, "BAD_REQUEST"),
        (b'{"username": "ada"}', "text/plain", 422, "VALIDATION_ERROR"),
        (b"", "", 422, "VALIDATION_ERROR"),
        (b"null", "application/json", 422, "VALIDATION_ERROR"),
        (b'{"username": ["not", "a", "string"]}', "application/json", 422, "VALIDATION_ERROR"),
    ],
    ids=[
        "truncated",
        "empty",
        "invalid-utf8",
        "nan",
        "infinite",
        "beyond-64-bits",
        "nested-too-deep",
        "wrong-content-type",
        "no-body",
        "null",
        "wrong-field-type",
    ],
)
def test_malformed_bodies_get_our_error_format_never_a_500(
    live: Live, body: bytes, content_type: str, status: int, code: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = httpx.post(f"{live.app_url}/api/v1/auth/login", content=body, headers=headers)

    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_a_wrong_method_answers_405_with_allow_in_our_format(live: Live) -> None:
    answer = httpx.delete(f"{live.app_url}/api/v1/upload/sessions")

    assert answer.status_code == 405
    assert "POST" in answer.headers["Allow"]
    assert answer.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
