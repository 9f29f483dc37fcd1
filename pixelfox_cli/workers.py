"""The two kinds of arq worker: ``pixelfox worker`` (a storage node) and ``control-worker``."""

from __future__ import annotations

import asyncio

import click


def _report_health(found: dict[str, str | None]) -> None:
    for queue, line in found.items():
        click.echo(f"{queue}: {line}" if line else f"{queue}: no recent health record")
    if not all(found.values()):
        raise click.ClickException("worker not healthy")


@click.command("worker")
@click.option(
    "--node",
    "node_id",
    default=None,
    help="This node's id [default: PIXELFOX_NODE_ID].",
)
@click.option(
    "--lane",
    type=click.Choice(["all", "fresh", "background"]),
    default="all",
    show_default=True,
    help="Which queue(s) this process serves; 'all' runs both lanes in one process.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit 0 when the lane workers recorded their health within the last ~10 s.",
)
def worker_cmd(node_id: str | None, lane: str, check: bool) -> None:
    """Run a storage node's worker: variants of fresh uploads, and background work."""
    from pixelfox_storage.config import StorageSettings
    from pixelfox_storage.node_worker import LANES, check_node_worker, run_node_worker

    overrides = {"node_id": node_id} if node_id else {}
    settings = StorageSettings.from_env(**overrides)
    lanes = list(LANES) if lane == "all" else [lane]
    if check:
        _report_health(check_node_worker(settings, lanes))
        return

    from pixelfox_common import observe
    from pixelfox_storage.node_worker.lanes import queue_name
    from pixelfox_storage.processing import parse_variants

    try:
        parse_variants(settings.variants)
    except ValueError as exc:
        raise click.ClickException(f"PIXELFOX_VARIANTS: {exc}") from None
    observe.start(
        "node-worker",
        log_format=settings.log_format,
        log_level=settings.log_level,
        metrics_bind=settings.worker_metrics_bind,
        redis_url=settings.redis_url,
        queues=[queue_name(settings, name) for name in lanes],
        node_id=settings.node_id,
    )
    asyncio.run(run_node_worker(settings, lanes))


@click.command("control-worker")
@click.option(
    "--check",
    is_flag=True,
    help="Exit 0 when the control worker recorded its health within the last ~10 s.",
)
def control_worker_cmd(check: bool) -> None:
    """Run the control worker: the stuck-processing sweeper and other app-side jobs."""
    from pixelfox_app.config import AppSettings
    from pixelfox_app.control_worker import check_control_worker, run_control_worker

    settings = AppSettings.from_env()
    if check:
        _report_health(check_control_worker(settings))
        return

    from pixelfox_common import observe
    from pixelfox_protocol.keys import RedisKeys

    observe.start(
        "control-worker",
        log_format=settings.log_format,
        log_level=settings.log_level,
        metrics_bind=settings.worker_metrics_bind,
        redis_url=settings.redis_url,
        queues=[RedisKeys(settings.redis_prefix).control_queue],
    )
    run_control_worker(settings)


COMMANDS = [worker_cmd, control_worker_cmd]
