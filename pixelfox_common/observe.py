"""The one call every PixelFox process makes at start-up: logs, then its metrics listener.

``serve-app`` and ``serve-storage`` call it before hypercorn starts; each
worker calls it before arq starts (role ``control-worker`` or ``node-worker``,
with the settings' ``worker_metrics_bind`` and the queues it serves).
"""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.simple_server import WSGIServer

from . import logs, metrics

ROLES = tuple(metrics.DEFAULT_PORTS)


def start(
    role: str,
    *,
    log_format: str = "console",
    log_level: str = "INFO",
    metrics_bind: str = "127.0.0.1",
    redis_url: str = "",
    queues: Iterable[str] = (),
    **static: str | None,
) -> WSGIServer | None:
    """Configure logging for ``role`` and start its ``/metrics`` listener.

    ``static`` fields go on every log line (a node's ``node_id``). A worker
    passes ``redis_url`` and the ``queues`` it serves: their depth is read at
    each scrape (``pixelfox_queue_depth``). A listener
    that cannot bind is logged as an error and the process carries on: serving
    uploads matters more than being scraped, and the scrape target shows down.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    logs.configure(service=role, fmt=log_format, level=log_level, **static)
    if redis_url and queues:
        metrics.watch_queues(redis_url, queues)
    try:
        return metrics.serve(metrics_bind, role)
    except (OSError, ValueError) as exc:
        logs.get_logger(__name__).error(
            "metrics listener not started", bind=metrics_bind, role=role, error=str(exc)
        )
        return None
