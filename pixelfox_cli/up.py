"""``pixelfox up``: the single-host appliance.

One command runs the whole system on this machine on embedded defaults: a
SQLite file and a Redis (the one already answering, else a private one) under
a data dir, the control app, one storage node ``local`` with its pool, the
node worker and the control worker. It stops them all on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import click

from . import localredis, secretstore, upusers
from .appliance import prepare
from .processes import HOST, NODE_ID, Ports, plan
from .supervisor import Child, ChildFailed, StopRequested, Supervisor

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ADMIN_PASSWORD_FILE = "admin-password.txt"  # noqa: S105 (a file name)


def say(message: str) -> None:
    click.echo(f"  {message}")


def port_taken(port: int) -> bool:
    with socket.socket() as s:
        # Same option as the servers: a port in TIME_WAIT counts as free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def check_ports(app_port: int, node_port: int) -> None:
    if app_port == node_port:
        raise click.ClickException(f"--app-port and --node-port are both {app_port}")
    taken = [
        f"{port} (--{flag})"
        for port, flag in ((app_port, "app-port"), (node_port, "node-port"))
        if port_taken(port)
    ]
    if taken:
        raise click.ClickException(
            f"port {' and '.join(taken)} already in use on {HOST}; "
            "stop what holds it or choose another port"
        )


def lock_data_dir(data_dir: Path) -> int:
    """Hold an exclusive lock on the data dir for the life of this process."""
    fd = os.open(data_dir / "up.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise click.ClickException(
            f"another 'pixelfox up' is already running with data dir {data_dir}"
        ) from None
    return fd


def shown(path: Path) -> str:
    """A path relative to the working directory when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class StopFlag:
    """Set by SIGINT, SIGTERM or SIGHUP; polled by every wait of the supervisor."""

    def __init__(self) -> None:
        self.signal: int | None = None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._set)

    def _set(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum

    def __call__(self) -> bool:
        return self.signal is not None


def start_redis(
    sup: Supervisor, url: str, data_dir: Path, prefix: str, values: dict[str, str], install: bool
) -> tuple[str, str]:
    """A Redis URL that may manage users, and a line describing it; may start a private
    redis-server (its ``default`` user off, the control worker's user the manager)."""
    if localredis.answers(url):
        return url, f"using the Redis at {localredis.redacted(url)}"
    if not localredis.is_loopback(url):
        raise click.ClickException(f"no Redis answers at {localredis.redacted(url)}")
    binary = localredis.redis_server_binary(install, say)
    port = localredis.free_port()
    acl = upusers.private_acl(prefix, values)
    argv = localredis.private_redis_argv(binary, port, acl, data_dir / "redis")
    child = sup.start("redis", argv, dict(os.environ), cwd=data_dir, layer=0)
    private_url = upusers.worker_url(localredis.private_redis_url(port), prefix, values)
    deadline = time.monotonic() + 15
    while not localredis.answers(private_url, timeout=0.5):
        if not child.alive() or time.monotonic() > deadline:
            raise ChildFailed(child, "did not start")
        sup.sleep(0.1)
    return private_url, (
        f"nothing answers at {localredis.redacted(url)}; "
        f"started a private redis-server on {HOST}:{port} (pid {child.pid})"
    )


def save_admin_password(data_dir: Path, username: str, password: str) -> Path:
    """Keep a new admin's password (0600) so a later start can say where it is."""
    path = data_dir / ADMIN_PASSWORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"username: {username}\npassword: {password}\n")
    return path


def admin_line(data_dir: Path, username: str, password: str | None) -> str:
    path = data_dir / ADMIN_PASSWORD_FILE
    if password is not None:
        return f"{username} / {password}   (shown once; also in {shown(path)})"
    if path.exists():
        return f"{username}   (password in {shown(path)})"
    return f"{username}   (its password was printed when it was created)"


@dataclass(frozen=True)
class Options:
    data_dir: Path
    ports: Ports
    redis_url: str
    redis_prefix: str | None
    database_url: str | None
    admin_user: str
    install: bool


