"""PixelFox on lab hosts, started through the lab API (not Ansible): the fixture of the e2e tests.

- ``app``: Redis, PostgreSQL (a cluster of its own made with ``initdb`` into the
  host's ``/srv/pg``; the machine's own cluster is never touched) or SQLite,
  the control app on ``:8080`` and the control worker;
- each storage host ``sNN``: registered with ``pixelfox nodes add`` on the app
  host, whose printed environment is exactly what the node gets; a pool added
  with ``pixelfox pools add``; nginx with the nginx role's storage site
  (rendered with the role's defaults and this lab's values), serving
  ``/uploads/`` from the pool directory and proxying the upload API; the
  storage service on ``127.0.0.1:8081`` and the node worker.

Everything a host runs is a process of this object (``lab.popen``), stopped by
:meth:`LabStack.close`; the lab's ``down`` kills whatever is left, also after
a failed run. Output of every service goes to ``logs_dir`` on the machine.
"""

from __future__ import annotations

import secrets
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from pixelfox_lab import Lab
from pixelfox_lab.sites import storage_site
from pixelfox_protocol.internal import UPLOAD_PATH
from pixelfox_protocol.tokens import new_signing_key

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PIXELFOX = [PYTHON, "-m", "pixelfox_cli"]
APP_PORT = 8080
STORAGE_PORT = 8081
POOL_DIR = "/srv/pixelfox/pool"
LOCAL_POOL_DIR = "/srv/pixelfox/pool-local"
# Shared by a storage host's nginx and its storage service (spooled uploads).
SPOOL_SECRET = "lab-spool-secret"
PG_BIN = "/usr/lib/postgresql/15/bin"

_NGINX_MAIN = """\
# The lab's nginx of {node}: the nginx role's storage site, nothing else.
user root;
worker_processes 1;
pid /run/nginx-pixelfox.pid;
error_log /srv/nginx/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /srv/nginx/access.log;
    client_body_temp_path /srv/nginx/tmp/body;
    proxy_temp_path /srv/nginx/tmp/proxy;
    fastcgi_temp_path /srv/nginx/tmp/fastcgi;
    uwsgi_temp_path /srv/nginx/tmp/uwsgi;
    scgi_temp_path /srv/nginx/tmp/scgi;
    include /srv/nginx/storage.conf;
}}
"""


def render_nginx(
    node: str, link_secret: str, pool_name: str = "", app_url: str = ""
) -> tuple[str, str]:
    """(nginx.conf, storage site) of a storage host: the nginx role's site, this lab's values.

    ``link_secret`` is the app's master: the site gets the node's own, as the role derives it.
    A public file the pool ``pool_name`` lacks is redirected to the app at ``app_url``
    (both given; else a miss is a 404).
    """
    site = storage_site(
        {
            "nginx_ipv6": False,
            "nginx_storage_server_name": f"{node}.pixelfox.test",
            "nginx_storage_pool_path": POOL_DIR,
            "nginx_storage_upstream": f"127.0.0.1:{STORAGE_PORT}",
            "nginx_storage_spool_secret": SPOOL_SECRET,
            "nginx_storage_node_id": node,
            "pixelfox_link_secret": link_secret,
            "nginx_storage_pool_name": pool_name,
            "nginx_storage_resolver_url": app_url,
        }
    )
    return _NGINX_MAIN.format(node=node), site


@dataclass
class Service:
    host: str
    name: str
    proc: subprocess.Popen[Any]
    log: Path
    handle: IO[bytes]

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.handle.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.handle.close()

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Node:
    node_id: str
    pool_id: int
    pool_name: str
    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def public_base_url(self) -> str:
        return f"http://{self.node_id}.pixelfox.test"

    @property
    def redis_url(self) -> str:
        """The Redis URL ``nodes add`` printed: the node's own user, its credential."""
        return self.env["PIXELFOX_REDIS_URL"]

    @property
    def redis_user(self) -> str:
        """``<prefix>-node-<id>``: what a thief of this node's env file logs in as."""
        return urlsplit(self.redis_url).username or ""


