"""Schemathesis against both live services: no 5xx, every error in our format.

The run is bounded (fixed seed, five examples per operation, one unexpected
method; see schemathesis.toml) so it stays short; it grows with every route
added, which is the point. Authentication comes from st_hooks, so the fuzzer
reaches the code behind the auth checks.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pixelfox_app.db import close_db, init_db
from pixelfox_app.models import StorageNode
from pixelfox_app.nodes import register_node
from pixelfox_protocol.internal import node_authorization
from tests.observability.conftest import NODE_ID, Live
from tests.support import ROOT, Service, free_port

ST = str(Path(sys.executable).with_name("st"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
FUZZ_NODE_ID = "s99"


def run_schemathesis(
    base_url: str, report: Path, credentials: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """One bounded run (seed, examples, checks: see schemathesis.toml); never leaves loopback."""
    argv = [ST, "--config-file", str(CONFIG), "--no-color", "run", f"{base_url}/openapi.json"]
    argv += ["--report", "junit", "--report-junit-path", str(report)]
    env = {**os.environ, **credentials, "PYTHONPATH": str(ROOT)}
    # Run in the report's directory: schemathesis keeps a cache in its working directory.
    # The timeout only stops a hung run: the app's run took 142 s on a busy machine, and
    # every route added makes it longer.
    return subprocess.run(
        argv, cwd=report.parent, env=env, capture_output=True, text=True, timeout=840, check=False
    )


async def _fuzz_node(database_url: str, *, register: bool) -> str:
    await init_db(database_url)
    try:
        if register:
            return await register_node(FUZZ_NODE_ID, f"{FUZZ_NODE_ID}.pixelfox.test")
        await StorageNode.filter(node_id=FUZZ_NODE_ID).delete()
        return ""
    finally:
        await close_db()


@pytest.mark.timeout(900)
@pytest.mark.parametrize("service", ["app", "node"])
def test_fuzzing_finds_no_server_error_and_only_our_error_format(
    live: Live, service: str, tmp_path: Path
) -> None:
    base = live.app_url if service == "app" else live.node_url
    # Internal routes are fuzzed as a node of the fuzzer's own, registered for the
    # run only: its fuzzed heartbeats (one reporting no pools, say) must not take
    # the real node's pool out of placement, which the session routes need.
    fuzz_node = asyncio.run(_fuzz_node(live.database_url, register=True))
    credentials = {
        "PIXELFOX_FUZZ_NODE_AUTH": node_authorization(FUZZ_NODE_ID, fuzz_node),
        "PIXELFOX_FUZZ_USER_TOKEN": live.seeded.fuzz_token,
        "PIXELFOX_FUZZ_SIGNING_KEY": live.signing_key,
        "PIXELFOX_FUZZ_NODE_ID": NODE_ID,
        "PIXELFOX_FUZZ_POOL_ID": str(live.seeded.pool_id),
    }
    try:
        result = run_schemathesis(base, tmp_path / "junit.xml", credentials)
    finally:
        asyncio.run(_fuzz_node(live.database_url, register=False))
    # A refused placement explains itself in the app's log: show why with the failure.
    placements = [
        line.get("event", "")
        for line in live.log_lines(live.app)
        if "placement found no pool" in str(line.get("event", ""))
    ]
    assert result.returncode == 0, (
        result.stdout[-8000:] + result.stderr[-2000:] + "\n".join(placements[-3:])
    )


def test_the_fuzz_run_fails_on_a_500_and_on_an_error_outside_our_format(tmp_path: Path) -> None:
    port = free_port()
    broken = Service(
        "broken",
        [
            sys.executable,
            "-m",
            "hypercorn",
            "--bind",
            f"127.0.0.1:{port}",
            "tests.observability.broken_service:app",
        ],
        {},
        tmp_path / "broken.log",
    )
    try:
        broken.start(f"http://127.0.0.1:{port}/openapi.json")
        result = run_schemathesis(f"http://127.0.0.1:{port}", tmp_path / "junit.xml", {})
    finally:
        broken.stop()

    assert result.returncode != 0
    assert "Server error" in result.stdout
    assert "is not JSON" in result.stdout
