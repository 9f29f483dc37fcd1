"""Entry point: ``pixelfox <command>``. Each group lives in its own module."""

from __future__ import annotations

import importlib
import sys

import click

# Command name → (module, attribute). Modules are imported only for the command
# that runs: a node worker must not pay for the control app's imports (start-up
# time of every process, and memory of every worker).
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("up", "up"),
    "serve-app": ("serve", "serve_app"),
    "serve-storage": ("serve", "serve_storage"),
    "worker": ("workers", "worker_cmd"),
    "control-worker": ("workers", "control_worker_cmd"),
    "migrate": ("admin", "migrate_command"),
    "create-admin": ("admin", "create_admin_command"),
    "nodes": ("admin", "nodes"),
    "redis-users": ("redisusers", "redis_users_group"),
    "pools": ("admin", "pools"),
    "moves": ("moves", "moves"),
    "copies": ("copies", "copies_command"),
    "secrets": ("secrets", "secrets"),
    "backup": ("restore", "backup_command"),
    "restore": ("restore", "restore_command"),
    "db": ("dbbackup", "db_group"),
    "scrub": ("scrub", "scrub_command"),
    "quarantine": ("scrub", "quarantine"),
    "doctor": ("ops", "doctor_command"),
    "openapi": ("ops", "openapi"),
    "error-codes": ("ops", "error_codes"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module = importlib.import_module(f"{__package__}.{target[0]}")
        command: click.Command = getattr(module, target[1])
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pixelfox")
def cli() -> None:
    """PixelFox hot storage: control app, storage nodes and their workers."""


def main() -> None:
    try:
        # Outside standalone mode click returns a command's Exit(code) instead of exiting.
        code = cli.main(standalone_mode=False)
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
    if isinstance(code, int) and code:
        sys.exit(code)
