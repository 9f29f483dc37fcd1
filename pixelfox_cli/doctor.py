"""``pixelfox doctor``: check a running installation end to end, one line per check.

Each check is an async function that yields results; a result is ``ok``,
``warn`` (works, but an operator should look) or ``fail`` (something users
will notice). The command exits 1 when any check fails. Checks run in order
and later ones use what earlier ones opened (the database, Redis), so a dead
database gives one clear ``fail`` instead of a cascade of tracebacks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import httpx
from redis.asyncio import Redis

from pixelfox_app.config import AppSettings
from pixelfox_common import tls
from pixelfox_protocol import tokens
from pixelfox_protocol.keys import RedisKeys

Status = Literal["ok", "warn", "fail"]
T = TypeVar("T")


@dataclass(frozen=True)
class Result:
    status: Status
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name:<24}  {self.detail}"


@dataclass
class Context:
    """What the checks share: settings, and the connections earlier checks opened."""

    settings: AppSettings
    timeout: float = 5.0
    nginx_url: str = ""
    # The node whose nginx that is (its links are signed with that node's secret);
    # "" asks the node behind it (/healthz).
    node_id: str = ""
    # No --nginx-url: check the nginx of every node in service, at its pool's public URL
    # (an Ansible-built app host sets this: its nodes serve /uploads/ behind nginx).
    check_node_nginx: bool = False
    database_ok: bool = False
    redis: Redis | None = None
    # Trusts PIXELFOX_CA_FILE, which is also where settings.ca_file comes from.
    http: httpx.AsyncClient = field(
        default_factory=lambda: httpx.AsyncClient(timeout=5.0, verify=tls.http_verify())
    )

    @property
    def keys(self) -> RedisKeys:
        return RedisKeys(self.settings.redis_prefix)

    async def bounded(self, work: Awaitable[T]) -> T:
        return await asyncio.wait_for(work, self.timeout)


Check = Callable[[Context], AsyncIterator[Result]]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.0f} ms"


async def check_database(ctx: Context) -> AsyncIterator[Result]:
    from pixelfox_app.db import init_db
    from pixelfox_app.models import StorageNode

    from .dbcommand import describe_database

    started = time.perf_counter()
    try:
        await ctx.bounded(init_db(ctx.settings.effective_database_url))
        await ctx.bounded(StorageNode.all().count())
    except Exception as exc:
        yield Result("fail", "database", f"{describe_database(ctx.settings)}: {_one_line(exc)}")
        return
    ctx.database_ok = True
    yield Result("ok", "database", f"{describe_database(ctx.settings)} answers ({_ms(started)})")


async def check_redis(ctx: Context) -> AsyncIterator[Result]:
    from .dbcommand import masked

    url = masked(ctx.settings.redis_url)
    started = time.perf_counter()
    redis = Redis.from_url(
        ctx.settings.redis_url,
        socket_connect_timeout=ctx.timeout,
        **tls.redis_options(ctx.settings.redis_url, ctx.settings.ca_file),
    )
    try:
        await ctx.bounded(redis.ping())
    except Exception as exc:
        await redis.aclose()
        yield Result("fail", "redis", f"{url}: {_one_line(exc)}")
        return
    ctx.redis = redis
    yield Result("ok", "redis", f"{url} answers PING ({_ms(started)})")


async def check_keys(ctx: Context) -> AsyncIterator[Result]:
    settings = ctx.settings
    if not settings.token_signing_key.strip():
        yield Result("fail", "key: upload tokens", "PIXELFOX_TOKEN_SIGNING_KEY is not set")
    else:
        try:
            kid, _ = tokens.parse_private_key(settings.token_signing_key)
            yield Result("ok", "key: upload tokens", f"Ed25519 signing key {kid}")
        except ValueError as exc:
            yield Result("fail", "key: upload tokens", f"not a valid Ed25519 key: {exc}")
    if settings.secret_key.strip():
        yield Result("ok", "key: sessions", "PIXELFOX_SECRET_KEY is set")
    else:
        yield Result("fail", "key: sessions", "PIXELFOX_SECRET_KEY is not set: nobody can log in")
    if settings.link_secret.strip():
        yield Result("ok", "key: signed links", "PIXELFOX_LINK_SECRET is set")
    else:
        yield Result("warn", "key: signed links", "PIXELFOX_LINK_SECRET is not set")


def _age(since: datetime | None) -> str:
    if since is None:
        return "never seen"
    seconds = (datetime.now(UTC) - since).total_seconds()
    return f"last seen {seconds:.0f} s ago"


async def check_heartbeats(ctx: Context) -> AsyncIterator[Result]:
    """Each node's beat, fresh by placement's own rule (``FRESH_SECONDS``).

    A retired node is expected to be silent; a draining one still beats.
    """
    from pixelfox_app.models import NodeState, StorageNode
    from pixelfox_app.placement.health import FRESH_SECONDS, StoredBeat

    if not ctx.database_ok or ctx.redis is None:
        yield Result("fail", "heartbeats", "not checked: needs the database and Redis")
        return
    nodes = await ctx.bounded(StorageNode.all().order_by("node_id"))
    if not nodes:
        yield Result("warn", "heartbeats", "no storage node is registered")
    for node in nodes:
        name = f"node {node.node_id}"
        if node.state == NodeState.RETIRED:
            yield Result("ok", name, "retired: no heartbeat expected")
            continue
        if not node.is_active:
            yield Result("warn", name, "inactive (declared lost): heartbeat not checked")
            continue
        key = ctx.keys.node_heartbeat(node.node_id)
        raw, ttl = await ctx.bounded(asyncio.gather(ctx.redis.get(key), ctx.redis.ttl(key)))
        stored = StoredBeat.parse(raw, ttl)
        draining = ", draining" if node.state == NodeState.DRAINING else ""
        if stored is None or stored.age() > FRESH_SECONDS:
            yield Result(
                "fail",
                name,
                f"no fresh heartbeat ({_age(node.last_seen_at)}; fresh means within "
                f"{FRESH_SECONDS:.0f} s, as for placement{draining})",
            )
        else:
            version = f", version {node.version}" if node.version else ""
            yield Result(
                "ok", name, f"heartbeat fresh ({stored.age():.0f} s old{version}{draining})"
            )


async def check_upload_apis(ctx: Context) -> AsyncIterator[Result]:
    from pixelfox_app.models import StoragePool
    from pixelfox_app.pools import effective_node_id, effective_upload_api_url

    if not ctx.database_ok:
        yield Result("fail", "upload APIs", "not checked: needs the database")
        return
    pools = await ctx.bounded(StoragePool.filter(is_active=True).order_by("id"))
    if not pools:
        yield Result("warn", "upload APIs", "no active storage pool")
    for pool in pools:
        url = effective_upload_api_url(pool, ctx.settings)
        name = f"upload {pool.name} ({effective_node_id(pool)})"
        started = time.perf_counter()
        try:
            answer = await ctx.http.head(url, timeout=ctx.timeout)
        except httpx.HTTPError as exc:
            yield Result("fail", name, f"HEAD {url}: {_one_line(exc)}")
            continue
        if answer.status_code == 204:
            yield Result("ok", name, f"HEAD {url} → 204 ({_ms(started)})")
        else:
            yield Result("fail", name, f"HEAD {url} → {answer.status_code}, expected 204")


# A private path that no pool holds: a correctly signed request passes nginx's
# link check and then finds no file (404), while a bad link is refused before
# any file lookup. So the check needs no real private image.
PROBE_URI = "/uploads/private/original/doctor-probe.jpg"


async def _node_behind(ctx: Context, nginx_url: str) -> str:
    """The id of the node behind ``nginx_url`` (its /healthz), or the appliance's own."""
    from pixelfox_app.nodes import DEFAULT_NODE_ID

    try:
        answer = await ctx.http.get(nginx_url.rstrip("/") + "/healthz", timeout=ctx.timeout)
        node_id = answer.json().get("node_id") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        node_id = None
    return node_id if isinstance(node_id, str) and node_id else DEFAULT_NODE_ID


