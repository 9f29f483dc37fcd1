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
        f"failed {info.failed}, skipped {info.skipped}, "
        + (f"quarantined {info.quarantined}, " if info.quarantined else "")
        + f"{info.bytes_moved} bytes"
        + (
            f"; {info.images_per_second:.1f} images/s, {info.bytes_per_second / 1e6:.1f} MB/s"
            if info.done
            else ""
        )
        + ("" if info.eta_seconds is None else f", about {info.eta_seconds:.0f} s left")
        + (f"; {info.replicas_left} replica(s) to place anew" if info.replicas_left else "")
    )


@click.group("moves")
def moves() -> None:
    """Move every image of one pool to another (rebalancing, draining a node)."""


def _throttle_options(command: Callable[..., None]) -> Callable[..., None]:
    """The throttle's options, shared by ``start`` and ``throttle``."""
    options = [
        click.option(
            "--bytes-per-second", type=click.IntRange(min=0), default=0, help="0: no limit."
        ),
        click.option(
            "--images-per-second", type=click.FloatRange(min=0), default=0.0, help="0: no limit."
        ),
        click.option(
            "--parallel",
            type=click.IntRange(0, 64),
            default=0,
            help="Files a batch job copies at once (images pushed at once to another node); "
            "0: the node's default.",
        ),
        click.option(
            "--window", default="", help="Run only from HH:MM to HH:MM, e.g. 01:00-06:00."
        ),
        click.option("--timezone", default="UTC", show_default=True, help="The window's zone."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _throttle(**given: object) -> object:
    from pydantic import ValidationError

    from pixelfox_app.moves.throttle import Throttle

    try:
        return Throttle.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.BadParameter(problems) from None


def _human(size: int) -> str:
    if abs(size) < 1000:
        return f"{size} bytes"
    scaled = float(size)
    for unit in ("kB", "MB", "GB", "TB"):
        scaled /= 1000
        if abs(scaled) < 1000 or unit == "TB":
            break
    return f"{scaled:.1f} {unit}"


def _echo_plan(plan: object) -> None:
    from pixelfox_app.moves.preflight import MovePlan

    assert isinstance(plan, MovePlan)
    click.echo(
        f"plan: {plan.images} images from {plan.source}: originals "
        f"{_human(plan.originals_bytes)}, variants {_human(plan.variants_bytes)}, "
        f"{_human(plan.bytes)} in all; {plan.replicas} replica(s) of other pools to place anew"
    )
    for target in plan.targets:
        after = "unknown" if target.free_bytes_after is None else _human(target.free_bytes_after)
        click.echo(
            f"  → {target.pool} on {target.node_id}: {target.images} images, "
            f"{_human(target.bytes)}; free after {after} (reserve "
            f"{_human(target.reserve_bytes or 0)})"
        )
    eta = "unthrottled" if plan.eta_seconds is None else f"{plan.eta_seconds:.0f} s at the throttle"
    window = (
        f", only {plan.throttle.window} {plan.throttle.timezone}" if plan.throttle.window else ""
    )
    click.echo(f"  time: {eta}{window}")
    for check in plan.checks:
        mark = {True: "ok", False: "FAILED", None: "not checked"}[check.ok]
        click.echo(f"  preflight {check.name}: {mark}{': ' + check.detail if check.detail else ''}")
    click.echo("ready to start" if plan.ready else "not ready: start would be refused")


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
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan and the preflight and start nothing (exit 1 when not ready).",
)
@_throttle_options
def moves_start(
    source: str,
    target: str,
    batch_size: int,
    wait: bool,
    attach: bool,
    skip_empty: bool,
    dry_run: bool,
    **throttle_given: object,
) -> None:
    """Start a move (the target must be active, healthy and have room)."""
    from pixelfox_app.copies.replicas import replicas_on
    from pixelfox_app.models import Image, MoveState
    from pixelfox_app.moves import control
    from pixelfox_app.moves.api import describe, load
    from pixelfox_app.moves.preflight import plan_for
    from pixelfox_app.moves.throttle import Throttle

    throttle = _throttle(**throttle_given)
    assert isinstance(throttle, Throttle)
    if dry_run:

        async def dry(redis: ArqRedis, keys: RedisKeys) -> bool:
            plan = await plan_for(source, target or None, redis, keys, throttle)
            _echo_plan(plan)
            return plan.ready

        if not _run(dry):
            raise click.exceptions.Exit(1)
        return

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
                source,
                target or None,
                redis,
                keys,
                requested_by="cli",
                batch_size=batch_size,
                throttle=throttle,
            )
        click.echo(_line(await describe(await load(move.id))))
        return await _follow(move.id) if wait else str(move.state)

    state = _run(work)
    if wait and state != "done":
        raise click.exceptions.Exit(1)


async def _follow(move_id: int) -> str:
    from pixelfox_app.models import MoveState
    from pixelfox_app.moves.api import describe, load
    from pixelfox_app.moves.rate import progress_bar

    last = ""
    while True:
        info = await describe(await load(move_id))
        finished = info.done + info.failed + info.skipped + info.quarantined
        line = f"{progress_bar(finished, info.images_left)} {_line(info)}"
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


@moves.command("throttle")
@click.argument("move_id", type=int)
@_throttle_options
def moves_throttle(move_id: int, **throttle_given: object) -> None:
    """Change a move's rates and window while it runs (options left out: no limit)."""
    from pixelfox_app.moves import control
    from pixelfox_app.moves.api import describe
    from pixelfox_app.moves.throttle import Throttle

    throttle = _throttle(**throttle_given)
    assert isinstance(throttle, Throttle)

    async def work(redis: ArqRedis, keys: RedisKeys) -> str:
        return _line(await describe(await control.set_throttle(move_id, throttle, redis, keys)))

    click.echo(_run(work))


_action("pause", "Pause a running move; resume continues where it stopped.")
_action("resume", "Resume a paused move.")
_action("cancel", "Stop a move for good; moved images stay moved.")
_action("retry", "Move the quarantined and failed images still on the source again.")
