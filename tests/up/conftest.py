"""One running appliance shared by the tests that only look at it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.conftest import REDIS_URL

from .appliance import Up


@pytest.fixture(scope="module")
def module_redis_prefix() -> Iterator[str]:
    """Like ``redis_prefix``, for a module-scoped appliance."""
    prefix = f"pftest-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, module_redis_prefix: str) -> Iterator[Up]:
    """A ``pixelfox up`` started once for the module; tests must not stop it."""
    up = Up(tmp_path_factory.mktemp("appliance") / "var", module_redis_prefix)
    try:
        yield up.start()
    finally:
        up.close()
