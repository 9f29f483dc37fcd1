"""The Redis users of ``pixelfox up``: the app, the control worker and node ``local``.

The appliance uses the same scheme as a production install
(``pixelfox_app.redis_users``): each process connects as its own user, the node
with its credential as password. On the private Redis the ``default`` user is
off (``localredis``); on a Redis that already answered, ours are added next to
whatever users it has, and the ``default`` user is left alone. A Redis whose
user may not manage users keeps the old way: every process uses the given URL.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from pixelfox_app import redis_users
from pixelfox_app.db import close_db, init_db

# Names of the secrets.env entries (secretstore.GENERATED), not secrets.
APP_PASSWORD = "PIXELFOX_REDIS_APP_PASSWORD"  # noqa: S105
WORKER_PASSWORD = "PIXELFOX_REDIS_WORKER_PASSWORD"  # noqa: S105


@dataclass(frozen=True)
class RedisURLs:
    """What each process of the appliance connects as."""

    app: str
    worker: str
    node: str


def principals(secrets: dict[str, str]) -> dict[str, str]:
    return {"app": secrets[APP_PASSWORD], "worker": secrets[WORKER_PASSWORD]}


def private_acl(prefix: str, secrets: dict[str, str]) -> str:
    """The private Redis's ACL file: ``default`` off, the app's and the worker's users."""
    return redis_users.acl_file(redis_users.wanted_users(prefix, {}, principals(secrets)))


def worker_url(redis_url: str, prefix: str, secrets: dict[str, str]) -> str:
    name = redis_users.worker_user_name(prefix)
    return redis_users.user_url(redis_url, name, secrets[WORKER_PASSWORD])


def set_users(
    admin_url: str,
    prefix: str,
    secrets: dict[str, str],
    database_url: str,
    node_id: str,
    node_credential: str,
) -> tuple[RedisURLs, str]:
    """Set every user on the Redis at ``admin_url``; the URLs to use and a line saying so."""

    async def work() -> None:
        await init_db(database_url)
        redis = Redis.from_url(admin_url, socket_connect_timeout=5)
        try:
            await redis_users.sync(redis, prefix, principals(secrets))
        finally:
            await redis.aclose()
            await close_db()

    try:
        asyncio.run(work())
    except ResponseError as exc:
        same = RedisURLs(admin_url, admin_url, admin_url)
        return same, f"cannot set Redis users there ({exc}); every process uses that URL"
    urls = RedisURLs(
        app=redis_users.user_url(
            admin_url, redis_users.app_user_name(prefix), secrets[APP_PASSWORD]
        ),
        worker=worker_url(admin_url, prefix, secrets),
        node=redis_users.node_redis_url(admin_url, prefix, node_id, node_credential),
    )
    names = ", ".join(
        [
            redis_users.app_user_name(prefix),
            redis_users.worker_user_name(prefix),
            redis_users.node_user_name(prefix, node_id),
        ]
    )
    return urls, f"users {names}"
