"""``pixelfox scrub``: a pool's disk against the app's rows, and repair;
``pixelfox quarantine``: what a scrub set aside, and removing it.

Runs on the storage node that holds the pools, with the node's environment
(like ``pixelfox restore``): the node has the disks and the S3 credentials,
the app (asked over the internal API) the rows with sizes and hashes.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

    from pixelfox_storage.scrub.run import ScrubReport

EXIT_FAULTS = 3


@click.command("scrub")
@click.option("--pool", "pool_id", type=int, default=None, help="Only this pool (default: all).")
@click.option("--hashes", is_flag=True, help="Read every file and compare its SHA-256.")
@click.option("--repair", is_flag=True, help="Heal what is found (quarantine for orphans).")
@click.option(
    "--adopt",
    is_flag=True,
    help="Give originals without a row back to the app from the outbox journal "
    "(after a database restore).",
)
@click.option(
    "--dry-run", is_flag=True, help="With --repair or --adopt: only say what would be done."
)
@click.option(
    "--grace",
    "grace_seconds",
    type=click.IntRange(min=0),
    default=None,
    help="Files without a row younger than this (seconds) are no orphans "
    "[default: PIXELFOX_SCRUB_GRACE_SECONDS, 86400].",
)
@click.option(
    "--rate",
    "bytes_per_second",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Read at most this many bytes/s (0: no cap).",
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def scrub_command(
    pool_id: int | None,
    hashes: bool,
    repair: bool,
    adopt: bool,
    dry_run: bool,
    grace_seconds: int | None,
    bytes_per_second: int,
    progress: bool,
) -> None:
    """Compare this node's pools with the app's rows: missing files, wrong sizes,
    wrong SHA-256 (--hashes), variants missing for a ready image, orphans.

    With --adopt, first each original without a row that the node's outbox
    journal knows (bytes and SHA-256 read again) is offered to the app, which
    checks the upload token it signed and makes the row again.

    Prints the count per fault. Exit 0: no fault (or all repaired), 3: faults
    left (or originals not adopted), 1: the scrub could not run.
    """
    from pixelfox_storage.config import StorageSettings
    from pixelfox_storage.scrub.cli import ScrubFailed, scrub_node
    from pixelfox_storage.scrub.run import ScrubOptions

    settings = StorageSettings.from_env()
    options = ScrubOptions(
        hashes=hashes,
        repair=repair,
        adopt=adopt,
        dry_run=dry_run,
        bytes_per_second=bytes_per_second,
        grace_seconds=settings.scrub_grace_seconds if grace_seconds is None else grace_seconds,
        incoming_grace_seconds=settings.incoming_lifetime,
    )
    bars: dict[int, ProgressBar[int]] = {}

    def show(pool: int, done: int, total: int) -> None:
        if not progress:
            return
        bar = bars.get(pool)
        if bar is None:
            fresh: ProgressBar[int] = click.progressbar(
                length=max(total, 1), label=f"pool {pool}", file=sys.stderr
            )
            bar = bars[pool] = fresh.__enter__()
        bar.update(done - bar.pos)

    try:
        reports = asyncio.run(scrub_node(settings, options, pool_id=pool_id, progress=show))
    except ScrubFailed as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        for bar in bars.values():
            bar.__exit__(None, None, None)
    left = 0
    for report in reports:
        if adopt:
            left += _print_adoptions(report)
        for detail in report.details:
            line = f"{detail['outcome']:<12} {detail['kind']:<15} {detail['path']}"
            extra = "; ".join(x for x in (detail["detail"], detail["how"]) if x)
            click.echo(f"{line}  ({extra})" if extra else line)
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(report.faults.items()))
        click.echo(
            f"pool {report.pool_id}: {report.images} images, {report.files} files, "
            f"{report.bytes_read} bytes hashed; faults: {counts or 'none'}"
        )
        if not report.orphans_checked:
            click.echo(f"pool {report.pool_id}: no orphans looked for (a move into it is running)")
        if repair and report.faults:
            fixed = sum(report.repaired.values())
            unfixed = sum(report.unrepaired.values())
            verb = "would repair" if dry_run else "repaired"
            click.echo(
                f"pool {report.pool_id}: {verb} {fixed if not dry_run else report.fault_count}"
                f", unrepaired {unfixed}"
            )
        left += report.fault_count if (not repair or dry_run) else sum(report.unrepaired.values())
    if left:
        raise SystemExit(EXIT_FAULTS)


def _print_adoptions(report: ScrubReport) -> int:
    """Print what --adopt did on one pool; how many originals it left without a row."""
    from pixelfox_storage.scrub.adopt import LEFT

    counts: dict[str, int] = {}
    for item in report.adoptions:
        counts[item["outcome"]] = counts.get(item["outcome"], 0) + 1
        line = f"{item['outcome']:<12} {'original':<15} {item['path']}"
        click.echo(f"{line}  ({item['detail']})" if item["detail"] else line)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    click.echo(f"pool {report.pool_id}: originals without a row: {summary or 'none'}")
    return sum(n for outcome, n in counts.items() if outcome in LEFT)


@click.group("quarantine")
def quarantine() -> None:
    """Files a scrub moved aside (orphans, damaged variants): list and remove them."""


@quarantine.command("list")
@click.option("--pool", "pool_id", type=int, required=True)
def quarantine_list(pool_id: int) -> None:
    """Each quarantined file: the path it had in the pool, bytes, when it was moved."""
    import time

    from pixelfox_storage.scrub.repair import quarantined

    base = _pool_base(pool_id)
    entries = quarantined(base)
    for q in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(q.since))
        click.echo(f"{when}  {q.size:>12}  {q.path}")
    click.echo(f"quarantine of pool {pool_id}: {len(entries)} file(s)")


@quarantine.command("remove")
@click.option("--pool", "pool_id", type=int, required=True)
@click.option(
    "--older-than", "days", type=click.FloatRange(min=0), default=None, help="All older than DAYS."
)
@click.argument("paths", nargs=-1)
def quarantine_remove(pool_id: int, days: float | None, paths: tuple[str, ...]) -> None:
    """Delete quarantined files: the PATHS given (as `list` shows them), or --older-than."""
    from pixelfox_protocol.layout import UnsafePath
    from pixelfox_storage.scrub.repair import remove_quarantined

    if not paths and days is None:
        raise click.UsageError("name the files or give --older-than")
    try:
        removed = remove_quarantined(
            _pool_base(pool_id),
            paths=paths,
            older_than_seconds=None if days is None else days * 86400,
        )
    except UnsafePath as exc:
        raise click.BadParameter(f"not a file of the quarantine: {exc}") from None
    for path in removed:
        click.echo(f"removed {path}")
    click.echo(f"quarantine of pool {pool_id}: {len(removed)} file(s) removed")


def _pool_base(pool_id: int) -> Path:
    from pixelfox_storage.config import StorageSettings
    from pixelfox_storage.scrub.cli import ScrubFailed, pool_base

    try:
        return asyncio.run(pool_base(StorageSettings.from_env(), pool_id))
    except ScrubFailed as exc:
        raise click.ClickException(str(exc)) from None
