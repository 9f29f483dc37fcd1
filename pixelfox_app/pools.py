"""Storage pools: runtime defaults of empty fields, operator input checks, the default pool.

The seed's "Phase 1 defaults": a pool whose URLs or node are left empty still
works on a single host — its files are served from ``PIXELFOX_PUBLIC_DOMAIN``,
uploads go to ``<public domain>/api/internal/upload`` and its node is ``local``.
The defaults are applied when read, never written, so changing the public
domain moves every such pool with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError

from pixelfox_protocol.internal import UPLOAD_PATH

from .config import AppSettings
from .models import PoolTier, PoolType, StorageNode, StoragePool
from .models.storage import MAX_REPLICATION_FACTOR
from .nodes import DEFAULT_NODE_ID, node_of

DEFAULT_POOL_NAME = "local"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
REGION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
URL_FIELDS = ("public_base_url", "cdn_base_url", "upload_api_url")
NON_NEGATIVE_FIELDS = ("priority", "weight", "capacity_bytes", "reserve_bytes")
# What an operator may set (used_bytes is measured, not set).
EDITABLE_FIELDS = (
    "name",
    "type",
    "tier",
    "priority",
    "base_path",
    *URL_FIELDS,
    "node_id",
    "region",
    "weight",
    "capacity_bytes",
    "reserve_bytes",
    "is_active",
    "is_upload_target",
    "backup_bucket",
    "backup_prefix",
    "replication_factor",
)


class PoolError(ValueError):
    """Operator input a pool cannot take; the message is one line meant for the operator."""


def _origin(url: str) -> str:
    return url.strip().rstrip("/")


def effective_public_base_url(pool: StoragePool, settings: AppSettings) -> str:
    """Where the pool's ``/uploads/`` are served: its own URL, else the public domain."""
    return _origin(pool.public_base_url) or _origin(settings.public_domain)


def effective_upload_api_url(pool: StoragePool, settings: AppSettings) -> str:
    """Where browsers upload into the pool: its own URL, else ``…/api/internal/upload``.

    The fallback sits on the pool's public base (the public domain for the default
    pool), matching ``pixelfox_app.images.urls.upload_url``.
    """
    own = pool.upload_api_url.strip()
    return own or effective_public_base_url(pool, settings) + UPLOAD_PATH


def effective_node_id(pool: StoragePool) -> str:
    """The node that holds the pool; ``local`` (the app's own host) when empty."""
    return node_of(pool)


def uses_runtime_defaults(pool: StoragePool) -> list[str]:
    """Names of the fields whose value comes from a runtime default (for the admin)."""
    return [
        name for name in ("public_base_url", "upload_api_url", "node_id") if not getattr(pool, name)
    ]


