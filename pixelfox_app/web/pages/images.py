"""The image page ``/i/<short_id>`` and the user's own images, with absolute links to the node.

The owner (and an admin) gets a visibility control on the image page: a
partial that posts the choice and, while the node moves the files for a
change to or from private, polls itself; when the change is done the page
reloads (``HX-Refresh``), since every link on it changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quart import Blueprint, Response, current_app, g, redirect, request

from pixelfox_protocol.errors import APIError

from ...albums.ops import album_choices
from ...auth.current import current_user
from ...config import AppSettings
from ...copies.reads import file_pool, serving_pools
from ...images import urls
from ...images.visibility import change_visibility, is_private, may_change, may_see
from ...models import Image, ImageVariant, StoragePool, User, Visibility
from ..access import page_login_required
from ..render import error_page, is_htmx, page
from . import sharing

blueprint = Blueprint("image_pages", __name__)

PAGE_SIZE = 24
# Grid tiles are ~220 px wide: 400 px stays sharp on high-density screens.
THUMB_MIN_WIDTH = 400
_FORMAT_PREFERENCE = {"webp": 0, "avif": 1, "jpeg": 2, "jpg": 2, "png": 3}


@dataclass(frozen=True)
class VariantLink:
    kind: str
    format: str
    width: int
    height: int
    size: int
    url: str


def _settings() -> AppSettings:
    settings: AppSettings = current_app.config["PIXELFOX"]
    return settings


def variant_links(
    image: Image, variants: list[ImageVariant], serving: StoragePool | None = None
) -> list[VariantLink]:
    """Every variant of ``image`` as an absolute URL on the pool that holds it.

    ``serving``: the copy the URLs point at (``copies.reads``), else the primary.
    """
    settings = _settings()
    private = image.visibility == Visibility.PRIVATE  # signed, expiring links
    links = [
        VariantLink(
            v.kind,
            v.format,
            v.width,
            v.height,
            v.size,
            urls.file_url(file_pool(v.pool, image, serving), v.path, settings, private=private),
        )
        for v in variants
    ]
    return sorted(links, key=lambda v: (v.width, _FORMAT_PREFERENCE.get(v.format, 9)))


def pick_thumbnail(
    links: list[VariantLink], min_width: int = THUMB_MIN_WIDTH
) -> VariantLink | None:
    """The smallest variant at least ``min_width`` wide (else the largest); WebP before JPEG."""
    if not links:
        return None
    wide = [v for v in links if v.width >= min_width]
    pool = wide or links
    key = (
        (lambda v: (v.width, _FORMAT_PREFERENCE.get(v.format, 9))) if wide else (lambda v: -v.width)
    )
    return sorted(pool, key=key)[0]


def original_url(image: Image, serving: StoragePool | None = None) -> str:
    private = image.visibility == Visibility.PRIVATE
    pool = file_pool(image.pool, image, serving)
    return urls.file_url(pool, image.path, _settings(), private=private)


async def _serving(images: list[Image]) -> dict[int, StoragePool]:
    return await serving_pools(
        images, current_app.extensions["redis"], current_app.extensions["keys"]
    )


async def _visible_image(short_id: str) -> tuple[Image | None, User | None]:
    """The image if the caller may see it (private images of others look missing)."""
    image = await Image.get_or_none(short_id=short_id).select_related("pool", "owner")
    user = await current_user()
    if image is None or not may_see(image, user):
        return None, user
    return image, user


def _not_found() -> Any:
    return error_page(404, "Not found", "There is no image at this address.")


@blueprint.get("/i/<short_id>")
async def image_page(short_id: str):
    """One image with its variants and copyable absolute links."""
    image, user = await _visible_image(short_id)
    if image is None:
        return await _not_found()
    variants = await ImageVariant.filter(image_id=image.id).select_related("pool")
    serving = (await _serving([image]))[image.id]
    links = variant_links(image, list(variants), serving)
    original = original_url(image, serving)
    view_url = urls.view_url(image.short_id, _settings())
    title = image.original_filename or image.short_id
    return await page(
        "images/show.html",
        image=image,
        variants=links,
        preview=pick_thumbnail(links, min_width=800),
        original=original,
        view_url=view_url,
        og=sharing.open_graph(
            image, links, original, title=title, description="", page_url=view_url
        ),
        noindex=image.visibility != Visibility.PUBLIC,
        embeds=sharing.embed_sizes(image, links, original, view_url),
        private=is_private(image),
        can_change=user is not None and may_change(image, user),
        choices=list(Visibility),
        error="",
    )


image_page.auth_policy = "public"  # type: ignore[attr-defined]


@blueprint.route("/i/<short_id>/visibility", methods=["GET", "POST"])
@page_login_required
async def image_visibility(short_id: str):
    """The visibility control: POST changes it, GET is the poll while the node moves files."""
    image, user = await _visible_image(short_id)
    if image is None or user is None or not may_change(image, user):
        return await _not_found()
    error = ""
    if request.method == "POST":
        try:
            target = Visibility((await request.form).get("visibility", ""))
            image = await change_visibility(image, target, g.get("request_id", ""))
        except ValueError:
            error = "Choose public, unlisted or private."
        except APIError as exc:
            error = exc.message
    elif request.args.get("changing") and image.visibility_target is None:
        # The change is done: every link on the page is different now.
        done = Response("", 200)
        done.headers["HX-Refresh"] = "true"
        return done
    if not is_htmx():
        # A plain form post (no JavaScript): back to the page, which shows the state.
        return redirect(f"/i/{image.short_id}")
    return await page(
        "images/_visibility.html",
        image=image,
        can_change=True,
        choices=list(Visibility),
        error=error,
    )


async def image_cards(images: list[Image]) -> list[dict[str, Any]]:
    """A grid tile per image: its thumbnail, original and page, absolute on the serving node."""
    variants: dict[int, list[ImageVariant]] = {}
    for v in await ImageVariant.filter(image_id__in=[i.id for i in images]).select_related("pool"):
        variants.setdefault(v.image_id, []).append(v)  # type: ignore[attr-defined]
    settings = _settings()
    serving = await _serving(images)
    cards = []
    for image in images:
        links = variant_links(image, variants.get(image.id, []), serving[image.id])
        cards.append(
            {
                "image": image,
                "variants": links,
                "thumb": pick_thumbnail(links),
                "original": original_url(image, serving[image.id]),
                "view_url": urls.view_url(image.short_id, settings),
            }
        )
    return cards


@blueprint.get("/images")
@page_login_required
async def my_images():
    """The user's images, newest first, ``PAGE_SIZE`` to a page."""
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    query = Image.filter(owner_id=g.user.id, deleted_at=None)
    total = await query.count()
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    rows = (
        await query.order_by("-created_at", "-id")
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .select_related("pool")
    )
    return await page(
        "images/list.html",
        "images/_grid.html",
        cards=await image_cards(list(rows)),
        albums=await album_choices(g.user),
        page_number=number,
        pages=pages,
        total=total,
    )
