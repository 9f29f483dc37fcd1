"""The storage service factory."""

from __future__ import annotations

from quart import Quart, jsonify
from redis.asyncio import Redis

from pixelfox_common import web

from .config import StorageSettings
from .protocol.keys import RedisKeys

VERSION = "0.1.0"


def create_app(settings: StorageSettings | None = None) -> Quart:
    settings = settings or StorageSettings.from_env()
    app = Quart(__name__)
    app.config["PIXELFOX_STORAGE"] = settings
    app.config["TESTING"] = settings.testing
    app.extensions["keys"] = RedisKeys(settings.redis_prefix)
    web.install(app, title=f"PixelFox storage node {settings.node_id}", version=VERSION)

    @app.before_serving
    async def _open() -> None:
        app.extensions["redis"] = Redis.from_url(settings.redis_url)

    @app.after_serving
    async def _close() -> None:
        redis: Redis | None = app.extensions.pop("redis", None)
        if redis is not None:
            await redis.aclose()

    @app.get("/healthz")
    async def healthz():  # type: ignore[no-untyped-def]
        """Ready when Redis answers."""
        try:
            await app.extensions["redis"].ping()
            redis_state = "ok"
        except Exception as exc:
            redis_state = f"error: {exc}"
        ok = redis_state == "ok"
        body = {
            "status": "ok" if ok else "degraded",
            "node_id": settings.node_id,
            "version": VERSION,
            "checks": {"redis": redis_state},
        }
        return jsonify(body), 200 if ok else 503

    return app