def _check_url(name: str, value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PoolError(f"{name} must be an http(s) URL with a host, got {value!r}")
    if parts.query or parts.fragment:
        raise PoolError(f"{name} must not have a query or fragment, got {value!r}")
    return value.rstrip("/")


def _check_base_path(value: str) -> str:
    path = PurePosixPath(value.strip())
    if not path.is_absolute():
        raise PoolError(f"base_path must be an absolute path, got {value!r}")
    if ".." in path.parts:
        raise PoolError(f"base_path must not contain '..', got {value!r}")
    return str(path)


def check_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and check pool fields given by an operator; raises PoolError.

    Only the keys present are checked, so the same call serves create and edit.
    The node's existence is checked separately (``check_node``): it needs the database.
    """
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise PoolError(f"unknown pool field(s): {', '.join(sorted(unknown))}")
    clean = dict(values)
    if "name" in clean and not NAME_PATTERN.match(str(clean["name"])):
        raise PoolError(
            "a pool name is 1 to 100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if "type" in clean:
        clean["type"] = _choice("type", clean["type"], PoolType)
    if "tier" in clean:
        clean["tier"] = _choice("tier", clean["tier"], PoolTier)
    if "base_path" in clean:
        clean["base_path"] = _check_base_path(str(clean["base_path"]))
    for name in URL_FIELDS:
        if name in clean:
            clean[name] = _check_url(name, str(clean[name]))
    for name in NON_NEGATIVE_FIELDS:
        if name in clean and int(clean[name]) < 0:
            raise PoolError(f"{name} must not be negative, got {clean[name]}")
    if clean.get("region") and not REGION_PATTERN.match(str(clean["region"])):
        raise PoolError("a region is lowercase letters, digits and '-', e.g. 'eu-central'")
    if "node_id" in clean:
        clean["node_id"] = str(clean["node_id"]).strip()
    if "replication_factor" in clean:
        # 0 or empty: the installation's default (pixelfox_app.copies.factor), kept as NULL.
        factor = int(clean["replication_factor"] or 0)
        if not 0 <= factor <= MAX_REPLICATION_FACTOR:
            raise PoolError(f"replication_factor is 1 to {MAX_REPLICATION_FACTOR} (0: default)")
        clean["replication_factor"] = factor or None
    return clean


def _choice(name: str, value: Any, enum: type[PoolType] | type[PoolTier]) -> Any:
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise PoolError(f"{name} must be one of {allowed}, got {value!r}") from None


async def check_node(node_id: str) -> None:
    """A pool's node must be registered (``pixelfox nodes add``), or be ``local``."""
    if node_id in ("", DEFAULT_NODE_ID):
        return
    if not await StorageNode.exists(node_id=node_id):
        raise PoolError(f"unknown node {node_id!r}: register it first with 'pixelfox nodes add'")


async def create_pool(**values: Any) -> StoragePool:
    """Check the operator's fields and create the pool."""
    clean = check_fields(values)
    if "name" not in clean or "base_path" not in clean:
        raise PoolError("a pool needs a name and a base_path")
    await check_node(clean.get("node_id", ""))
    if await StoragePool.exists(name=clean["name"]):
        raise PoolError(f"pool {clean['name']!r} already exists")
    try:
        return await StoragePool.create(**clean)
    except IntegrityError:  # created by someone else since the check above
        raise PoolError(f"pool {clean['name']!r} already exists") from None


async def edit_pool(name: str, /, **changes: Any) -> StoragePool:
    """Check and apply changes to the named pool (``name=`` renames it); returns it saved."""
    pool = await StoragePool.get_or_none(name=name)
    if pool is None:
        raise PoolError(f"no pool named {name!r}")
    clean = check_fields(changes)
    if "node_id" in clean:
        await check_node(clean["node_id"])
    new_name = clean.get("name", name)
    if new_name != name and await StoragePool.exists(name=new_name):
        raise PoolError(f"pool {new_name!r} already exists")
    for key, value in clean.items():
        setattr(pool, key, value)
    if clean:
        await pool.save(update_fields=[*clean, "updated_at"])
    return pool


@dataclass(frozen=True)
class DefaultPool:
    pool: StoragePool
    created: bool


async def ensure_default_pool(
    base_path: str, *, public_base_url: str = "", upload_api_url: str = ""
) -> DefaultPool:
    """The single-host appliance's pool (``local`` on node ``local``), created when missing.

    Empty URLs keep the runtime defaults; given URLs are written (so a restart on
    other ports updates them). An existing pool's base path is never changed:
    files already live there.
    """
    urls: dict[str, Any] = {
        key: _check_url(key, value)
        for key, value in (("public_base_url", public_base_url), ("upload_api_url", upload_api_url))
        if value
    }
    pool = await StoragePool.get_or_none(name=DEFAULT_POOL_NAME)
    if pool is None:
        pool = await StoragePool.create(
            name=DEFAULT_POOL_NAME,
            base_path=_check_base_path(base_path),
            node_id=DEFAULT_NODE_ID,
            **urls,
        )
        return DefaultPool(pool, created=True)
    changed = [key for key, value in urls.items() if getattr(pool, key) != value]
    if changed:
        for key in changed:
            setattr(pool, key, urls[key])
        await pool.save(update_fields=[*changed, "updated_at"])
    return DefaultPool(pool, created=False)
