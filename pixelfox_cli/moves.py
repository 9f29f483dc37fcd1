"""``pixelfox moves start|list|show|pause|resume|cancel``: moving a pool's images elsewhere.

Runs on the app host with the app's settings (database and Redis), like the
admin API it mirrors. ``start --wait`` prints the counters until the move ends
and exits 0 when it is done, 1 when it failed or was cancelled: the drain
playbook calls it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from arq.connections import ArqRedis

from pixelfox_app.config import AppSettings
from pixelfox_app.nodequeue import connect
from pixelfox_protocol.errors import APIError
from pixelfox_protocol.keys import RedisKeys

from .dbcommand import echo_table, with_db

T = TypeVar("T")
POLL_SECONDS = 1.0


def _run(work: Callable[[ArqRedis, RedisKeys], Awaitable[T]]) -> T:
    """Open database and Redis, run ``work``; a refusal (APIError) becomes one line."""
    settings = AppSettings.from_env()

    async def session() -> T:
        redis = connect(settings.redis_url, settings.ca_file)
        try:
            return await work(redis, RedisKeys(settings.redis_prefix))
        except APIError as exc:
            details = "".join(f"; {k}: {v}" for k, v in exc.details.items())
            raise click.ClickException(f"{exc.code}: {exc.message}{details}") from None
        finally:
            await redis.aclose()

    return with_db(settings, session)


def _line(info: object) -> str:
    from pixelfox_app.moves.api import MoveInfo

    assert isinstance(info, MoveInfo)
    return (
        f"move {info.id} {info.source} → {info.target}: {info.state}; "
        f"planned {info.planned}{'' if info.planning_finished else '+'}, done {info.done}, "
        f"failed {info.failed}, skipped {info.skipped}, {info.bytes_moved} bytes"
        + (f"; {info.replicas_left} replica(s) to place anew" if info.replicas_left else "")
    )


@click.group("moves")
def moves() -> None:
    """Move every image of one pool to another (rebalancing, draining a node)."""


@moves.command("start")
@click.option("--from", "source", required=True, help="Source pool (name or id).")
@click.option(
    "--to",
    "target",
    default="",
    help="Target pool (name or id); default: where placement would put new uploads, "
    "on another node.",
)
@click.option("--batch-size", default=200, show_default=True, help="Images planned per batch.")
@click.option("--wait", is_flag=True, help="Print progress until the move ends; 1 unless done.")
@click.option(
    "--attach",
    is_flag=True,
    help="If the source already has an unfinished move, follow it (resumed if paused) "
    "instead of refusing: a re-run of an interrupted drain.",
)
@click.option(
    "--skip-empty",
    is_flag=True,
    help="Start nothing when the source holds no images and no replicas "
    "(prints 'nothing to move').",
)
def moves_start(
    source: str, target: str, batch_size: int, wait: bool, attach: bool, skip_empty: bool
) -> None:
    """Start a move (the target must be active, healthy and have room)."""
    from pixelfox_app.copies.replicas import replicas_on
    from pixelfox_app.models import Image, MoveState
    from pixelfox_app.moves import control
    from pixelfox_app.moves.api import describe, load

    async def work(redis: ArqRedis, keys: RedisKeys) -> str:
        move = await control.unfinished_move(source) if attach else None
        if move is None and skip_empty:
            pool = await control.find_pool(source)
            held = await Image.filter(pool_id=pool.id).exists()
            if not held and not await replicas_on(pool.id).exists():
                click.echo(f"pool {pool.name} holds no images: nothing to move")
                return str(MoveState.DONE)
        if move is not None:
            if move.state == MoveState.PAUSED:
                move = await control.resume_move(move.id, redis, keys)
            click.echo(f"following move {move.id}, started earlier")
        else:
            move = await control.start_move(
                source, target or None, redis, keys, requested_by="cli", batch_size=batch_size
            )
        click.echo(_line(await describe(await load(move.id))))
        return await _follow(move.id) if wait else str(move.state)

    state = _run(work)
    if wait and state != "done":
        raise click.exceptions.Exit(1)


async def _follow(move_id: int) -> str:
    from pixelfox_app.models import MoveState
    from pixelfox_app.moves.api import describe, load

    last = ""
    while True:
        info = await describe(await load(move_id))
        line = _line(info)
        if line != last:
            click.echo(f"{time.strftime('%H:%M:%S')} {line}")
            last = line
        if info.state in (MoveState.DONE, MoveState.FAILED, MoveState.CANCELLED):
            return info.state
        await asyncio.sleep(POLL_SECONDS)


@moves.command("list")
@click.option("--limit", default=20, show_default=True)
def moves_list(limit: int) -> None:
    """The latest moves with their counters."""
    from pixelfox_app.models import Move
    from pixelfox_app.moves.api import MoveInfo, describe

    async def work(redis: ArqRedis, keys: RedisKeys) -> list[MoveInfo]:
        rows = await Move.all().order_by("-id").limit(limit).select_related("source", "target")
        return [await describe(m) for m in rows]

    infos = _run(work)
    if not infos:
        click.echo("no moves yet")
        return
    header = ["id", "from", "to", "state", "planned", "done", "failed", "skipped", "bytes"]
    counters = ("planned", "done", "failed", "skipped", "bytes_moved")
    rows = [
        [str(i.id), i.source, i.target, i.state, *(str(getattr(i, c)) for c in counters)]
        for i in infos
    ]
    echo_table([header, *rows])


@moves.command("show")
@click.argument("move_id", type=int)
def moves_show(move_id: int) -> None:
    """One move's counters and its per-image errors."""
    from pixelfox_app.moves.api import MoveInfo, describe, load

    async def work(redis: ArqRedis, keys: RedisKeys) -> MoveInfo:
        return await describe(await load(move_id), with_items=True)

    info = _run(work)
    click.echo(_line(info))
    for item in info.items:
        click.echo(f"  image {item.image_id}: {item.state}: {item.error}")


def _action(name: str, helptext: str) -> None:
    @moves.command(name, help=helptext)
    @click.argument("move_id", type=int)
    def command(move_id: int) -> None:
        from pixelfox_app.moves import control
        from pixelfox_app.moves.api import describe

        act = getattr(control, f"{name}_move")

        async def work(redis: ArqRedis, keys: RedisKeys) -> str:
            return _line(await describe(await act(move_id, redis, keys)))

        click.echo(_run(work))


_action("pause", "Pause a running move; resume continues where it stopped.")
_action("resume", "Resume a paused move.")
_action("cancel", "Stop a move for good; moved images stay moved.")
