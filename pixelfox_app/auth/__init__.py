"""Who is asking: browser sessions, personal API tokens, node credentials, rate limits."""

from __future__ import annotations

from quart import Quart
from quart_auth import QuartAuth

from ..config import AppSettings
from .current import current_user
from .decorators import admin_required, login_required, node_required, public
from .passwords import hash_password, verify_password
from .tokens import create_api_token

COOKIE_NAME = "pixelfox_session"
# The login cookie lives this long; logging out deletes it earlier.
SESSION_SECONDS = 30 * 24 * 3600


def install(app: Quart, settings: AppSettings) -> None:
    """Configure the session cookie (quart-auth) and the login API."""
    app.config.update(
        QUART_AUTH_COOKIE_NAME=COOKIE_NAME,
        # Secure cookies are never sent over plain http, which would lock out the
        # single-host appliance on http://; on https they are always secure.
        QUART_AUTH_COOKIE_SECURE=settings.public_domain.startswith("https://"),
        QUART_AUTH_COOKIE_SAMESITE="Lax",
        QUART_AUTH_DURATION=SESSION_SECONDS,
        QUART_AUTH_SALT="pixelfox-session",
    )
    QuartAuth(app)
    from .routes import blueprint

    app.register_blueprint(blueprint)


__all__ = [
    "admin_required",
    "create_api_token",
    "current_user",
    "hash_password",
    "install",
    "login_required",
    "node_required",
    "public",
    "verify_password",
]