class LabStack:
    """The services of one PixelFox installation on a running lab."""

    def __init__(
        self,
        lab: Lab,
        logs_dir: Path,
        *,
        redis_prefix: str = "pixelfox",
        database: str = "postgres",
        node_workers: bool = True,
    ) -> None:
        self.lab = lab
        self.logs_dir = logs_dir
        self.database = database
        self.node_workers = node_workers
        self.services: list[Service] = []
        self.nodes: dict[str, Node] = {}
        signing_key, self.public_key = new_signing_key()
        self.app_url = f"http://{lab.dns_name('app')}:{APP_PORT}"
        db_url = (
            "postgres://postgres@127.0.0.1:5432/pixelfox"
            if database == "postgres"
            else "sqlite:///srv/pixelfox/app/pixelfox.sqlite3"
        )
        self.app_env = {
            "PIXELFOX_DATABASE_URL": db_url,
            "PIXELFOX_REDIS_URL": f"redis://{lab.dns_name('app')}:6379/0",
            "PIXELFOX_REDIS_PREFIX": redis_prefix,
            "PIXELFOX_DATA_DIR": "/srv/pixelfox/app",
            "PIXELFOX_PUBLIC_DOMAIN": self.app_url,
            "PIXELFOX_INTERNAL_URL": self.app_url,
            "PIXELFOX_SECRET_KEY": secrets.token_urlsafe(32),
            "PIXELFOX_TOKEN_SIGNING_KEY": signing_key,
            "PIXELFOX_LINK_SECRET": secrets.token_urlsafe(24),
            "PIXELFOX_METRICS_BIND": "off",
            "PIXELFOX_WORKER_METRICS_BIND": "off",
        }

    # --- processes -------------------------------------------------------------

    def start(
        self, host: str, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> Service:
        log = self.logs_dir / f"{host}-{name}.log"
        handle = log.open("ab")
        proc = self.lab.popen(
            host, argv, env=env, cwd=str(ROOT), stdout=handle, stderr=subprocess.STDOUT
        )
        service = Service(host, name, proc, log, handle)
        self.services.append(service)
        return service

    def run(self, host: str, cmd: list[str] | str, *, env: dict[str, str] | None = None,
            timeout: float = 120) -> str:  # fmt: skip
        return self.lab.run(host, cmd, env=env, cwd=str(ROOT), timeout=timeout).stdout

    def wait_http(self, host: str, url: str, service: Service, seconds: float = 60) -> None:
        """Wait until ``url`` answers 2xx from inside ``host`` (curl in a shell loop)."""
        loop = (
            f"for i in $(seq 1 {int(seconds * 5)}); do "
            f"curl -sf -o /dev/null {shlex.quote(url)} && exit 0; sleep 0.2; done; exit 1"
        )
        result = self.lab.run(host, loop, check=False, timeout=seconds + 10)
        if result.returncode != 0 or service.proc.poll() is not None:
            raise RuntimeError(f"{service.name} on {host} did not come up:\n{service.tail()}")

    def pixelfox(self, *args: str, timeout: float = 120) -> str:
        """``pixelfox ARGS`` on the app host with the app's environment; its stdout."""
        return self.run("app", [*PIXELFOX, *args], env=self.app_env, timeout=timeout)

    def app_python(self, code: str) -> str:
        """Run ``code`` (an async body, Tortoise open) on the app host; its stdout."""
        script = (
            "import asyncio, os\n"
            "from pixelfox_app.db import init_db, close_db\n"
            "async def main():\n"
            "    await init_db(os.environ['PIXELFOX_DATABASE_URL'])\n"
            "    try:\n"
            + "".join(f"        {line}\n" for line in code.strip().splitlines())
            + "    finally:\n"
            "        await close_db()\n"
            "asyncio.run(main())\n"
        )
        return self.run("app", [PYTHON, "-c", script], env=self.app_env)

    # --- the app host ----------------------------------------------------------

    def start_app_host(self) -> None:
        redis = self.start(
            "app",
            "redis",
            ["redis-server", "--port", "6379", "--bind", "0.0.0.0", "--protected-mode", "no",
             "--save", "", "--appendonly", "no", "--dir", "/tmp"],
        )  # fmt: skip
        self.run(
            # Up to a minute: a busy machine starts processes slowly.
            "app",
            "for i in $(seq 1 600); do redis-cli ping && exit 0; sleep 0.1; done; exit 1",
        )
        if redis.proc.poll() is not None:
            raise RuntimeError(f"redis did not start:\n{redis.tail()}")
        self.run("app", f"mkdir -p /srv/pixelfox/app {LOCAL_POOL_DIR}")
        if self.database == "postgres":
            self._start_postgres()
        self.pixelfox("migrate")
        app = self.start(
            "app", "app", [*PIXELFOX, "serve-app", "--bind", f"0.0.0.0:{APP_PORT}"], self.app_env
        )
        self.wait_http("app", f"{self.app_url}/healthz", app)
        self.start("app", "control-worker", [*PIXELFOX, "control-worker"], self.app_env)

    def _start_postgres(self) -> None:
        as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        self.run(
            "app",
            "mkdir -p /srv/pg && chown postgres:postgres /srv/pg && "
            f"setpriv --reuid=postgres --regid=postgres --init-groups {PG_BIN}/initdb "
            "-D /srv/pg/data -U postgres -A trust --no-sync -E UTF8 >/dev/null",
        )
        pg = self.start(
            "app",
            "postgres",
            [*as_postgres, f"{PG_BIN}/postgres", "-D", "/srv/pg/data", "-p", "5432",
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=/tmp",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        )  # fmt: skip
        ready = (
            f"for i in $(seq 1 600); do {PG_BIN}/pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; "
            "sleep 0.1; done; exit 1"
        )
        if self.lab.run("app", ready, check=False).returncode != 0:
            raise RuntimeError(f"postgres did not start:\n{pg.tail()}")
        self.run("app", [f"{PG_BIN}/createdb", "-h", "127.0.0.1", "-U", "postgres", "pixelfox"])

    def api_tokens(self, users: dict[str, bool]) -> dict[str, str]:
        """Users (name → is admin) and a personal API token for each."""
        out = self.app_python(
            f"""
from pixelfox_app.auth.passwords import hash_password
from pixelfox_app.auth.tokens import create_api_token
from pixelfox_app.models import User
for name, admin in {users!r}.items():
    user = await User.create(username=name, password_hash=hash_password(name * 8), is_admin=admin)
    print(name, await create_api_token(user, "lab"))
"""
        )
        return dict(line.split(" ", 1) for line in out.strip().splitlines()[-len(users) :])

    def knob(self, key: str, value: object) -> None:
        self.knobs({key: value})

    def knobs(self, values: dict[str, object]) -> None:
        """Set operator knobs (one process for all of them)."""
        puts = "\n".join(f"await knobs.put({k!r}, {v!r})" for k, v in values.items())
        self.app_python(f"from pixelfox_app import knobs\n{puts}")

    def add_local_pool(self) -> int:
        """The app host's own pool (node ``local``), which proxy-mode uploads go to."""
        out = self.pixelfox(
            "pools", "add", "local", "--base-path", LOCAL_POOL_DIR, "--node", "local",
            "--reserve", "0", "--public-base-url", self.app_url,
        )  # fmt: skip
        return int(out.split("(id ", 1)[1].split(")", 1)[0])

    # --- storage hosts ---------------------------------------------------------

    def add_nodes(self, pools: dict[str, dict[str, str]]) -> list[Node]:
        """Register each node, add its pool, then start every node's services at once.

        ``pools``: node id → extra ``pools add`` options (``{"priority": "10"}``).
        Registration runs the CLI's own commands in one process (imports are slow
        on a busy machine); each node gets exactly the environment ``nodes add`` printed.
        """
        commands: list[list[str]] = []
        for node_id, options in pools.items():
            base = f"http://{self.lab.dns_name(node_id)}"
            fields = {"priority": "100", "weight": "100", "reserve": "1G", **options}
            commands.append(["nodes", "add", node_id, "--dns-name", self.lab.dns_name(node_id)])
            commands.append(
                ["pools", "add", f"hot-{node_id}", "--node", node_id, "--base-path", POOL_DIR,
                 "--public-base-url", base, "--upload-api-url", base + UPLOAD_PATH,
                 *(item for key, value in fields.items() for item in (f"--{key}", value))]
            )  # fmt: skip
        outputs = self.pixelfox_many(commands)
        nodes = []
        for i, node_id in enumerate(pools):
            printed, created = outputs[2 * i], outputs[2 * i + 1]
            env = {
                name: shlex.split(value)[0] if value else ""
                for name, _, value in (line.partition("=") for line in printed.strip().splitlines())
            }
            pool_id = int(created.split("(id ", 1)[1].split(")", 1)[0])
            node = Node(node_id, pool_id, f"hot-{node_id}", env)
            self.nodes[node_id] = node
            nodes.append(node)
            self._write_nginx(node_id)
            self.run(node_id, f"mkdir -p {POOL_DIR} /srv/pixelfox/state")
            node.services["nginx"] = self.start(
                node_id, "nginx", ["nginx", "-c", "/srv/nginx/nginx.conf", "-g", "daemon off;"]
            )
            self.start_storage(node_id, wait=False)
            if self.node_workers:
                node.services["worker"] = self.start(
                    node_id, "worker", [*PIXELFOX, "worker", "--node", node_id], self.node_env(node)
                )
        for node in nodes:
            self.wait_storage(node.node_id)
        self.wait_placeable([node.node_id for node in nodes])
        return nodes

    def wait_placeable(self, node_ids: list[str], seconds: float = 60) -> None:
        """Wait until the app counts every node as up (fresh beat, health "up").

        A node whose upload API was checked while it was still starting (nginx
        up, storage service not yet) needs two healthy beats first, as any other.
        """
        prefix = self.app_env["PIXELFOX_REDIS_PREFIX"]
        checks = " && ".join(
            f'[ "$(redis-cli HGET {prefix}:node-health:{n} state)" = up ] '
            f'&& [ "$(redis-cli EXISTS {prefix}:heartbeat:{n})" = 1 ]'
            for n in node_ids
        )
        loop = (
            f"for i in $(seq 1 {int(seconds * 2)}); do if {checks}; then exit 0; fi; "
            "sleep 0.5; done; exit 1"
        )
        if self.lab.run("app", loop, check=False, timeout=seconds + 30).returncode != 0:
            raise RuntimeError(f"nodes {node_ids} did not become placeable in {seconds} s")

    def pixelfox_many(self, commands: list[list[str]]) -> list[str]:
        """Several ``pixelfox`` commands in one process on the app host; each one's stdout."""
        marker = f"--- {secrets.token_hex(8)} ---"
        script = (
            "import sys\n"
            "from pixelfox_cli.main import cli\n"
            f"for args in {commands!r}:\n"
            "    cli.main(args, standalone_mode=False)\n"
            f"    print({marker!r}, flush=True)\n"
        )
        out = self.run("app", [PYTHON, "-c", script], env=self.app_env, timeout=300)
        return out.split(marker + "\n")[: len(commands)]

    def node_env(self, node: Node) -> dict[str, str]:
        # Exactly what `nodes add` printed, plus where this host keeps its files.
        return {
            **node.env,
            "PIXELFOX_STATE_DIR": "/srv/pixelfox/state",
            "PIXELFOX_SPOOL_SECRET": SPOOL_SECRET,
            "PIXELFOX_METRICS_BIND": "off",
            "PIXELFOX_WORKER_METRICS_BIND": "off",
        }

    def start_storage(self, node_id: str, *, wait: bool = True) -> Service:
        node = self.nodes[node_id]
        service = self.start(
            node_id,
            "storage",
            [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{STORAGE_PORT}"],
            self.node_env(node),
        )
        node.services["storage"] = service
        if wait:
            self.wait_storage(node_id)
        return service

    def wait_storage(self, node_id: str, seconds: float = 120) -> None:
        # Through nginx, as clients reach it.
        url = f"http://{self.lab.dns_name(node_id)}/healthz"
        self.wait_http(node_id, url, self.nodes[node_id].services["storage"], seconds)

    def kill_storage(self, node_id: str) -> None:
        self.nodes[node_id].services["storage"].kill()

    def _write_nginx(self, node_id: str) -> None:
        main, site = render_nginx(
            node_id,
            self.app_env["PIXELFOX_LINK_SECRET"],
            self.nodes[node_id].pool_name,
            self.app_env["PIXELFOX_PUBLIC_DOMAIN"],
        )
        # nginx makes the pool's .spool/ when it starts: the pool must exist by then.
        self.run(node_id, f"mkdir -p /srv/nginx/tmp {POOL_DIR}")
        for name, text in (("nginx.conf", main), ("storage.conf", site)):
            self.lab.run(node_id, ["sh", "-c", f"cat > /srv/nginx/{name}"], input=text)
        self.run(node_id, ["nginx", "-t", "-q", "-c", "/srv/nginx/nginx.conf"])

    def close(self) -> None:
        """Stop every service (newest first); the lab's ``down`` removes the rest."""
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:  # best effort: the lab's down kills what is left
                service.kill()
