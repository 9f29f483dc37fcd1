"""The storage service factory."""

from __future__ import annotations

from quart import Quart, Response, jsonify
from redis.asyncio import Redis

from pixelfox_common import tls, web
from pixelfox_protocol.keys import RedisKeys
from pixelfox_protocol.version import VERSION

from . import heartbeat, moves, serving
from .config import StorageSettings
from .upload import install as install_upload
from .upload import spooled


def create_app(settings: StorageSettings | None = None) -> Quart:
    settings = settings or StorageSettings.from_env()
    app = Quart(__name__)
    app.config["PIXELFOX_STORAGE"] = settings
    app.config["TESTING"] = settings.testing
    app.extensions["keys"] = RedisKeys(settings.redis_prefix)
    web.install(app, title=f"PixelFox storage node {settings.node_id}", version=VERSION)

    @app.before_serving
    async def _open() -> None:
        app.extensions["redis"] = Redis.from_url(
            settings.redis_url, **tls.redis_options(settings.redis_url, settings.ca_file)
        )

    @app.after_serving
    async def _close() -> None:
        redis: Redis | None = app.extensions.pop("redis", None)
        if redis is not None:
            await redis.aclose()

    # After _open: the upload chores start once Redis is there.
    install_upload(app, settings)
    # The same uploads when this host's nginx received the body first (its spool).
    app.register_blueprint(spooled.blueprint)
    # Moves push files here with the app's grant; uses the upload module's pools and keys.
    moves.install(app)
    # After the upload module: the first beat reports the pools it loaded.
    heartbeat.install(app, settings, VERSION)
    if settings.serve_uploads:
        # Downloads without nginx (single host); uses the upload module's pool map.
        serving.install(app, settings)

    @app.get("/healthz")
    async def healthz() -> tuple[Response, int]:
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