@click.command("up")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var"),
    show_default=True,
    envvar="PIXELFOX_DATA_DIR",
    help="Where the appliance keeps its database, secrets, pool and logs.",
)
@click.option("--app-port", type=int, default=8080, show_default=True, help="control app port")
@click.option("--node-port", type=int, default=8081, show_default=True, help="storage node port")
@click.option(
    "--redis-url",
    default=DEFAULT_REDIS_URL,
    show_default=True,
    help="Redis to use; when nothing answers on loopback, a private redis-server is started.",
)
@click.option("--redis-prefix", default=None, help="key prefix [default: one per data dir]")
@click.option(
    "--database-url", default=None, help="[default: SQLite file pixelfox.sqlite3 in the data dir]"
)
@click.option(
    "--metrics-port",
    type=int,
    default=9180,
    show_default=True,
    help="first of four /metrics ports (app, node, control worker, node worker); 0 = off",
)
@click.option("--admin-user", default="admin", show_default=True, help="name of the first admin")
@click.option(
    "--install/--no-install",
    default=True,
    show_default=True,
    help="install Debian's redis-server package when a private Redis is needed and missing",
)
def up(
    data_dir: Path,
    app_port: int,
    node_port: int,
    redis_url: str,
    redis_prefix: str | None,
    database_url: str | None,
    metrics_port: int,
    admin_user: str,
    install: bool,
) -> None:
    """Run the whole system on this machine until Ctrl-C."""
    data_dir = data_dir.resolve()
    stop = StopFlag()
    sup = Supervisor(data_dir / "logs", data_dir / "up.pids", stop)
    click.echo(f"PixelFox appliance in {data_dir}")
    lock_fd: int | None = None
    if data_dir.is_dir():
        lock_fd = lock_data_dir(data_dir)
        # A run killed outright (kill -9) leaves its children holding the ports.
        sup.stop_leftovers(say)
    check_ports(app_port, node_port)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_fd = lock_fd if lock_fd is not None else lock_data_dir(data_dir)
    options = Options(
        data_dir,
        Ports(app_port, node_port, metrics_port),
        redis_url,
        redis_prefix,
        database_url,
        admin_user,
        install,
    )
    try:
        run(sup, options)
    except StopRequested:
        pass
    except ChildFailed as exc:
        click.echo(f"error: {exc}; last lines of {shown(exc.child.log_path)}:", err=True)
        click.echo("\n".join(f"    {line}" for line in exc.child.log_tail().splitlines()), err=True)
        click.echo("stopping the other processes", err=True)
        sup.stop_all(report=say)
        sys.exit(1)
    except BaseException:
        sup.stop_all()
        raise
    name = signal.Signals(stop.signal).name if stop.signal else "stop"
    click.echo(f"{name} received: stopping")
    sup.stop_all(report=say)
    os.close(lock_fd)
    click.echo("PixelFox stopped.")


def run(sup: Supervisor, options: Options) -> None:
    """Start everything, report where to open it, then watch until told to stop."""
    data_dir, ports = options.data_dir, options.ports
    values = secretstore.load_or_create(data_dir, say)
    prefix = options.redis_prefix or values["PIXELFOX_REDIS_PREFIX"]
    redis_url, line = start_redis(sup, options.redis_url, data_dir, prefix, values, options.install)
    say(f"redis: {line}, key prefix {prefix}")
    sup.sleep(0)

    database_url = options.database_url or f"sqlite://{data_dir / 'pixelfox.sqlite3'}"
    pool_path = data_dir / "pool-local"
    prepared = asyncio.run(
        prepare(
            database_url,
            admin_username=options.admin_user,
            node_credential=values.get("PIXELFOX_NODE_CREDENTIAL", ""),
            pool_path=pool_path,
            node_url=ports.node_url,
            report=say,
        )
    )
    # Both are kept before anything else can fail: they exist only in memory so far.
    if prepared.credential_issued:
        secretstore.remember(data_dir, "PIXELFOX_NODE_CREDENTIAL", prepared.node_credential)
    if prepared.admin_password is not None:
        path = save_admin_password(data_dir, prepared.admin_username, prepared.admin_password)
        say(f"admin: created {prepared.admin_username} (password in {shown(path)})")
    say(f"node {NODE_ID}: pool {prepared.pool_id} at {shown(pool_path)}")
    urls, line = upusers.set_users(
        redis_url, prefix, values, database_url, NODE_ID, prepared.node_credential
    )
    say(f"redis: {line}")
    sup.sleep(0)

    stages = plan(
        ports,
        data_dir=data_dir,
        database_url=database_url,
        redis=urls,
        redis_prefix=prefix,
        secrets=values,
        node_credential=prepared.node_credential,
    )
    workers: list[Child] = []
    for layer, stage in enumerate(stages, start=1):
        waiting: list[tuple[Child, str]] = []
        for process in stage:
            # Later stages stop first: e.g. a node hands its last reports to a running app.
            child = sup.start(process.name, process.argv(), process.env, data_dir, layer)
            say(f"{process.name}: started (pid {child.pid})")
            if process.health_url:
                waiting.append((child, process.health_url))
            else:
                workers.append(child)
        for child, url in waiting:
            took = sup.wait_healthy(child, url)
            say(f"{child.name}: answers {url} after {took:.1f} s")
    for child in workers:
        # A worker that cannot import its jobs or reach Redis dies within a second.
        sup.wait_alive(child, 1.0 - (time.monotonic() - child.started_at))

    click.echo("")
    click.echo("PixelFox is running.")
    click.echo(f"  open     {ports.app_url}/")
    admin = admin_line(data_dir, prepared.admin_username, prepared.admin_password)
    click.echo(f"  admin    {admin}")
    click.echo(f"  node     {NODE_ID} at {ports.node_url}, pool {shown(pool_path)}")
    click.echo(f"  logs     {shown(sup.log_dir)}/")
    if ports.metrics:
        click.echo(f"  metrics  http://{HOST}:{ports.metrics}-{ports.metrics + 3}/metrics")
    click.echo(f"  note     listening on {HOST} only; put nginx in front to serve others")
    click.echo("Press Ctrl-C to stop.")
    sup.watch()


COMMANDS = [up]
