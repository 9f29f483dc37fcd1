"""The control app factory."""

from __future__ import annotations

import logging
from pathlib import Path

from arq.connections import ArqRedis
from quart import Quart

from pixelfox_common import streambody, web
from pixelfox_protocol.keys import RedisKeys
from pixelfox_protocol.version import VERSION

from . import auth
from .auth.ratelimit import RateLimits, parse_trusted_proxies
from .config import AppSettings
from .db import close_db, init_db
from .nodequeue import connect
from .placement.region import parse_region_map
from .upload.token_keys import key_status

log = logging.getLogger(__name__)


def _template_folder() -> str:
    packaged = Path(__file__).parent / "templates"
    return str(packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates")


def create_app(settings: AppSettings | None = None) -> Quart:
    settings = settings or AppSettings.from_env()
    parse_trusted_proxies(settings.trusted_proxies)  # a typo fails here, not per request
    parse_region_map(settings.region_map)  # likewise
    app = Quart(__name__, template_folder=_template_folder())
    app.config["PIXELFOX"] = settings
    app.config["TESTING"] = settings.testing
    app.secret_key = settings.secret_key or None
    keys = RedisKeys(settings.redis_prefix)
    app.extensions["keys"] = keys
    web.install(app, title="PixelFox control app", version=VERSION)
    # Proxy uploads stream large bodies with backpressure, like a node does.
    streambody.install(app)
    auth.install(app, settings)

    @app.before_serving
    async def _open() -> None:
        for warning in key_status(settings):
            log.warning("%s", warning)
        await init_db(settings.effective_database_url)
        # One client for everything: plain Redis commands, arq jobs and rate limits.
        redis = connect(settings.redis_url, settings.ca_file)
        app.extensions["redis"] = redis
        app.extensions["rate_limits"] = RateLimits(redis, keys.rate_limit_prefix)

    @app.after_serving
    async def _close() -> None:
        app.extensions.pop("rate_limits", None)
        redis: ArqRedis | None = app.extensions.pop("redis", None)
        if redis is not None:
            await redis.aclose()
        await close_db()

    from .health import blueprint as health
    from .images.redirect import blueprint as file_redirect
    from .images.status import blueprint as images
    from .images.trash import blueprint as image_trash
    from .images.visibility import blueprint as image_visibility
    from .internal.backup import blueprint as internal_backup
    from .internal.copies import blueprint as internal_copies
    from .internal.moves import blueprint as internal_moves
    from .internal.repair import blueprint as internal_repair
    from .internal.routes import blueprint as internal
    from .internal.scrub import blueprint as internal_scrub
    from .internal.trash import blueprint as internal_trash
    from .moves.api import blueprint as moves_api
    from .upload.guest import blueprint as guest_upload
    from .upload.proxy import blueprint as proxy_upload
    from .upload.routes import blueprint as upload

    blueprints = [health, upload, proxy_upload, internal, internal_backup, images, image_visibility]
    blueprints += (internal_moves, internal_copies, moves_api, internal_scrub)
    blueprints += (image_trash, internal_trash, file_redirect, internal_repair, guest_upload)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    from .web import register as register_web_ui

    register_web_ui(app)
    return app
