"""``/api/docs`` on both services: Swagger UI from our own files, under the app's CSP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pixelfox_common.apidocs import STATIC
from tests.browser.conftest import Stack
from tests.support import assert_vendored_files_match


def test_the_vendored_swagger_files_are_the_registry_files_recorded_in_versions_md() -> None:
    assert assert_vendored_files_match(STATIC / "vendor") == 2


@pytest.mark.parametrize(
    ("service", "operation"),
    [("app", "/api/v1/upload/sessions"), ("node", "/api/internal/upload")],
)
def test_the_api_docs_page_lists_the_services_operations(
    page: Any, stack: Stack, service: str, operation: str
) -> None:
    base = stack.app_url if service == "app" else stack.node_url
    page.goto(f"{base}/api/docs")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    page.shots(f"{service}-docs")
    assert any(operation in p.replace("\u200b", "") for p in paths), paths
    # Nothing was fetched from anywhere but the service itself.
    assert page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    for url in page.evaluate("performance.getEntriesByType('resource').map(e => e.name)"):
        assert url.startswith(base), url


def test_the_docs_page_is_not_an_operation_of_the_api(stack: Stack) -> None:
    document = httpx.get(f"{stack.app_url}/openapi.json").json()
    assert not [p for p in document["paths"] if p.startswith("/api/docs")]
    assert httpx.get(f"{stack.app_url}/api/docs").status_code == 200
