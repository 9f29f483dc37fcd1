"""What ``pixelfox up`` runs: each process's command line and environment.

The plan comes in stages, each started once the one before answers:

1. the app;
2. the node and its worker: a node asks the app for its pools and sends its
   first heartbeat while it starts, so the app must already answer;
3. the control worker: it checks every pool's upload API at once, and a node
   found not answering stays out of placement for two more heartbeats.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pixelfox_protocol import links

from .upusers import RedisURLs

HOST = "127.0.0.1"
NODE_ID = "local"
# Variables of the control app that a storage node must never see (trust rule).
APP_ONLY = ("PIXELFOX_SECRET_KEY", "PIXELFOX_TOKEN_SIGNING_KEY", "PIXELFOX_DATABASE_URL")


@dataclass(frozen=True)
class Ports:
    app: int
    node: int
    # First of four /metrics ports (app, node, control worker, node worker); 0 = off.
    metrics: int

    @property
    def app_url(self) -> str:
        return f"http://{HOST}:{self.app}"

    @property
    def node_url(self) -> str:
        return f"http://{HOST}:{self.node}"

    def metrics_bind(self, offset: int) -> str:
        return f"{HOST}:{self.metrics + offset}" if self.metrics else "off"


@dataclass(frozen=True)
class Process:
    name: str
    # Arguments of the ``pixelfox`` command.
    args: list[str]
    env: dict[str, str] = field(repr=False)
    # Answers 200 here once ready; None for workers (they must simply stay alive).
    health_url: str | None = None

    def argv(self) -> list[str]:
        # The same interpreter as ours: the one of the virtual environment.
        return [sys.executable, "-m", "pixelfox_cli", *self.args]


def plan(
    ports: Ports,
    *,
    data_dir: Path,
    database_url: str,
    redis: RedisURLs,
    redis_prefix: str,
    secrets: dict[str, str],
    node_credential: str,
) -> list[list[Process]]:
    """The processes in start order, stage by stage; each connects as its own Redis user."""
    common = {
        **os.environ,
        "PIXELFOX_REDIS_PREFIX": redis_prefix,
        "PIXELFOX_LINK_SECRET": secrets["PIXELFOX_LINK_SECRET"],
        "PYTHONUNBUFFERED": "1",
    }
    app_env = {
        **common,
        "PIXELFOX_REDIS_URL": redis.app,
        "PIXELFOX_DATA_DIR": str(data_dir),
        "PIXELFOX_DATABASE_URL": database_url,
        "PIXELFOX_PUBLIC_DOMAIN": ports.app_url,
        "PIXELFOX_INTERNAL_URL": ports.app_url,
        "PIXELFOX_SECRET_KEY": secrets["PIXELFOX_SECRET_KEY"],
        "PIXELFOX_TOKEN_SIGNING_KEY": secrets["PIXELFOX_TOKEN_SIGNING_KEY"],
    }
    node_env = {
        **{k: v for k, v in common.items() if k not in APP_ONLY},
        # The node checks links with its own secret; the master stays with the app.
        "PIXELFOX_LINK_SECRET": links.node_secret(secrets["PIXELFOX_LINK_SECRET"], NODE_ID),
        "PIXELFOX_LINK_PREVIOUS_SECRET": links.node_secret(
            os.environ.get("PIXELFOX_LINK_PREVIOUS_SECRET", "").strip(), NODE_ID
        ),
        "PIXELFOX_REDIS_URL": redis.node,
        "PIXELFOX_NODE_ID": NODE_ID,
        "PIXELFOX_NODE_CREDENTIAL": node_credential,
        "PIXELFOX_APP_URL": ports.app_url,
        "PIXELFOX_TOKEN_PUBLIC_KEYS": secrets["PIXELFOX_TOKEN_PUBLIC_KEYS"],
        # No PIXELFOX_NODE_POOLS override: the node asks the app for its pools, as
        # in production, so pools an admin adds on node "local" reach it too.
        "PIXELFOX_STATE_DIR": str(data_dir / "node"),
        "PIXELFOX_CORS_ORIGIN": ports.app_url,
    }
    return [
        [
            Process(
                "app",
                ["serve-app", "--bind", f"{HOST}:{ports.app}"],
                {**app_env, "PIXELFOX_METRICS_BIND": ports.metrics_bind(0)},
                f"{ports.app_url}/healthz",
            ),
        ],
        [
            Process(
                "node",
                ["serve-storage", "--bind", f"{HOST}:{ports.node}"],
                {**node_env, "PIXELFOX_METRICS_BIND": ports.metrics_bind(1)},
                f"{ports.node_url}/healthz",
            ),
            Process(
                "node-worker",
                ["worker", "--node", NODE_ID],
                {**node_env, "PIXELFOX_WORKER_METRICS_BIND": ports.metrics_bind(3)},
            ),
        ],
        [
            Process(
                "control-worker",
                ["control-worker"],
                {
                    **app_env,
                    "PIXELFOX_REDIS_URL": redis.worker,
                    "PIXELFOX_WORKER_METRICS_BIND": ports.metrics_bind(2),
                },
            ),
        ],
    ]
