"""Fixtures for lab tests: a shared four-host lab under a test-only prefix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pixelfox_lab import Lab
from tests.lab.helpers import TEST_HOSTS, TEST_PREFIX, TEST_SUBNET, require_lab, running_lab


@pytest.fixture(autouse=True)
def _skip_lab_tests_without_support(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("lab") is not None:
        require_lab()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """A running lab of app, s01, s02, s03, shared by a test module and torn down after it."""
    with running_lab(TEST_HOSTS, TEST_PREFIX, TEST_SUBNET) as running:
        yield running
