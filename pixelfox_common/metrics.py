"""Prometheus metrics of every PixelFox process, and the internal listener that serves them.

Where ``/metrics`` answers: each process (app, storage service, each worker)
starts its own small listener with :func:`serve` on ``metrics_bind``
(``127.0.0.1`` and the role's default port unless configured), separate from
the public HTTP port. We chose a separate listener over a ``/metrics`` route
that refuses "non-internal" clients because behind nginx every public request
arrives from 127.0.0.1: an address check on the main port would have to trust
``X-Forwarded-For`` and one proxy misconfiguration would publish the metrics.
A listener bound to loopback (or a private interface) cannot be reached
through the public proxy at all, and it also answers while the event loop of
the main server is busy. Workers have no HTTP server of their own, so they
need the listener anyway; one mechanism serves all.

Labels stay bounded: HTTP metrics use the route *template*
(``/api/v1/image/status/<uuid>``), never the raw path; unmatched paths share
one label. Node and pool labels are bounded by the size of the installation.

Helpers for the other parts of the system:

- upload endpoint: ``with upload_in_flight(): …`` and ``count_bytes_ingested(n, pool_id)``
- node outbox: ``OUTBOX_QUARANTINED`` and ``OUTBOX_IN_QUARANTINE``
- workers: ``@observed_job("process")`` on arq job functions (or
  ``observe_job(kind, seconds, outcome)``) and ``watch_queues(redis_url, queues)`` once
- app heartbeat receiver: ``record_heartbeat(node_id)`` and ``set_pool_space(…)``
- control worker: ``set_upload_apis({pool: ok})`` (reachability check),
  ``set_certificate_expiry(host, at)``, ``set_database_backup(dialect, at)``
- node worker: ``set_scrub_faults(pool, found, unrepaired)`` after each scheduled scrub slice

Gauges that only one process can know carry a label (pool, host, database), so
processes that never set them export no sample: an alert on them sees only the
process that owns the figure, never a zero from another one.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from . import logs

# Default listener ports when ``metrics_bind`` names only a host.
DEFAULT_PORTS = {"app": 9180, "storage": 9181, "control-worker": 9182, "node-worker": 9183}

UNMATCHED_ROUTE = "<unmatched>"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Requests: most answer in milliseconds; uploads of large files take seconds to minutes.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)

HTTP_REQUESTS = Counter(
    "pixelfox_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "pixelfox_http_request_duration_seconds",
    "Time from the first hook to the answer, by route template.",
    ["method", "route"],
    buckets=_REQUEST_BUCKETS,
)
REJECTIONS = Counter(
    "pixelfox_rejections",
    "Requests answered with an error, by stable error code.",
    ["code", "status"],
)
UPLOADS_IN_FLIGHT = Gauge("pixelfox_uploads_in_flight", "Uploads currently streaming in.")
BYTES_INGESTED = Counter(
    "pixelfox_upload_bytes_ingested",
    "Bytes of uploads stored (after the upload succeeded), by pool.",
    ["pool"],
)
JOB_DURATION = Histogram(
    "pixelfox_job_duration_seconds",
    "Run time of jobs, by kind and outcome (ok, error, retry).",
    ["kind", "outcome"],
    buckets=_JOB_BUCKETS,
)
OUTBOX_QUARANTINED = Counter(
    "pixelfox_outbox_quarantined",
    "Uploads the app refused after the node had stored them (moved to quarantine), by code.",
    ["code"],
)
OUTBOX_IN_QUARANTINE = Gauge(
    "pixelfox_outbox_in_quarantine", "Refused uploads kept in the node's outbox quarantine now."
)
POOL_FREE = Gauge("pixelfox_pool_free_bytes", "Free bytes of a pool.", ["pool"])
POOL_USED = Gauge("pixelfox_pool_used_bytes", "Used bytes of a pool.", ["pool"])
POOL_CAPACITY = Gauge("pixelfox_pool_capacity_bytes", "Capacity of a pool.", ["pool"])
POOL_RESERVE = Gauge(
    "pixelfox_pool_reserve_bytes",
    "Free bytes a pool keeps: placement stops putting uploads there below it.",
    ["pool"],
)
# Placement's upload API check (control worker, every few seconds).
UPLOAD_API_UP = Gauge(
    "pixelfox_upload_api_up",
    "1 when the pool's upload API answered HEAD with 204 at the last check, else 0.",
    ["pool"],
)
# Certificates of the public hosts (control worker, hourly).
CERTIFICATE_EXPIRY = Gauge(
    "pixelfox_tls_certificate_expiry_timestamp_seconds",
    "Unix time at which the certificate a public host presents expires.",
    ["host"],
)
# The last good database backup (control worker, every minute, from the database's record).
DATABASE_BACKUP = Gauge(
    "pixelfox_database_backup_last_success_timestamp_seconds",
    "Unix time of the last good database backup (0: none recorded).",
    ["database"],
)
# The scheduled scrub's last finished pass, per pool (node worker).
SCRUB_FAULTS_FOUND = Gauge(
    "pixelfox_scrub_faults_found",
    "Faults the last finished scrub pass of a pool found.",
    ["pool"],
)
SCRUB_FAULTS_UNREPAIRED = Gauge(
    "pixelfox_scrub_faults_unrepaired",
    "Faults the last finished scrub pass of a pool found and could not repair.",
    ["pool"],
)
# Copies of images (set by the control worker's copy check, every minute).
REPLICATION_LAG = Gauge(
    "pixelfox_replication_lag_seconds",
    "Age of the pending copies of images: p50 and p95.",
    ["quantile"],
)
PENDING_COPIES = Gauge("pixelfox_pending_copies", "Copies of images not verified yet.")
UNDER_REPLICATED = Gauge(
    "pixelfox_under_replicated_images",
    "Images with fewer verified copies than their pool's factor, by primary pool.",
    ["pool"],
)


class _HeartbeatAges(Collector):
    """Age of each node's last heartbeat, computed at scrape time (grows while a node is silent)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_seen: dict[str, float] = {}

    def record(self, node_id: str, at: float | None = None) -> None:
        with self._lock:
            self._last_seen[node_id] = time.time() if at is None else at

    def forget(self, node_id: str) -> None:
        with self._lock:
            self._last_seen.pop(node_id, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "pixelfox_node_heartbeat_age_seconds",
            "Seconds since the node's last heartbeat reached this app.",
            labels=["node"],
        )
        now = time.time()
        with self._lock:
            for node_id, seen in sorted(self._last_seen.items()):
                family.add_metric([node_id], max(0.0, now - seen))
        yield family


