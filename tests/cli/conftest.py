from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.support import PREFIXES
from tests.conftest import delete_redis_keys


@pytest.fixture(autouse=True)
def _redis_users_of_the_test() -> Iterator[None]:
    """``nodes add`` sets Redis users of the test's prefix: delete them afterwards."""
    yield
    while PREFIXES:
        delete_redis_keys(PREFIXES.pop())
