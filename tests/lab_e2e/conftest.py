"""A lab of app, s01, s02, s03 with PixelFox running on it, for one test module.

Lab prefix ``pfp`` and subnet 10.79.0.0/24, so neither a developer's lab ("pf")
nor the lab tool's own tests ("pft") are touched. Everything is torn down when
the module ends, also when setting up failed half-way.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pixelfox_lab import Lab
from tests.lab.helpers import require_lab, running_lab
from tests.lab_e2e.stack import PYTHON, ROOT, LabStack

LAB_PREFIX = "pfp"
LAB_SUBNET = "10.79.0.0/24"
HOSTS = ("app", "s01", "s02", "s03")
NODES = ("s01", "s02", "s03")


@pytest.fixture(autouse=True)
def _skip_without_lab_support(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("lab") is not None:
        require_lab()


class Client:
    """HTTP from inside the lab (see driver.py); blocking, one request at a time."""

    def __init__(self, lab: Lab, log: Path) -> None:
        self.log = log.open("ab")
        self.proc = lab.controller.popen(
            [PYTHON, "-m", "tests.lab_e2e.driver"],
            cwd=str(ROOT),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def request(self, method: str, url: str, **order: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"method": method, "url": url, **order}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the lab's HTTP driver died")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def upload(self, answer: dict[str, Any], data: bytes, name: str = "cat.jpg") -> dict[str, Any]:
        """The seed's second step: POST multipart to the session's upload URL with its token."""
        return self.request(
            "POST",
            answer["upload_url"],
            headers={"Authorization": f"Bearer {answer['token']}"},
            files={"file": [name, base64.b64encode(data).decode(), "image/jpeg"]},
        )

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(HOSTS, LAB_PREFIX, LAB_SUBNET) as running:
        yield running


@pytest.fixture(scope="module")
def stack(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabStack]:
    logs = tmp_path_factory.mktemp("lab-logs")
    running = LabStack(lab, logs, redis_prefix="pfe2e")
    try:
        running.start_app_host()
        running.add_nodes({node: {} for node in NODES})
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def client(lab: Lab, stack: LabStack) -> Iterator[Client]:
    driver = Client(lab, stack.logs_dir / "driver.log")
    try:
        yield driver
    finally:
        driver.close()


@pytest.fixture(scope="module")
def tokens(stack: LabStack) -> dict[str, str]:
    """API tokens of ``ada`` (a user) and ``root`` (an admin)."""
    # One client address makes every request here: the rate limits would get in the way.
    stack.knobs(
        {"upload_rate_limit_per_minute": 100_000, "upload_user_rate_limit_per_minute": 100_000}
    )
    return stack.api_tokens({"ada": False, "root": True})
