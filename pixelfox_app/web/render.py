"""Rendering pages and their htmx fragments from the same templates.

A page template includes its partials; an htmx request that targets one
partial (a table refresh, a form swap) gets that partial alone, rendered with
the same context. Boosted navigation (``hx-boost``) gets the whole page.
"""

from __future__ import annotations

from typing import Any

from quart import render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """An htmx request that is not a boosted page navigation or a history restore."""
    return (
        is_htmx()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


async def page(template: str, partial: str | None = None, **context: Any) -> str:
    """The full ``template``, or only ``partial`` when htmx asks for a fragment."""
    if partial is not None and wants_fragment():
        return await render_template(partial, **context)
    return await render_template(template, **context)


async def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    """A friendly HTML error (htmx shows the message in its toast instead)."""
    return await render_template("error.html", status=status, title=title, message=message), status
