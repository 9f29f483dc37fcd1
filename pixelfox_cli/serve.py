"""Long-running processes: the two HTTP services and the workers."""

from __future__ import annotations

import asyncio
import logging
import signal

import click
from hypercorn.asyncio import serve
from hypercorn.config import Config


def run_hypercorn(app: object, bind: str, *, workers_note: str = "") -> None:
    """Serve an ASGI app until SIGINT/SIGTERM, then shut down gracefully."""
    config = Config()
    config.bind = [bind]
    config.accesslog = None  # web.install logs one line per request itself
    # Hypercorn's own messages go through the process's structured logging.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5
    # Large uploads stream through; hypercorn must not cap bodies itself.
    config.h11_max_incomplete_size = 64 * 1024
    shutdown = asyncio.Event()

    async def _main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, shutdown.set)
        await serve(app, config, shutdown_trigger=shutdown.wait)  # type: ignore[arg-type]

    asyncio.run(_main())


@click.command("serve-app")
@click.option("--bind", default="127.0.0.1:8080", show_default=True, help="host:port to listen on")
def serve_app(bind: str) -> None:
    """Run the control app (settings from PIXELFOX_* variables)."""
    from pixelfox_app import create_app
    from pixelfox_app.config import AppSettings
    from pixelfox_common import observe

    settings = AppSettings.from_env()
    observe.start(
        "app",
        log_format=settings.log_format,
        log_level=settings.log_level,
        metrics_bind=settings.metrics_bind,
    )
    run_hypercorn(create_app(settings), bind)


@click.command("serve-storage")
@click.option("--bind", default="127.0.0.1:8081", show_default=True, help="host:port to listen on")
def serve_storage(bind: str) -> None:
    """Run this node's storage service (settings from PIXELFOX_* variables)."""
    from pixelfox_common import observe
    from pixelfox_storage import create_app
    from pixelfox_storage.config import StorageSettings

    settings = StorageSettings.from_env()
    observe.start(
        "storage",
        log_format=settings.log_format,
        log_level=settings.log_level,
        metrics_bind=settings.metrics_bind,
        node_id=settings.node_id,
    )
    run_hypercorn(create_app(settings), bind)


COMMANDS = [serve_app, serve_storage]
