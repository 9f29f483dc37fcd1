"""Long-running processes: the two HTTP services and the workers."""

from __future__ import annotations

import asyncio
import signal

import click
from hypercorn.asyncio import serve
from hypercorn.config import Config


def run_hypercorn(app: object, bind: str, *, workers_note: str = "") -> None:
    """Serve an ASGI app until SIGINT/SIGTERM, then shut down gracefully."""
    config = Config()
    config.bind = [bind]
    config.accesslog = None
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

    run_hypercorn(create_app(), bind)


@click.command("serve-storage")
@click.option("--bind", default="127.0.0.1:8081", show_default=True, help="host:port to listen on")
def serve_storage(bind: str) -> None:
    """Run this node's storage service (settings from PIXELFOX_* variables)."""
    from pixelfox_storage import create_app

    run_hypercorn(create_app(), bind)


COMMANDS = [serve_app, serve_storage]