HEARTBEATS = _HeartbeatAges()
REGISTRY.register(HEARTBEATS)


class _QueueDepths(Collector):
    """Depth of the watched arq queues, read from Redis when scraped (never stale)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._redis: Any = None
        self._queues: tuple[str, ...] = ()
        self._set: dict[str, int] = {}

    def watch(self, redis_url: str, queues: Iterable[str]) -> None:
        import redis

        from . import tls

        with self._lock:
            # The scrape runs in the listener's thread: a small synchronous client
            # with short timeouts, so a dead Redis costs a scrape one second at most.
            self._redis = redis.Redis.from_url(
                redis_url,
                socket_timeout=1.0,
                socket_connect_timeout=1.0,
                **tls.redis_options(redis_url),
            )
            self._queues = tuple(sorted(set(queues)))

    def set(self, queue: str, depth: int) -> None:
        with self._lock:
            self._set[queue] = depth

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "pixelfox_queue_depth", "Jobs waiting in a queue.", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "pixelfox_queue_oldest_job_age_seconds",
            "Seconds the longest-waiting job of a queue has been due (0: none due).",
            labels=["queue"],
        )
        with self._lock:
            client, queues, known = self._redis, self._queues, dict(self._set)
        ages: dict[str, float] = {}
        if client is not None and queues:
            try:
                pipe = client.pipeline(transaction=False)
                for queue in queues:
                    pipe.zcard(queue)
                    # arq scores a job with the Unix time in ms it is due at.
                    pipe.zrange(queue, 0, 0, withscores=True)
                answers = pipe.execute()
                now_ms = time.time() * 1000
                for queue, depth, first in zip(queues, answers[0::2], answers[1::2], strict=True):
                    known[queue] = int(depth)
                    ages[queue] = max(0.0, (now_ms - first[0][1]) / 1000) if first else 0.0
            except Exception as exc:  # a scrape must answer even when Redis is away
                logs.get_logger(__name__).warning("queue depth unavailable", error=str(exc))
        for queue, depth in sorted(known.items()):
            family.add_metric([queue], depth)
        for queue, age in sorted(ages.items()):
            oldest.add_metric([queue], age)
        yield family
        yield oldest


QUEUES = _QueueDepths()
REGISTRY.register(QUEUES)


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    """Count one answered request (``web.install`` calls this for every request)."""
    method = method if method in _KNOWN_METHODS else "OTHER"
    route = route or UNMATCHED_ROUTE
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def count_rejection(code: str, status: int) -> None:
    """Count one error answer by its stable code (``web.install``'s error handlers call this)."""
    REJECTIONS.labels(code, str(status)).inc()


@contextmanager
def upload_in_flight() -> Iterator[None]:
    """Wrap the streaming part of an upload: ``pixelfox_uploads_in_flight`` counts it."""
    UPLOADS_IN_FLIGHT.inc()
    try:
        yield
    finally:
        UPLOADS_IN_FLIGHT.dec()


def count_bytes_ingested(size: int, pool_id: int | str) -> None:
    """Count the bytes of one stored upload (call after the file is durable)."""
    BYTES_INGESTED.labels(str(pool_id)).inc(size)


def observe_job(kind: str, seconds: float, outcome: str = "ok") -> None:
    """Record one finished job: ``kind`` is the job function (process, move, …)."""
    JOB_DURATION.labels(kind, outcome).observe(seconds)


def watch_queues(redis_url: str, queues: Iterable[str]) -> None:
    """Report ``pixelfox_queue_depth`` of these arq queues, read from Redis at each scrape.

    A worker calls this once at start with the queues it serves.
    """
    QUEUES.watch(redis_url, queues)


def set_queue_depth(queue: str, depth: int) -> None:
    """Set a queue's depth by hand (when the process has no Redis URL to watch with)."""
    QUEUES.set(queue, depth)


def set_copy_state(
    lag_p50: float, lag_p95: float, pending: int, under_replicated: dict[str, int]
) -> None:
    """The copies' state as the control worker's check counted it."""
    REPLICATION_LAG.labels("0.5").set(lag_p50)
    REPLICATION_LAG.labels("0.95").set(lag_p95)
    PENDING_COPIES.set(pending)
    for pool, count in under_replicated.items():
        UNDER_REPLICATED.labels(pool).set(count)


def record_heartbeat(node_id: str, at: float | None = None) -> None:
    """The app saw a heartbeat from ``node_id`` (``at``: its Unix time; default now)."""
    HEARTBEATS.record(node_id, at)


def forget_node(node_id: str) -> None:
    """Stop reporting a node's heartbeat age (it was retired)."""
    HEARTBEATS.forget(node_id)


def set_pool_space(
    pool_id: int | str,
    *,
    free: int,
    used: int | None = None,
    capacity: int | None = None,
    reserve: int | None = None,
) -> None:
    """Publish a pool's space as gauges (from a heartbeat on the app, from disk on a node)."""
    label = str(pool_id)
    POOL_FREE.labels(label).set(free)
    if used is not None:
        POOL_USED.labels(label).set(used)
    if capacity is not None:
        POOL_CAPACITY.labels(label).set(capacity)
    if reserve is not None:
        POOL_RESERVE.labels(label).set(reserve)


def set_upload_apis(results: Mapping[int, bool]) -> None:
    """The results of one upload API check of every pool that takes uploads.

    Pools not among them (no longer active or upload targets) lose their series,
    so an alert on a pool that stopped being checked does not fire for ever.
    """
    UPLOAD_API_UP.clear()
    for pool_id, ok in results.items():
        UPLOAD_API_UP.labels(str(pool_id)).set(1 if ok else 0)


def set_certificate_expiry(host: str, expires_at: float) -> None:
    """When the certificate ``host`` presents expires (Unix time)."""
    CERTIFICATE_EXPIRY.labels(host).set(expires_at)


def set_database_backup(database: str, at: float) -> None:
    """The last good backup of the database (``database``: its dialect; ``at`` 0: none)."""
    DATABASE_BACKUP.labels(database).set(at)


def set_scrub_faults(pool_id: int | str, found: int, unrepaired: int) -> None:
    """The last finished scrub pass of a pool: faults found, and those left unrepaired."""
    SCRUB_FAULTS_FOUND.labels(str(pool_id)).set(found)
    SCRUB_FAULTS_UNREPAIRED.labels(str(pool_id)).set(unrepaired)


P = ParamSpec("P")
R = TypeVar("R")


class _Retry(Exception):
    """Stand-in when arq is not importable; never raised."""


def _retry_type() -> type[BaseException]:
    try:
        from arq.worker import Retry
    except ImportError:  # pragma: no cover - arq is a dependency of both packages
        return _Retry
    return Retry


def observed_job(kind: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate an arq job function: binds its ids to the log lines and times it.

    The job's ``request_id`` argument (pass the upload's request id when
    enqueuing, by position or keyword) becomes the ``request_id`` of every line the job logs, so
    the job shows up in the same search as the upload that caused it.
    Outcome is ``ok``, ``retry`` (arq ``Retry``) or ``error`` (any other exception).
    """
    retry = _retry_type()

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        signature = inspect.signature(func)
        takes_request_id = "request_id" in signature.parameters

        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            ctx = args[0] if args and isinstance(args[0], dict) else {}
            request_id = None
            if takes_request_id:
                # Positional or keyword, as the enqueuer passed it.
                with contextlib.suppress(TypeError):
                    bound = signature.bind_partial(*args, **kwargs).arguments
                    request_id = bound.get("request_id")
            started = time.perf_counter()
            outcome = "error"
            with logs.job_context(
                job_id=ctx.get("job_id"),
                job=kind,
                request_id=request_id if isinstance(request_id, str) else None,
                job_try=ctx.get("job_try"),
            ):
                try:
                    result = await func(*args, **kwargs)
                    outcome = "ok"
                    return result
                except retry:
                    outcome = "retry"
                    raise
                finally:
                    observe_job(kind, time.perf_counter() - started, outcome)

        return wrapper

    return decorate


def parse_bind(bind: str, role: str) -> tuple[str, int] | None:
    """``host[:port]`` → (host, port); ``""`` or ``off`` → None (no listener)."""
    bind = bind.strip()
    if bind.lower() in ("", "off", "none", "0"):
        return None
    if bind.startswith("["):  # [::1]:9180
        host, _, rest = bind[1:].partition("]")
        port = rest.lstrip(":")
        return host, int(port) if port else DEFAULT_PORTS[role]
    host, sep, port = bind.rpartition(":")
    if not sep:
        return bind, DEFAULT_PORTS[role]
    return host or "127.0.0.1", int(port)


def serve(bind: str, role: str) -> WSGIServer | None:
    """Start this process's metrics listener in a daemon thread (``None`` when switched off).

    ``role`` (app, storage, control-worker, node-worker) picks the default port.
    """
    address = parse_bind(bind, role)
    if address is None:
        return None
    host, port = address
    server, _thread = start_http_server(port, addr=host)
    logs.get_logger(__name__).info("metrics listening", address=f"{host}:{port}", role=role)
    return server
