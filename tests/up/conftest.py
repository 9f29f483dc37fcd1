"""One running appliance shared by the tests that only look at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import fresh_redis_prefix

from .appliance import Up


@pytest.fixture(scope="module")
def module_redis_prefix() -> Iterator[str]:
    """Like ``redis_prefix``, for a module-scoped appliance."""
    with fresh_redis_prefix() as prefix:
        yield prefix


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, module_redis_prefix: str) -> Iterator[Up]:
    """A ``pixelfox up`` started once for the module; tests must not stop it."""
    up = Up(tmp_path_factory.mktemp("appliance") / "var", module_redis_prefix)
    try:
        yield up.start()
    finally:
        up.close()
