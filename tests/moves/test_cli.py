"""``pixelfox moves``: what the drain playbook runs on the app host."""

from __future__ import annotations

import os
import subprocess

import pytest

from pixelfox_app.models import Image, Move
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
    last = run.stdout.strip().splitlines()[-1]
    assert "[####################] 100%" in last  # the progress bar, full at the end
    assert " images/s, " in last and " MB/s" in last
    listed = _pixelfox(stack, "list")
    assert listed.returncode == 0
    assert source.name in listed.stdout


async def test_a_refused_start_says_why_and_exits_non_zero(stack: Stack):
    pool = await stack.pool("s01")

    run = _pixelfox(stack, "start", "--from", pool.name, "--to", pool.name, "--wait")

    assert run.returncode != 0
    assert "MOVE_SAME_POOL" in run.stderr


async def test_start_without_a_target_moves_where_placement_puts_uploads_on_another_node(
    stack: Stack,
):
    source = await stack.pool("s01")
    await stack.pool("s02")  # at least one pool of s02 has reported in
    stored = [await stack.image(source, variants=0) for _ in range(2)]

    run = _pixelfox(stack, "start", "--from", source.name, "--wait")

    assert run.returncode == 0, run.stderr
    images = [await Image.get(id=s.id).select_related("pool") for s in stored]
    assert {image.pool.node_id for image in images} == {"s02"}
    assert f"{source.name} → {images[0].pool.name}: done; planned 2, done 2" in run.stdout


async def test_attach_follows_the_sources_unfinished_move_and_resumes_it(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    for _ in range(4):
        await stack.image(source, variants=0)
    stack.stop_worker("s01")  # the move is still unfinished when it is paused
    move_id = stack.start_move(source, target, batch_size=1)["id"]
    stack.act(move_id, "pause")
    stack.start_worker("s01")

    refused = _pixelfox(stack, "start", "--from", source.name, "--to", target.name)
    run = _pixelfox(stack, "start", "--from", source.name, "--attach", "--wait")

    assert refused.returncode != 0 and "MOVE_RUNNING" in refused.stderr
    assert run.returncode == 0, run.stderr
    assert f"following move {move_id}" in run.stdout
    assert stack.move(move_id)["state"] == "done"
    assert stack.move(move_id)["done"] == 4


async def test_skip_empty_starts_nothing_for_a_pool_without_images(stack: Stack):
    empty = await stack.pool("s01")
    before = _pixelfox(stack, "list").stdout

    run = _pixelfox(stack, "start", "--from", empty.name, "--skip-empty", "--attach", "--wait")

    assert run.returncode == 0, run.stderr
    assert f"pool {empty.name} holds no images: nothing to move" in run.stdout
    assert _pixelfox(stack, "list").stdout == before


async def test_cli_dry_run_prints_the_plan_and_starts_nothing(stack: Stack):
    source, target = await stack.pool("s01"), await stack.pool("s02")
    for _ in range(2):
        await stack.image(source, variants=1)
    moves_before = await Move.all().count()

    run = _pixelfox(stack, "start", "--from", source.name, "--to", target.name, "--dry-run")

    assert run.returncode == 0, run.stderr
    assert f"plan: 2 images from {source.name}" in run.stdout
    assert f"→ {target.name} on s02: 2 images" in run.stdout
    assert "preflight target_room: ok" in run.stdout
    assert "ready to start" in run.stdout
    assert await Move.all().count() == moves_before
