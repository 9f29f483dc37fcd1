"""The control app factory."""

from __future__ import annotations

from pathlib import Path

from quart import Quart
from redis.asyncio import Redis

from pixelfox_common import web
from pixelfox_storage.protocol.keys import RedisKeys

from .config import AppSettings
from .db import close_db, init_db

VERSION = "0.1.0"


def _template_folder() -> str:
    packaged = Path(__file__).parent / "templates"
    return str(packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates")


def create_app(settings: AppSettings | None = None) -> Quart:
    settings = settings or AppSettings.from_env()
    app = Quart(__name__, template_folder=_template_folder())
    app.config["PIXELFOX"] = settings
    app.config["TESTING"] = settings.testing
    app.secret_key = settings.secret_key or None
    app.extensions["keys"] = RedisKeys(settings.redis_prefix)
    web.install(app, title="PixelFox control app", version=VERSION)

    @app.before_serving
    async def _open() -> None:
        await init_db(settings.effective_database_url)
        app.extensions["redis"] = Redis.from_url(settings.redis_url)

    @app.after_serving
    async def _close() -> None:
        redis: Redis | None = app.extensions.pop("redis", None)
        if redis is not None:
            await redis.aclose()
        await close_db()

    from .health import blueprint as health

    app.register_blueprint(health)
    return app
