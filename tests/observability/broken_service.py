"""A service that breaks our rules on purpose, to prove the fuzz run notices.

Served by ``test_fuzz`` with hypercorn: one route answers an error as plain
text, one crashes with a 500.
"""

from __future__ import annotations

from quart import Quart
from quart_schema import QuartSchema

app = Quart(__name__)
QuartSchema(app, info={"title": "broken", "version": "0"})


@app.get("/api/v1/plain-error")
async def plain_error() -> tuple[str, int]:
    """Refuses in plain text instead of our format."""
    return "nope", 400


@app.get("/api/v1/crash")
async def crash() -> str:
    """Fails on every call."""
    raise RuntimeError("crash")
