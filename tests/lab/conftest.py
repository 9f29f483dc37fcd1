"""Fixtures for lab tests: a shared four-host lab under a test-only prefix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pixelfox_lab import Lab
from tests.lab.helpers import TEST_HOSTS, TEST_PREFIX, TEST_SUBNET, lab_unsupported_reason


def require_lab_support() -> None:
    reason = lab_unsupported_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _skip_lab_tests_without_support(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("lab") is not None:
        require_lab_support()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """A running lab of app, s01, s02, s03, shared by a test module and torn down after it."""
    require_lab_support()
    # A crashed earlier run may have left this prefix behind; down clears it.
    Lab(hosts=(), prefix=TEST_PREFIX).down()
    with Lab(hosts=TEST_HOSTS, prefix=TEST_PREFIX, subnet=TEST_SUBNET) as running:
        yield running
