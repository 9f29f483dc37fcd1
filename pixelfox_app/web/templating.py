"""What every template can use: filters for sizes and ages, the CSRF token, the user, assets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from quart import Quart, current_app, request, url_for

from pixelfox_protocol.version import VERSION

from ..auth.current import current_user
from ..sizes import NONE, filesize
from . import csrf


def duration(seconds: float | None) -> str:
    """``75`` → ``1 min 15 s``; short and readable for ages and waits."""
    if seconds is None:
        return NONE
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s < 600 else f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {(s % 3600) // 60} min"
    return f"{s // 86400} d"


def age(moment: datetime | None) -> str:
    """How long ago ``moment`` was, e.g. ``12 s ago``."""
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{duration((datetime.now(UTC) - moment).total_seconds())} ago"


def until(moment: datetime | None) -> str:
    """How long until ``moment``, e.g. ``in 6 d 23 h``; ``now`` once it has passed."""
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    left = (moment - datetime.now(UTC)).total_seconds()
    return f"in {duration(left)}" if left > 0 else "now"


def asset(path: str) -> str:
    """URL of a static file with the app version, so a new release is never cached stale."""
    return url_for("static", filename=path, v=VERSION)


def is_active_path(prefix: str) -> bool:
    return request.path == prefix or request.path.startswith(prefix.rstrip("/") + "/")


async def _context() -> dict[str, Any]:
    try:
        user = await current_user()
    except Exception:  # a template rendered outside a request with a database
        user = None
    return {
        "user": user if user is not None and user.is_active else None,
        "csrf_token": csrf.generate_token,
        "csrf_header": csrf.HEADER,
        "csrf_field": csrf.FORM_FIELD,
        "asset": asset,
        "is_active_path": is_active_path,
        "app_settings": current_app.config["PIXELFOX"],
    }


def install(app: Quart) -> None:
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["age"] = age
    app.jinja_env.filters["until"] = until
    app.context_processor(_context)
