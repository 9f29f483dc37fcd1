"""A Redis user per principal: the app, the control worker, and each storage node.

With Redis 7's ACLs every node connects as ``<prefix>-node-<id>`` with its own
credential as password, and may touch only its own keys and jobs (everything
under ``RedisKeys.node_scope``) with a short list of plain commands: no
scripting, no ``KEYS``/``FLUSH*``/``CONFIG``/``ACL``, no pub/sub. The user
stores the SHA-256 of the credential (``#<hex>``), exactly the hash the app
keeps in ``StorageNode.credential_hash``, so the app never needs the plaintext.

The app and the control worker have users of their own over the whole
installation (their passwords come from whoever owns the Redis: ``pixelfox up``
or the ``redis`` role write them into the ACL file). :func:`sync` brings the
node users in line with the database: it sets every registered node's user and
deletes the ``<prefix>-node-*`` users of nodes that are gone. It runs on
``pixelfox nodes add`` and ``nodes ensure``, on ``pixelfox up``, when the control
worker starts and every minute after (a Redis restarted without an ACL file
gets the users back), and as ``pixelfox redis-users sync``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from arq.constants import abort_jobs_ss
from redis.asyncio import Redis
from redis.exceptions import NoPermissionError, ResponseError

from pixelfox_protocol.keys import RedisKeys

log = logging.getLogger(__name__)

# What a node's code sends, and nothing more: arq's worker and enqueue (WATCH /
# MULTI transactions, sorted-set queues, PSETEX'd job records, INFO once at
# start), the used-token ids and image locks (SET NX, GET, EXISTS, DEL under
# WATCH), the queue depth it reports (ZCARD), a move job's parked set (SADD,
# under WATCH of the move's state) and a replication grant's ledger (HSETNX,
# HINCRBY, EXPIREAT). arq's worker logs INFO and DBSIZE
# when it starts: counts and versions, no key names. No EVAL/SCRIPT/FUNCTION: a
# node gets no code to run inside Redis.
NODE_COMMANDS = (
    "ping",
    "info",
    "dbsize",
    "select",
    "get",
    "mget",
    "set",
    "setex",
    "psetex",
    "del",
    "unlink",
    "exists",
    "expire",
    "pexpire",
    "ttl",
    "pttl",
    "incr",
    "incrby",
    "expireat",
    "sadd",
    "hsetnx",
    "hincrby",
    "hkeys",
    "zadd",
    "zrem",
    "zincrby",
    "zscore",
    "zcard",
    "zcount",
    "zrange",
    "zrangebyscore",
    "zremrangebyscore",
    "multi",
    "exec",
    "discard",
    "watch",
    "unwatch",
)

# The control worker manages the users (this module); ACL SETUSER is as strong as
# Redis's admin, so the app's web processes do without it.
# ACL LOAD: the redis role reloads its ACL file as this user.
_ACL_MANAGEMENT = ("acl|setuser", "acl|deluser", "acl|users", "acl|getuser", "acl|load")


def app_user_name(prefix: str) -> str:
    return f"{prefix}-app"


def worker_user_name(prefix: str) -> str:
    return f"{prefix}-worker"


def node_user_name(prefix: str, node_id: str) -> str:
    return f"{prefix}-node-{node_id}"


def _arq_keys(job_prefix: str) -> list[str]:
    """arq's global keys of the jobs whose ids start with ``job_prefix``."""
    return [f"~arq:{kind}:{job_prefix}*" for kind in ("job", "in-progress", "retry", "result")]


def installation_keys(prefix: str) -> list[str]:
    """Key patterns of the whole installation: its own keys, its jobs' arq keys."""
    return [f"~{prefix}:*", *_arq_keys(f"{prefix}:")]


def node_keys(prefix: str, node_id: str) -> list[str]:
    """Key patterns of one node: its scope, its jobs' arq keys, and move state to read."""
    scope = RedisKeys(prefix).node_scope(node_id)
    return [
        f"~{scope}",
        f"~{scope}:*",
        *_arq_keys(f"{scope}:"),
        f"%R~{RedisKeys(prefix).move_state_pattern}",
    ]


@dataclass(frozen=True)
class RedisUser:
    """One ACL user: its name and the rules ``ACL SETUSER <name> reset …`` gives it."""

    name: str
    rules: tuple[str, ...]

    def acl_line(self) -> str:
        """The user as a line of an ACL file (``user <name> <rules>``)."""
        return " ".join(["user", self.name, *self.rules])


# arq's worker takes every finished job's id out of its global abort set
# (``arq:abort``) whether or not it aborts jobs: a selector lets each user a
# worker runs as (a node's; the app's or the worker's for the control worker)
# do just that ZREM. None of our workers honours aborts: the set stays empty.
_ARQ_ABORT_SELECTOR = f"(~{abort_jobs_ss} +zrem)"


def _password_rule(password: str) -> str:
    return f">{password}"


def app_user(prefix: str, password: str) -> RedisUser:
    rules = ["on", _password_rule(password), *installation_keys(prefix), "resetchannels"]
    grants = ("+@all", "-@dangerous", "+info", _ARQ_ABORT_SELECTOR)
    return RedisUser(app_user_name(prefix), (*rules, *grants))


