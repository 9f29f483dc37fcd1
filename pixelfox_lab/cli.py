"""`python -m pixelfox_lab up|down|status|exec|ssh|add-host|forward|render-docs`."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from pixelfox_lab.config import (
    CONTROLLER,
    DEFAULT_HOSTS,
    DEFAULT_PREFIX,
    DEFAULT_SUBNET,
    LabError,
)
from pixelfox_lab.hosts import BASE_ENV
from pixelfox_lab.inventory import LAB_INVENTORY
from pixelfox_lab.lab import Lab, LabStatus

F = TypeVar("F", bound=Callable[..., Any])


def _lab_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LabError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def _print_status(status: LabStatus) -> None:
    if not status.up:
        click.echo(f"lab {status.prefix}: down")
        for line in status.leftovers:
            click.echo(f"  leftover: {line}")
        return
    click.echo(
        f"lab {status.prefix}: up, subnet {status.subnet}, "
        f"controller {status.controller_address} (netns {status.prefix}-ctl)"
    )
    rows = [("HOST", "ADDRESS", "DNS NAME", "PID 1", "SSHD", "CAP")]
    for h in status.hosts:
        cap = f"{h.bandwidth_mbit:g} mbit" if h.bandwidth_mbit is not None else "-"
        pid = str(h.pid) if h.pid is not None else "not running"
        rows.append((h.name, h.address, h.dns_name, pid, "yes" if h.ssh_listening else "no", cap))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@click.group()
@click.option(
    "--prefix",
    default=DEFAULT_PREFIX,
    envvar="PIXELFOX_LAB_PREFIX",
    show_default=True,
    help="Names the lab: its namespaces, directories and state.",
)
@click.pass_context
def cli(ctx: click.Context, prefix: str) -> None:
    """Several isolated hosts on this machine that behave like small VPS (needs root)."""
    ctx.obj = prefix


@cli.command()
@click.option("--hosts", default=",".join(DEFAULT_HOSTS), show_default=True)
@click.option("--bandwidth-mbit", type=float, help="Cap every host in both directions.")
@click.option("--subnet", default=DEFAULT_SUBNET, show_default=True)
@click.pass_obj
@_lab_errors
def up(prefix: str, hosts: str, bandwidth_mbit: float | None, subnet: str) -> None:
    """Create the lab and wait until every host's sshd listens."""
    started = time.monotonic()
    lab = Lab(hosts=hosts.split(","), prefix=prefix, bandwidth_mbit=bandwidth_mbit, subnet=subnet)
    lab.up()
    _print_status(lab.status())
    click.echo(f"up in {time.monotonic() - started:.2f} s")


@cli.command()
@click.pass_obj
@_lab_errors
def down(prefix: str) -> None:
    """Kill, unmount and delete everything of the lab (idempotent)."""
    started = time.monotonic()
    Lab(hosts=(), prefix=prefix).down()
    click.echo(f"lab {prefix}: down in {time.monotonic() - started:.2f} s")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@_lab_errors
def status(prefix: str, as_json: bool) -> None:
    """Show the hosts of the lab, or what is left of it."""
    result = Lab(hosts=(), prefix=prefix).status()
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result), indent=2))
    else:
        _print_status(result)


@cli.command("add-host")
@click.argument("name")
@click.option("--bandwidth-mbit", type=float, help="Default: the lab's cap.")
@click.option(
    "--inventory",
    type=click.Path(dir_okay=False, path_type=Path),
    default=LAB_INVENTORY,
    show_default="inventory/lab/hosts.yml",
    help="List the host in this Ansible inventory too.",
)
@click.option("--group", default="storage", show_default=True, help="Its inventory group.")
@click.option("--no-inventory", is_flag=True, help="Leave the inventory alone.")
@click.pass_obj
@_lab_errors
def add_host(
    prefix: str,
    name: str,
    bandwidth_mbit: float | None,
    inventory: Path,
    group: str,
    no_inventory: bool,
) -> None:
    """Add one more host to the running lab, and list it in the lab's inventory."""
    from pixelfox_lab import inventory as lab_inventory

    lab = Lab.attach(prefix)
    lab.add_host(name, bandwidth_mbit=bandwidth_mbit)
    click.echo(f"{name}: {lab.address(name)} {lab.dns_name(name)}")
    if not no_inventory:
        added = lab_inventory.add_host(inventory, name, group)
        said = "listed" if added else "already listed"
        click.echo(f"{name}: {said} under {group} in {inventory}")


@cli.command()
@click.argument("hosts", nargs=-1)
@click.option("--port", default=80, show_default=True, help="The port on both ends.")
@click.pass_obj
@_lab_errors
def forward(prefix: str, hosts: tuple[str, ...], port: int) -> None:
    """Reach HOSTS (default: every host) from this machine's loopback until Ctrl-C.

    Each host gets its own 127.0.80.N; add the printed lines to /etc/hosts and
    open http://app.pixelfox.test/ in a browser here.
    """
    import shutil
    import signal

    from pixelfox_lab import forward as relay

    if shutil.which("socat") is None:
        raise click.ClickException("socat is not installed (scripts/lab-system-deps)")
    lab = Lab.attach(prefix)
    forwards = relay.plan(lab, list(hosts), port)
    processes = relay.start(lab, forwards)
    click.echo("# forwarding; add these lines to /etc/hosts (Ctrl-C stops):")
    for f in forwards:
        click.echo(f"{f.hosts_line():<40} # -> {f.host} {f.target}:{f.port}")
    stop = {signal.SIGINT, signal.SIGTERM}
    # Blocked only now: the relays started above keep their default signal handling.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    try:
        signal.sigwait(stop)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


@cli.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
@_lab_errors
def exec_(prefix: str, host: str, command: tuple[str, ...]) -> None:
    """Run COMMAND (default: a login shell) inside HOST or the controller.

    Put `--` before a command that has options: `exec s01 -- ls -la /srv`.
    """
    lab = Lab.attach(prefix)
    cmd = list(command) or ["bash", "-l"]
    if host == CONTROLLER:
        argv, env = lab.controller.argv(cmd), dict(os.environ)
    else:
        argv = lab.argv(host, cmd)
        env = {**BASE_ENV, **{k: os.environ[k] for k in ("TERM",) if k in os.environ}}
    # exec, not a child: the terminal, signals and exit status belong to the command.
    os.execvpe(argv[0], argv, env)  # noqa: S606


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
@_lab_errors
def ssh(prefix: str, host: str, command: tuple[str, ...]) -> None:
    """SSH from the controller to HOST as root, as Ansible does."""
    lab = Lab.attach(prefix)
    argv = lab.controller.argv(["ssh", f"root@{lab.dns_name(host)}", *command])
    os.execvp(argv[0], argv)  # noqa: S606


@cli.command("render-docs")
def render_docs() -> None:
    """Write docs/nginx/pixelfox-storage.conf: the nginx role's storage site, rendered."""
    from pixelfox_lab.sites import write_docs

    click.echo(f"wrote {write_docs()}")


def main() -> None:
    cli(prog_name="python -m pixelfox_lab")
