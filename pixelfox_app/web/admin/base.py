"""The admin's blueprint, its navigation and the clients every admin view uses."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis
from quart import Blueprint, current_app, redirect
from redis.asyncio import Redis

from pixelfox_protocol.keys import RedisKeys

from ..access import page_admin_required

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str | None  # None: a slot kept for a screen that is not built yet


NAV = (
    NavItem("Pools", "/admin/pools"),
    NavItem("Nodes", "/admin/nodes"),
    NavItem("Queues", "/admin/queues"),
    NavItem("Moves", "/admin/moves"),
    NavItem("Scrub", "/admin/scrub"),
    NavItem("Users", "/admin/users"),
    NavItem("Images", "/admin/images"),
    NavItem("Settings", "/admin/settings"),
)


def redis() -> Redis:
    client: Redis = current_app.extensions["redis"]
    return client


def arq() -> ArqRedis:
    """The same client, typed for enqueueing (see ``pixelfox_app.nodequeue.connect``)."""
    client: ArqRedis = current_app.extensions["redis"]
    return client


def keys() -> RedisKeys:
    names: RedisKeys = current_app.extensions["keys"]
    return names


@blueprint.context_processor
def _nav() -> dict[str, object]:
    return {"admin_nav": NAV}


@blueprint.get("/")
@page_admin_required
async def index():
    """The admin starts at the pools."""
    return redirect("/admin/pools")
