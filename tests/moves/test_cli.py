"""``pixelfox moves``: what the drain playbook runs on the app host."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.moves.conftest import Stack
from tests.support import PIXELFOX, ROOT

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _pixelfox(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PIXELFOX, "moves", *args],
        env={**os.environ, **stack.app_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_start_wait_prints_progress_and_exits_0_when_done(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    for _ in range(3):
        await stack.image(source)

    run = _pixelfox(stack, "start", "--from", source.name, "--to", target.name, "--wait")

    assert run.returncode == 0, run.stderr
    assert f"{source.name} → {target.name}: done; planned 3, done 3" in run.stdout
    listed = _pixelfox(stack, "list")
    assert listed.returncode == 0
    assert source.name in listed.stdout


async def test_a_refused_start_says_why_and_exits_non_zero(stack: Stack):
    pool = await stack.pool("s01")

    run = _pixelfox(stack, "start", "--from", pool.name, "--to", pool.name, "--wait")

    assert run.returncode != 0
    assert "MOVE_SAME_POOL" in run.stderr
