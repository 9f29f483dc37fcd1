"""Operations commands: the API documents (openapi, error-codes) and doctor."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from pixelfox_app.config import AppSettings

from . import apidocs, doctor, doctor_figures

_DOCS_DIR = click.option(
    "--docs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs"),
    show_default=True,
    help="Where the checked-in documents live.",
)


def _export(docs_dir: Path, names: list[str]) -> None:
    for path in apidocs.write(docs_dir, names):
        click.echo(f"wrote {path}")


def _check(docs_dir: Path, names: list[str], command: str) -> None:
    outdated = apidocs.stale(docs_dir, names)
    for name in names:
        click.echo(f"{'stale' if name in outdated else 'ok':<5}  {docs_dir / name}")
    if outdated:
        raise click.ClickException(
            f"{', '.join(outdated)} differ from the code: run 'pixelfox {command} export'"
        )


@click.group("openapi")
def openapi() -> None:
    """The OpenAPI documents of the app and the storage node (docs/openapi-*.json)."""


@openapi.command("export")
@_DOCS_DIR
def openapi_export(docs_dir: Path) -> None:
    """Write both OpenAPI documents from the live app factories."""
    _export(docs_dir, list(apidocs.OPENAPI_FILES.values()))


@openapi.command("check")
@_DOCS_DIR
def openapi_check(docs_dir: Path) -> None:
    """Exit 1 when a checked-in OpenAPI document differs from the code."""
    _check(docs_dir, list(apidocs.OPENAPI_FILES.values()), "openapi")


@click.group("error-codes")
def error_codes() -> None:
    """The error-code page generated from the catalogue (docs/errors.md)."""


@error_codes.command("export")
@_DOCS_DIR
def error_codes_export(docs_dir: Path) -> None:
    """Write docs/errors.md from protocol.errors.CODES."""
    _export(docs_dir, [apidocs.ERRORS_FILE])


@error_codes.command("check")
@_DOCS_DIR
def error_codes_check(docs_dir: Path) -> None:
    """Exit 1 when docs/errors.md differs from the catalogue."""
    _check(docs_dir, [apidocs.ERRORS_FILE], "error-codes")


@click.command("doctor")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds per network check.")
@click.option(
    "--nginx-url", default="", help="An nginx origin serving /uploads/, to check signed links."
)
@click.option(
    "--node-id",
    default="",
    help="The node whose nginx --nginx-url is (default: what its /healthz says).",
)
@click.option(
    "--check-node-nginx/--no-check-node-nginx",
    envvar="PIXELFOX_DOCTOR_NODE_NGINX",
    default=False,
    help="Without --nginx-url: check every node's nginx at its pool's public URL "
    "(env PIXELFOX_DOCTOR_NODE_NGINX; set on Ansible-built app hosts).",
)
def doctor_command(timeout: float, nginx_url: str, node_id: str, check_node_nginx: bool) -> None:
    """Check a running installation end to end: one line per check, exit 1 on any failure.

    Reads the control app's settings (PIXELFOX_* variables): database, Redis,
    keys, every registered node's heartbeat, every active pool's upload API;
    then the last database backup, the job queues, the nodes' outbox
    quarantine, images short of copies and the scrub's faults.
    """
    settings = AppSettings.from_env()
    results: list[doctor.Result] = []

    def emit(result: doctor.Result) -> None:
        results.append(result)
        click.echo(result.line())

    ctx = doctor.Context(
        settings,
        timeout=timeout,
        nginx_url=nginx_url,
        node_id=node_id,
        check_node_nginx=check_node_nginx,
    )
    checks = [*doctor.CHECKS, *doctor_figures.CHECKS]
    healthy = asyncio.run(doctor.run(ctx, emit, checks))
    click.echo(doctor.summary(results))
    if not healthy:
        # Not a ClickException: the summary above already said what failed.
        sys.exit(1)


COMMANDS: list[click.Command] = [openapi, error_codes, doctor_command]
