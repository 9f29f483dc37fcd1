"""Entry point: ``pixelfox <command>``. Each group lives in its own module."""

from __future__ import annotations

import sys

import click

from . import admin, ops, secrets, serve, up, workers


class CLIError(click.ClickException):
    """A failure the operator can act on: printed as one line, exit code 1."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pixelfox")
def cli() -> None:
    """PixelFox hot storage: control app, storage nodes and their workers."""


for module in (admin, ops, secrets, serve, up, workers):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
