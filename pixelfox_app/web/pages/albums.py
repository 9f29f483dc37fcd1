"""Album pages: "My albums" ``/albums``, the album page ``/a/<short_id>`` and its editor.

The album page shows each image's preview and original with absolute URLs on
the node that serves it (or the CDN), as "My images" does; private images
(for those who may see them) get signed links. The editor posts with htmx and
gets its list of entries back alone: add from "My images" (multi-select),
move up and down (buttons, for keyboards), drag and drop (``album-order.js``
posts the whole order), pick the cover, remove. The rules are ``albums.ops``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from quart import Blueprint, Response, current_app, g, redirect, request

from pixelfox_protocol.errors import APIError

from ...albums import ops
from ...auth.current import current_user
from ...config import AppSettings
from ...images import urls
from ...images.visibility import is_private
from ...models import Album, AlbumImage, Image, User, Visibility
from ..access import page_login_required
from ..render import error_page, is_htmx, page
from . import sharing
from .images import image_cards

blueprint = Blueprint("album_pages", __name__)

# How many of the owner's newest images the editor offers to add.
PICKER_LIMIT = 60


def _settings() -> AppSettings:
    settings: AppSettings = current_app.config["PIXELFOX"]
    return settings


async def _refused(exc: APIError) -> Any:
    if exc.status == 403:
        return await error_page(
            403, "Not yours", "Only the album's owner or an admin can change it."
        )
    return await error_page(404, "Not found", "There is no album at this address.")


def _choice(value: str) -> Visibility | None:
    try:
        return Visibility(value)
    except ValueError:
        return None


@blueprint.get("/albums")
@page_login_required
async def my_albums():
    """The user's albums, newest first, with a form for a new one."""
    user: User = g.user
    albums = await ops.owned_albums(user)
    tiles = []
    for album in albums:
        count, cover = await ops.summary(album)
        cards = await image_cards([cover]) if cover else []
        tiles.append({"album": album, "count": count, "cover": cards[0] if cards else None})
    return await page("albums/list.html", tiles=tiles, choices=list(Visibility), error="")


@blueprint.post("/albums")
@page_login_required
async def create_album():
    """A new album; then its editor."""
    form = await request.form
    title = form.get("title", "").strip()[:200]
    visibility = _choice(form.get("visibility", "public"))
    if not title or visibility is None:
        return await page(
            "albums/list.html",
            tiles=[],
            choices=list(Visibility),
            error="Give the album a title.",
        ), 422
    album = await ops.create_album(g.user, title, form.get("description", "")[:5000], visibility)
    return _go(f"/a/{album.short_id}/edit")


def _go(target: str) -> Any:
    if is_htmx():
        done = Response("", 200)
        done.headers["HX-Redirect"] = target
        return done
    return redirect(target)


@blueprint.get("/a/<short_id>")
async def album_page(short_id: str):
    """The album: its images in order, previews and originals on their nodes."""
    user = await current_user()
    try:
        album = await ops.album_for(short_id, user)
    except APIError as exc:
        return await _refused(exc)
    cards = await image_cards(await ops.visible_images(album, user))
    cover = ops.cover_of(album, [c["image"] for c in cards])
    page_url = urls.album_url(album.short_id, _settings())
    og = None
    if album.visibility != Visibility.PRIVATE and cover is not None and not is_private(cover):
        card = next(c for c in cards if c["image"].id == cover.id)
        og = sharing.open_graph(
            cover,
            card["variants"],
            card["original"],
            title=album.title,
            description=album.description[:300] or f"{len(cards)} images",
            page_url=page_url,
        )
    return await page(
        "albums/show.html",
        album=album,
        cards=cards,
        page_url=page_url,
        og=og,
        noindex=album.visibility != Visibility.PUBLIC,
        can_edit=user is not None and ops.may_edit_album(album, user),
    )


album_page.auth_policy = "public"  # type: ignore[attr-defined]


