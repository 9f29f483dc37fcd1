"""The admin's Images page: every image, searched and paged by keyset, and bulk actions.

Each row shows where the image's copies are (its ``ImageCopy`` rows and their
pools), its size and SHA-256. Ticked rows take one action at a time: into the
trash, out of it, or private, through the same functions as the image page
and the API (``images.trash``, ``images.visibility``), so the nodes follow the
same way. The actions form posts with htmx and gets the table back, on the
same filters and page, with what was done.

"Move to a pool" starts a move of the ticked images only
(``pixelfox_app.moves.selection``: one per source pool, which stays in
placement); the Moves page follows it. Refusals (nothing ticked, no such
pool, a target that cannot take them) come back as 422 with a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from quart import current_app, g, redirect, request

from pixelfox_protocol.errors import APIError

from ...images.trash import delete_image, restore_image
from ...images.visibility import change_visibility
from ...models import Image, StoragePool, Visibility
from ...moves.selection import move_images
from ..access import page_admin_required
from ..render import is_htmx, page
from .base import blueprint
from .image_search import STATES, VISIBILITIES, ImageFilters, search_images

# Most images one action takes (a page shows 50).
SELECT_LIMIT = 100
ACTIONS = {
    "delete": "moved to the trash",
    "restore": "restored",
    "private": "made private",
}
MOVE = "move"


@dataclass(frozen=True)
class Outcome:
    action: str
    done: int
    skipped: list[str]

    @property
    def message(self) -> str:
        text = f"{self.done} image{'s' if self.done != 1 else ''} {ACTIONS[self.action]}."
        if self.skipped:
            text += f" Skipped {len(self.skipped)}: " + "; ".join(self.skipped[:5])
        return text


def _before(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _query(filters: ImageFilters, before: int | None = None) -> str:
    pairs = filters.items() + ([("before", str(before))] if before is not None else [])
    return urlencode(pairs)


async def _table(filters: ImageFilters, before: int | None, **extra: Any) -> dict[str, Any]:
    found = await search_images(filters, before)
    return {
        "found": found,
        "filters": filters,
        "before": before,
        "next_query": _query(filters, found.next_before) if found.next_before else "",
        "first_query": _query(filters),
        "notice": "",
        "notice_error": False,
        "move_targets": await StoragePool.filter(is_active=True).order_by("name"),
        "moves": [],
        **extra,
    }


async def _choices() -> dict[str, Any]:
    pools = await StoragePool.all().order_by("name")
    return {
        "pools": pools,
        "nodes": sorted({p.node_id for p in pools if p.node_id}),
        "states": STATES,
        "visibilities": VISIBILITIES,
    }


@blueprint.get("/images")
@page_admin_required
async def images_index():
    """Every image, newest first, 50 to a page (``before``: keyset); the table alone for htmx."""
    filters = ImageFilters.from_args(request.args)
    table = await _table(filters, _before(request.args.get("before")))
    return await page(
        "admin/images/index.html", "admin/images/_table.html", **table, **await _choices()
    )


async def _apply(action: str, image: Image) -> str | None:
    """Do ``action`` to one image; the reason when it does not apply."""
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    request_id = g.get("request_id", "")
    name = image.original_filename or image.short_id
    if action == "delete":
        if image.deleted_at is not None:
            return f"{name} is in the trash already"
        await delete_image(image, g.user, redis, keys, request_id)
    elif action == "restore":
        if image.deleted_at is None:
            return f"{name} is not in the trash"
        await restore_image(image, redis, keys, request_id)
    elif image.deleted_at is not None:
        return f"{name} is in the trash"
    else:
        await change_visibility(image, Visibility.PRIVATE, request_id)
    return None


@blueprint.post("/images/actions")
@page_admin_required
async def image_actions():
    """Delete (to the trash), restore or make private every ticked image (admin)."""
    form = await request.form
    filters = ImageFilters.from_args(form)
    before = _before(form.get("before"))
    action = form.get("action", "")
    chosen = [int(v) for v in form.getlist("image") if v.isdigit()][:SELECT_LIMIT]
    refusal = (
        "Choose what to do with the selected images."
        if action not in ACTIONS and action != MOVE
        else "Tick the images to act on first."
        if not chosen
        else ""
    )
    if refusal:
        table = await _table(filters, before, notice=refusal, notice_error=True)
        return await page("admin/images/_table.html", **table), 422
    if action == MOVE:
        return await _move(chosen, form.get("target_pool", ""), filters, before)
    done, skipped = 0, []
    images = await Image.filter(id__in=chosen).select_related("pool", "owner")
    for image in sorted(images, key=lambda i: -i.id):
        try:
            reason = await _apply(action, image)
        except APIError as exc:
            reason = f"{image.original_filename or image.short_id}: {exc.message}"
        if reason is None:
            done += 1
        else:
            skipped.append(reason)
    if not is_htmx():
        return redirect("/admin/images?" + _query(filters, before))
    notice = Outcome(action, done, skipped).message
    table = await _table(filters, before, notice=notice, notice_error=False)
    return await page("admin/images/_table.html", **table)


async def _move(chosen: list[int], target: str, filters: ImageFilters, before: int | None) -> Any:
    """Start moving the ticked images to the target pool; 422 with the reason if refused."""
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    try:
        if not target.strip():
            raise APIError("VALIDATION_ERROR", "Choose the pool to move the images to.")
        started = await move_images(chosen, target, redis, keys, requested_by=g.user.username)
    except APIError as exc:
        reason = exc.message
        why = exc.details.get("detail") or exc.details.get("reason") if exc.details else None
        if why:
            reason = f"{reason.rstrip('.')} ({exc.details.get('pool', target)}: {why})."
        table = await _table(filters, before, notice=reason, notice_error=True)
        return await page("admin/images/_table.html", **table), 422
    if not is_htmx():
        return redirect("/admin/images?" + _query(filters, before))
    count = started.images
    notice = f"{count} image{'s' if count != 1 else ''} on the way to {started.target.name}"
    if started.moves:
        notice += " (move " + ", ".join(str(m.id) for m in started.moves) + ")."
    else:
        notice += "."
    if started.already_there:
        notice += f" {started.already_there} already there."
    if started.left_out:
        notice += f" Skipped {len(started.left_out)}: " + "; ".join(started.left_out[:5])
    table = await _table(filters, before, notice=notice, notice_error=False, moves=started.moves)
    return await page("admin/images/_table.html", **table)
