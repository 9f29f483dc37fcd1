"""Who is asking: browser sessions, personal API tokens, node credentials, rate limits."""

from __future__ import annotations

from quart import Quart
from quart_auth import QuartAuth

from ..config import AppSettings
from .current import current_user
from .decorators import admin_required, login_required, node_required, public
from .passwords import hash_password, verify_password
from .sessions import SESSION_SECONDS
from .tokens import create_api_token

COOKIE_NAME = "pixelfox_session"


def install(app: Quart, settings: AppSettings) -> None:
    """Configure the session cookie (quart-auth), the login API and the admin's user API."""
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
    from .admin_users import blueprint as admin_users
    from .routes import blueprint

    app.register_blueprint(blueprint)
    app.register_blueprint(admin_users)


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
