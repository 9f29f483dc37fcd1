"""``/api/v1/albums``: create, describe, share, fill, order and delete albums.

Albums are named by their short id (the one in ``/a/<short_id>``), images by
their uuid. Everything but reading is for the album's owner and admins; see
``albums.ops`` for the rules. Deleting an album never deletes its images.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from quart import Blueprint, Response, current_app, g
from quart_schema import validate_request, validate_response

from pixelfox_common.web import no_content, raises
from pixelfox_protocol.errors import APIError

from ..auth import login_required
from ..auth.current import current_user
from ..config import AppSettings
from ..images import urls
from ..models import Album, Image, User, Visibility
from . import ops

blueprint = Blueprint("albums_api", __name__, url_prefix="/api/v1/albums")

TITLE = Field(min_length=1, max_length=200, description="Shown as the album's heading")
DESCRIPTION = Field(max_length=5000, description="Plain text under the title")
IMAGES = Field(max_length=ops.MAX_IMAGES, description="Image uuids")


class AlbumCreate(BaseModel):
    title: str = TITLE
    description: str = Field(default="", max_length=5000, description="Plain text under the title")
    visibility: Visibility = Field(
        default=Visibility.PUBLIC,
        description="public (may be listed), unlisted (by link) or private (owner and admins)",
    )


class AlbumChange(BaseModel):
    """Only the fields sent change. ``cover_image_uuid`` null: the first image is the cover."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    visibility: Visibility | None = None
    cover_image_uuid: str | None = Field(
        default=None, description="An image of the album; null clears the chosen cover"
    )


class ImageList(BaseModel):
    image_uuids: list[str] = IMAGES


class AlbumAnswer(BaseModel):
    short_id: str
    title: str
    description: str
    visibility: Visibility
    owner: str = Field(description="The owner's username")
    url: str = Field(description="The album page")
    cover_image_uuid: str | None = Field(description="The image that stands for the album")
    image_uuids: list[str] = Field(description="Its images in order (those the caller may see)")
    created_at: datetime


class AlbumList(BaseModel):
    albums: list[AlbumAnswer]


class Added(BaseModel):
    added: int = Field(description="How many were new to the album (others stayed in place)")
    album: AlbumAnswer


def _settings() -> AppSettings:
    settings: AppSettings = current_app.config["PIXELFOX"]
    return settings


async def answer(album: Album, user: User | None) -> AlbumAnswer:
    images: list[Image] = await ops.visible_images(album, user)
    cover = ops.cover_of(album, images)
    return AlbumAnswer(
        short_id=album.short_id,
        title=album.title,
        description=album.description,
        visibility=album.visibility,
        owner=album.owner.username,
        url=urls.album_url(album.short_id, _settings()),
        cover_image_uuid=str(cover.uuid) if cover else None,
        image_uuids=[str(i.uuid) for i in images],
        created_at=album.created_at,
    )


@blueprint.get("")
@login_required
@validate_response(AlbumList)
async def list_albums() -> AlbumList:
    """The caller's albums, newest first."""
    user: User = g.user
    albums = await ops.owned_albums(user).select_related("owner")
    return AlbumList(albums=[await answer(a, user) for a in albums])


@blueprint.post("")
@login_required
@validate_request(AlbumCreate)
@validate_response(AlbumAnswer, 201)
async def create(data: AlbumCreate) -> tuple[AlbumAnswer, int]:
    """A new, empty album of the caller."""
    album = await ops.create_album(g.user, data.title, data.description, data.visibility)
    await album.fetch_related("owner")
    return await answer(album, g.user), 201


@blueprint.get("/<short_id>")
@validate_response(AlbumAnswer)
@raises("NOT_FOUND")
async def show(short_id: str) -> AlbumAnswer:
    """An album and its images in order. Private albums: their owner and admins only;
    each image appears only to those who may see it."""
    user = await current_user()
    return await answer(await ops.album_for(short_id, user), user)


show.auth_policy = "public"


@blueprint.patch("/<short_id>")
@login_required
@validate_request(AlbumChange)
@validate_response(AlbumAnswer)
@raises("NOT_FOUND", "FORBIDDEN", "ALBUM_COVER_NOT_IN_ALBUM")
async def change(short_id: str, data: AlbumChange) -> AlbumAnswer:
    """Rename, describe, change the visibility or pick the cover (owner or admin)."""
    album = await ops.album_for(short_id, g.user, edit=True)
    if "cover_image_uuid" in data.model_fields_set:
        await ops.set_cover(album, data.cover_image_uuid)
    await ops.update_album(
        album, title=data.title, description=data.description, visibility=data.visibility
    )
    return await answer(album, g.user)


@blueprint.delete("/<short_id>")
@login_required
@no_content
@raises("NOT_FOUND", "FORBIDDEN")
async def delete(short_id: str) -> Response:
    """Delete the album (owner or admin): 204. Its images stay where they are."""
    await ops.delete_album(await ops.album_for(short_id, g.user, edit=True))
    return Response("", 204)


@blueprint.post("/<short_id>/images")
@login_required
@validate_request(ImageList)
@validate_response(Added)
@raises("NOT_FOUND", "FORBIDDEN", "ALBUM_IMAGE_UNKNOWN", "ALBUM_TOO_LARGE")
async def add(short_id: str, data: ImageList) -> Added:
    """Add images of the album's owner at the end, in the order listed. All or none:
    one unknown uuid (or another's image) refuses the whole list."""
    album = await ops.album_for(short_id, g.user, edit=True)
    added = await ops.add_images(album, data.image_uuids)
    return Added(added=added, album=await answer(album, g.user))


@blueprint.delete("/<short_id>/images/<image_uuid>")
@login_required
@no_content
@raises("NOT_FOUND", "FORBIDDEN")
async def remove(short_id: str, image_uuid: str) -> Response:
    """Take an image out of the album: 204. The image itself stays."""
    album = await ops.album_for(short_id, g.user, edit=True)
    try:
        await ops.remove_image(album, image_uuid)
    except APIError as exc:
        if exc.code == "ALBUM_IMAGE_UNKNOWN":  # not even a uuid
            raise APIError("NOT_FOUND", "The image is not in this album.") from exc
        raise
    return Response("", 204)


@blueprint.put("/<short_id>/order")
@login_required
@validate_request(ImageList)
@validate_response(AlbumAnswer)
@raises("NOT_FOUND", "FORBIDDEN", "ALBUM_ORDER_MISMATCH", "ALBUM_IMAGE_UNKNOWN")
async def order(short_id: str, data: ImageList) -> AlbumAnswer:
    """Put the album's images in this order: every image of the album, each once."""
    album = await ops.album_for(short_id, g.user, edit=True)
    await ops.reorder(album, data.image_uuids)
    return await answer(album, g.user)