def worker_user(prefix: str, password: str) -> RedisUser:
    rules = ["on", _password_rule(password), *installation_keys(prefix), "resetchannels"]
    manage = [f"+{command}" for command in _ACL_MANAGEMENT]
    grants = ("+@all", "-@dangerous", "+info", *manage, _ARQ_ABORT_SELECTOR)
    return RedisUser(worker_user_name(prefix), (*rules, *grants))


def node_user(prefix: str, node_id: str, credential_hash: str) -> RedisUser:
    """The user of node ``node_id``; ``credential_hash`` is the SHA-256 hex of its credential."""
    rules = ["on", f"#{credential_hash}", *node_keys(prefix, node_id), "resetchannels", "-@all"]
    commands = [f"+{c}" for c in NODE_COMMANDS]
    return RedisUser(node_user_name(prefix, node_id), (*rules, *commands, _ARQ_ABORT_SELECTOR))


def acl_file(users: Iterable[RedisUser], *, default_off: bool = True) -> str:
    """An ACL file (``aclfile``) with ``users``; the ``default`` user off unless told."""
    lines = ["user default off resetchannels -@all"] if default_off else []
    return "\n".join([*lines, *(u.acl_line() for u in users)]) + "\n"


@dataclass
class SyncResult:
    set: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


async def apply(redis: Redis, prefix: str, wanted: Iterable[RedisUser]) -> SyncResult:
    """Make Redis hold ``wanted`` and no other ``<prefix>-node-*`` user.

    In memory only, no ``ACL SAVE``: an ACL file is its owner's (the ``redis``
    role's template, ``pixelfox up``'s), and Redis would rewrite it in a form of
    its own. The owner's file names the users it knows; a user set here alone
    (``nodes add`` on a Redis restarted since) comes back with the next sync.
    """
    result = SyncResult()
    names = set()
    for user in wanted:
        await redis.execute_command("ACL", "SETUSER", user.name, "reset", *user.rules)
        names.add(user.name)
        result.set.append(user.name)
    node_prefix = node_user_name(prefix, "")
    for raw in await redis.execute_command("ACL", "USERS"):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        if name.startswith(node_prefix) and name not in names:
            await redis.execute_command("ACL", "DELUSER", name)
            result.removed.append(name)
    return result


async def registered_nodes() -> dict[str, str]:
    """node id → credential hash of every registered node that is not retired.

    A retired node keeps no Redis user: sync deletes it like a removed node's.
    """
    from .models import NodeState, StorageNode

    rows = await StorageNode.exclude(state=NodeState.RETIRED).values_list(
        "node_id", "credential_hash"
    )
    return {str(node_id): str(hashed) for node_id, hashed in rows}


def wanted_users(
    prefix: str, nodes: Mapping[str, str], principals: Mapping[str, str] | None = None
) -> list[RedisUser]:
    """The users of this installation: the nodes', and the app's and worker's when
    their passwords are given (``principals``: ``{"app": …, "worker": …}``)."""
    users = []
    if principals and principals.get("app"):
        users.append(app_user(prefix, principals["app"]))
    if principals and principals.get("worker"):
        users.append(worker_user(prefix, principals["worker"]))
    users += [node_user(prefix, node_id, hashed) for node_id, hashed in sorted(nodes.items())]
    return users


async def sync(
    redis: Redis, prefix: str, principals: Mapping[str, str] | None = None
) -> SyncResult:
    """Set every registered node's user (and the app's and worker's, if given); drop stale ones."""
    wanted = wanted_users(prefix, await registered_nodes(), principals)
    result = await apply(redis, prefix, wanted)
    if result.removed:
        log.info("redis users removed: %s", ", ".join(result.removed))
    return result


async def sync_redis_users(ctx: dict[str, Any]) -> dict[str, Any]:
    """The control worker's cron job (and its start): :func:`sync` on its own connection.

    It connects as ``PIXELFOX_REDIS_USERS_URL`` when that names another user than
    the worker's own. A worker whose user may not manage users logs it and goes
    on; the nodes then keep the users they had.
    """
    settings = ctx["settings"]
    own = settings.effective_redis_users_url == settings.redis_url
    redis = ctx["redis"] if own else Redis.from_url(settings.effective_redis_users_url)
    try:
        result = await sync(redis, settings.redis_prefix)
    except (NoPermissionError, ResponseError) as exc:
        log.error("cannot set the nodes' redis users: %s", exc)
        return {"error": str(exc)}
    finally:
        if not own:
            await redis.aclose()
    return {"set": len(result.set), "removed": result.removed}


def user_url(redis_url: str, username: str, password: str) -> str:
    """``redis_url`` (host, port, database, options) as ``username`` with ``password``."""
    parts = urlsplit(redis_url)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def node_redis_url(redis_url: str, prefix: str, node_id: str, credential: str) -> str:
    """The Redis URL node ``node_id`` connects with: its own user, its credential."""
    return user_url(redis_url, node_user_name(prefix, node_id), credential)