async def _node_origins(ctx: Context) -> list[tuple[str, str]]:
    """(origin, node id) of every node in service whose pool names its own public URL."""
    from pixelfox_app.models import NodeState, StorageNode, StoragePool
    from pixelfox_app.nodes import node_of

    if not ctx.database_ok:
        return []
    serving = {
        n.node_id
        for n in await ctx.bounded(StorageNode.filter(is_active=True))
        if n.state != NodeState.RETIRED
    }
    origins: dict[tuple[str, str], None] = {}
    for pool in await ctx.bounded(StoragePool.filter(is_active=True).order_by("id")):
        if pool.public_base_url and node_of(pool) in serving:
            origins[(pool.public_base_url.rstrip("/"), node_of(pool))] = None
    return list(origins)


async def check_nginx(ctx: Context) -> AsyncIterator[Result]:
    """Signed links on one nginx (``--nginx-url``), or on every node's (``--check-node-nginx``)."""
    if ctx.nginx_url:
        targets = [(ctx.nginx_url, ctx.node_id)]
    elif ctx.check_node_nginx:
        targets = await _node_origins(ctx)
        if not targets:
            yield Result("warn", "nginx signed links", "not checked: no node in service")
            return
    else:
        yield Result("warn", "nginx signed links", "not checked: pass --nginx-url to check")
        return
    for url, node_id in targets:
        async for result in _check_signed_links(ctx, url, node_id):
            yield result