def editor(func: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A view of the album editor: ``short_id`` becomes the ``album`` the user may edit
    (else a 404 or 403 page)."""

    @wraps(func)
    async def view(short_id: str, **kwargs: Any) -> Any:
        try:
            album = await ops.album_for(short_id, g.user, edit=True)
        except APIError as exc:
            return await _refused(exc)
        return await func(album, **kwargs)

    return view


async def _editor_context(album: Album, error: str = "", focus: str = "") -> dict[str, Any]:
    user: User = g.user
    entries = await ops.entries(album)
    cards = await image_cards([e.image for e in entries])
    cover = ops.cover_of(album, [c["image"] for c in cards])
    present = {e.image_id for e in await AlbumImage.filter(album_id=album.id)}  # type: ignore[attr-defined]
    candidates = (
        await Image.filter(owner_id=album.owner_id, deleted_at=None)  # type: ignore[attr-defined]
        .exclude(id__in=list(present))
        .order_by("-created_at", "-id")
        .limit(PICKER_LIMIT)
        .select_related("pool")
    )
    return {
        "album": album,
        "cards": cards,
        "cover": cover,
        "picker": await image_cards(list(candidates)),
        "choices": list(Visibility),
        "error": error,
        "focus": focus,
        "user": user,
    }


async def _entries(album: Album, error: str = "", focus: str = "") -> Any:
    context = await _editor_context(album, error, focus)
    return await page("albums/edit.html", "albums/_entries.html", **context)


@blueprint.get("/a/<short_id>/edit")
@page_login_required
@editor
async def edit_album(album: Album):
    """The editor: details, the ordered images, the picker."""
    return await page("albums/edit.html", **await _editor_context(album))


@blueprint.post("/a/<short_id>/edit")
@page_login_required
@editor
async def save_details(album: Album):
    """Title, description and visibility."""
    form = await request.form
    title = form.get("title", "").strip()[:200]
    visibility = _choice(form.get("visibility", ""))
    if not title or visibility is None:
        context = await _editor_context(album, "Give the album a title and a visibility.")
        return await page("albums/edit.html", "albums/_details.html", **context), 422
    await ops.update_album(
        album, title=title, description=form.get("description", "")[:5000], visibility=visibility
    )
    if not is_htmx():
        return redirect(f"/a/{album.short_id}/edit")
    context = await _editor_context(album)
    return await page("albums/edit.html", "albums/_details.html", saved=True, **context)


async def _change(album: Album, action: str) -> Any:
    """One change of the entries from a form post; the entries again (or the editor)."""
    form = await request.form
    chosen = form.getlist("image")
    focus = ""
    try:
        if action == "add":
            await ops.add_images(album, chosen[: ops.MAX_IMAGES])
        elif action == "order":
            await ops.reorder(album, chosen)
        elif chosen and action in {"up", "down"}:
            await ops.move(album, chosen[0], -1 if action == "up" else 1)
            focus = f"{action}-{chosen[0]}"
        elif chosen and action == "cover":
            await ops.set_cover(album, chosen[0])
        elif chosen and action == "remove":
            await ops.remove_image(album, chosen[0])
    except APIError as exc:
        if not is_htmx():
            return await error_page(exc.status, "Not changed", exc.message)
        return await _entries(album, exc.message), exc.status
    if not is_htmx():
        return redirect(f"/a/{album.short_id}/edit")
    return await _entries(album, focus=focus)


@blueprint.post("/a/<short_id>/images")
@page_login_required
@editor
async def add_images(album: Album):
    """Add the ticked images of "My images" at the end."""
    return await _change(album, "add")


@blueprint.post("/a/<short_id>/order")
@page_login_required
@editor
async def order_images(album: Album):
    """The whole order (``image`` uuids in order), as drag and drop posts it."""
    return await _change(album, "order")


@blueprint.post("/a/<short_id>/entry/<action>")
@page_login_required
@editor
async def change_entry(album: Album, action: str):
    """One image (``image``): move ``up`` or ``down``, make it the ``cover``, ``remove`` it."""
    if action not in {"up", "down", "cover", "remove"}:
        return await error_page(404, "Not found", "There is nothing at this address.")
    return await _change(album, action)


@blueprint.post("/images/album")
@page_login_required
async def add_from_my_images():
    """ "My images"' Add to album: the ticked images (short ids) into the chosen album,
    then its editor."""
    form = await request.form
    try:
        album = await ops.album_for(form.get("album", ""), g.user, edit=True)
    except APIError as exc:
        return await _refused(exc)
    chosen = list(dict.fromkeys(form.getlist("image")))[: ops.MAX_IMAGES]
    found: dict[str, Any] = dict(
        await Image.filter(
            short_id__in=[s for s in chosen if len(s) <= ops.SHORT_ID_MAX],
            owner_id=album.owner_id,  # type: ignore[attr-defined]
            deleted_at=None,
        ).values_list("short_id", "uuid")
    )
    try:
        if len(found) != len(chosen):
            raise APIError("ALBUM_IMAGE_UNKNOWN")
        await ops.add_images(album, [str(found[s]) for s in chosen])
    except APIError as exc:
        return await error_page(exc.status, "Not added", exc.message)
    return _go(f"/a/{album.short_id}/edit")


@blueprint.post("/a/<short_id>/delete")
@page_login_required
@editor
async def delete_album(album: Album):
    """Delete the album (never its images); then "My albums"."""
    await ops.delete_album(album)
    return _go("/albums")
