"""``pixelfox restore``: originals back from a pool's S3 backup, verified by SHA-256;
``pixelfox backup``: queue the backups a pool is missing.

Runs on the storage node that holds the pool, with the node's environment
(``PIXELFOX_NODE_ID``, ``…_NODE_CREDENTIAL``, ``…_APP_URL``, ``…_S3_*``, Redis):
the node has the pool directory and the bucket's credentials, the app (asked
over the internal API) has the list of originals and their hashes. On the
single-host appliance the node is ``local`` and runs on the app's host.
"""

from __future__ import annotations

import asyncio
import uuid

import click


@click.command("restore")
@click.option("--image", "image_uuid", default=None, help="Restore this image's original.")
@click.option(
    "--pool", "pool_id", type=int, default=None, help="Restore all of a pool's originals."
)
@click.option("--dry-run", is_flag=True, help="Only say which originals are missing or damaged.")
@click.option(
    "--variants/--no-variants",
    default=True,
    show_default=True,
    help="Queue the restored images' variants to be made again (background lane).",
)
def restore_command(
    image_uuid: str | None, pool_id: int | None, dry_run: bool, variants: bool
) -> None:
    """Bring originals back from the pool's backup bucket into the pool directory.

    Originals already on disk with the right SHA-256 are left alone; missing or
    damaged ones are downloaded, checked against the SHA-256 recorded at upload,
    and only then put in place. Exit 1 when any original could not be restored.
    """
    from pixelfox_storage.backup.restore import Outcome, RestoreError, restore
    from pixelfox_storage.config import StorageSettings

    if (image_uuid is None) == (pool_id is None):
        raise click.UsageError("give exactly one of --image or --pool")
    if image_uuid is not None:
        try:
            image_uuid = str(uuid.UUID(image_uuid))
        except ValueError:
            raise click.BadParameter("not a UUID", param_hint="--image") from None

    def show(outcome: Outcome) -> None:
        line = f"{outcome.state:<14} {outcome.image_uuid}  {outcome.path}"
        click.echo(f"{line}  ({outcome.detail})" if outcome.detail else line)

    settings = StorageSettings.from_env()
    try:
        outcomes = asyncio.run(
            restore(
                settings,
                image_uuid=image_uuid,
                pool_id=pool_id,
                dry_run=dry_run,
                remake_variants=variants,
                report=show,
            )
        )
    except RestoreError as exc:
        raise click.ClickException(str(exc)) from None
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.state] = counts.get(outcome.state, 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing to do"
    click.echo(f"restore: {summary}")
    if not all(o.ok for o in outcomes):
        raise SystemExit(1)


@click.command("backup")
@click.option(
    "--pool", "pool_id", type=int, required=True, help="The pool whose originals to queue."
)
def backup_command(pool_id: int) -> None:
    """Queue the S3 backup of a pool's originals that have none yet (runs on the app host).

    Uploads queue their backup by themselves; this catches up after the pool got
    its bucket, or after backups that gave up (the store away for hours). Each
    image is queued on its node's background lane with the job id
    ``<prefix>:node:<id>:backup:<uuid>``, so running it twice queues nothing twice.
    """

    from pixelfox_app.config import AppSettings
    from pixelfox_app.models import Image, StoragePool
    from pixelfox_app.nodequeue import connect, enqueue_backup
    from pixelfox_protocol.keys import RedisKeys

    from .dbcommand import with_db

    settings = AppSettings.from_env()

    async def work() -> tuple[int, int]:
        pool = await StoragePool.get_or_none(id=pool_id)
        if pool is None:
            raise ValueError(f"there is no pool {pool_id}")
        if not pool.backup_bucket.strip():
            raise ValueError(f"pool {pool_id} has no backup bucket; set one first")
        redis = connect(settings.redis_url, settings.ca_file)
        keys = RedisKeys(settings.redis_prefix)
        queued = pending = 0
        try:
            for image in await Image.filter(pool_id=pool_id, backed_up_at=None).order_by("id"):
                pending += 1
                queued += await enqueue_backup(redis, keys, image, pool)
        finally:
            await redis.aclose()
        return pending, queued

    pending, queued = with_db(settings, work)
    click.echo(f"backup: {pending} original(s) without a backup, {queued} queued now")


COMMANDS: list[click.Command] = [restore_command, backup_command]