async def _check_signed_links(ctx: Context, nginx_url: str, node_id: str) -> AsyncIterator[Result]:
    name = f"nginx {node_id}" if node_id else "nginx signed links"
    master = ctx.settings.link_secret.strip()
    if not master:
        yield Result("fail", name, "PIXELFOX_LINK_SECRET is not set")
        return
    from pixelfox_protocol import links

    # Each node's nginx knows only its own secret, derived from the master.
    secret = links.node_secret(master, node_id or await _node_behind(ctx, nginx_url))
    now = int(time.time())
    good = links.sign(PROBE_URI, secret, now + 300)
    expired = links.sign(PROBE_URI, secret, now - 60)
    tampered = good.replace("md5=", "md5=x", 1)
    # What nginx must answer for each link, and what that proves.
    cases = [
        ("signed", good, {200, 404}, "a correctly signed link is refused"),
        ("unsigned", "", {403}, "a link without signature is let through"),
        ("tampered", tampered, {403}, "a tampered link is let through"),
        ("expired", expired, {403, 410}, "an expired link is let through"),
    ]
    base = nginx_url.rstrip("/") + PROBE_URI
    for label, query, allowed, problem in cases:
        url = f"{base}?{query}" if query else base
        try:
            answer = await ctx.http.get(url, timeout=ctx.timeout)
        except httpx.HTTPError as exc:
            yield Result("fail", name, f"GET {url}: {_one_line(exc)}")
            return
        if answer.status_code not in allowed:
            yield Result("fail", name, f"{problem} ({label} → {answer.status_code})")
            return
    yield Result(
        "ok",
        name,
        f"{nginx_url}: signed, unsigned, tampered, expired links answered as they should",
    )


CHECKS: list[Check] = [
    check_database,
    check_redis,
    check_keys,
    check_heartbeats,
    check_upload_apis,
    check_nginx,
]


async def run(ctx: Context, emit: Callable[[Result], None], checks: list[Check] = CHECKS) -> bool:
    """Run every check, calling ``emit`` per result as it comes; True when nothing failed."""
    failed = False
    try:
        for check in checks:
            name = check.__name__.removeprefix("check_")
            try:
                async for result in check(ctx):
                    failed |= result.status == "fail"
                    emit(result)
            except Exception as exc:  # a check that breaks is a failed check, not a crash
                failed = True
                emit(Result("fail", name, f"check broke: {type(exc).__name__}: {_one_line(exc)}"))
    finally:
        await _close(ctx)
    return not failed


async def _close(ctx: Context) -> None:
    await ctx.http.aclose()
    if ctx.redis is not None:
        await ctx.redis.aclose()
    if ctx.database_ok:
        from pixelfox_app.db import close_db

        await close_db()


def summary(results: list[Any]) -> str:
    counts = {s: sum(1 for r in results if r.status == s) for s in ("ok", "warn", "fail")}
    return f"{counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail"
