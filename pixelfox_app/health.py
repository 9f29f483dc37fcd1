"""Liveness and readiness of the control app."""

from __future__ import annotations

from quart import Blueprint, current_app, jsonify
from tortoise import Tortoise

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
async def healthz():
    """Ready when the database and Redis answer."""
    checks: dict[str, str] = {}
    try:
        await Tortoise.get_connection("default").execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    try:
        await current_app.extensions["redis"].ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {exc}"
    ok = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if ok else "degraded", "checks": checks}), 200 if ok else 503
