"""What may be done with an album, and doing it; the API and the pages share these.

Rules:

- a ``public`` or ``unlisted`` album is seen by anyone with its link (only
  public ones may be listed), a ``private`` one by its owner and admins;
- inside an album each image keeps its own rules (``images.visibility.may_see``):
  another's private image in a public album is left out for everyone but its
  owner and admins, and its files get signed links as on the image page;
- only the album's owner and admins edit it, and only the owner's own images
  enter it (an admin editing Ada's album adds Ada's images);
- deleting an album removes its entries, never its images; an image in the
  trash keeps its entries (it comes back with a restore) but shows nowhere.

Positions are 0, 1, 2, … in the order the owner chose; a new image goes last.
"""

from __future__ import annotations

import uuid

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from pixelfox_protocol.errors import APIError

from ..images.visibility import may_see
from ..models import Album, AlbumImage, Image, User, Visibility
from ..upload.completion import new_short_id

MAX_IMAGES = 2000
# How many of a user's newest albums a picker offers; the album editor reaches every image.
PICKER_ALBUMS = 50
SHORT_ID_MAX = 16  # Album.short_id's length
_ATTEMPTS = 5


def may_see_album(album: Album, user: User | None) -> bool:
    if album.visibility != Visibility.PRIVATE:
        return True
    return user is not None and user.is_active and may_edit_album(album, user)


def may_edit_album(album: Album, user: User) -> bool:
    return user.is_active and (user.is_admin or user.id == album.owner_id)  # type: ignore[attr-defined]


async def album_for(short_id: str, user: User | None, *, edit: bool = False) -> Album:
    """The album if ``user`` may see it (and edit it, with ``edit``).

    NOT_FOUND when it does not exist or is another's private album; FORBIDDEN
    for editing one the caller only may see.
    """
    album = None
    if len(short_id) <= SHORT_ID_MAX:  # a longer one is no album (and fails validation)
        album = await Album.get_or_none(short_id=short_id).select_related("owner")
    if album is None or not may_see_album(album, user):
        raise APIError("NOT_FOUND")
    if edit and (user is None or not may_edit_album(album, user)):
        raise APIError("FORBIDDEN", "Only the album's owner or an admin can change it.")
    return album


async def create_album(
    owner: User, title: str, description: str = "", visibility: Visibility = Visibility.PUBLIC
) -> Album:
    for attempt in range(_ATTEMPTS):
        try:
            return await Album.create(
                short_id=new_short_id(),
                owner=owner,
                title=title,
                description=description,
                visibility=visibility,
            )
        except IntegrityError:  # a short id taken (2^48 values): draw again
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def update_album(
    album: Album,
    *,
    title: str | None = None,
    description: str | None = None,
    visibility: Visibility | None = None,
) -> Album:
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = title
    if description is not None:
        changes["description"] = description
    if visibility is not None:
        changes["visibility"] = visibility
    if changes:
        album.update_from_dict(changes)
        await album.save(update_fields=[*changes, "updated_at"])
    return album


def _uuids(values: list[str]) -> list[uuid.UUID]:
    keys = []
    for value in values:
        try:
            keys.append(uuid.UUID(str(value)))
        except ValueError as exc:
            raise APIError("ALBUM_IMAGE_UNKNOWN", details={"image_uuids": [value]}) from exc
    return keys


async def _owners_images(album: Album, values: list[str]) -> list[Image]:
    """The listed images, in the order given (duplicates dropped): every one must be a
    live image of the album's owner, else ALBUM_IMAGE_UNKNOWN and nothing changes."""
    keys = list(dict.fromkeys(_uuids(values)))
    found = {
        i.uuid: i
        for i in await Image.filter(
            uuid__in=keys,
            owner_id=album.owner_id,  # type: ignore[attr-defined]
            deleted_at=None,
        )
    }
    unknown = [str(k) for k in keys if k not in found]
    if unknown:
        raise APIError("ALBUM_IMAGE_UNKNOWN", details={"image_uuids": unknown})
    return [found[k] for k in keys]


async def add_images(album: Album, image_uuids: list[str]) -> int:
    """Append the listed images (those already in the album stay where they are).
    Returns how many were added."""
    images = await _owners_images(album, image_uuids)
    async with in_transaction() as connection:
        present = set(
            await AlbumImage.filter(album_id=album.id)
            .using_db(connection)
            .values_list("image_id", flat=True)
        )
        new = [i for i in images if i.id not in present]
        if len(present) + len(new) > MAX_IMAGES:
            raise APIError("ALBUM_TOO_LARGE", details={"max_images": MAX_IMAGES})
        last = (
            await AlbumImage.filter(album_id=album.id)
            .using_db(connection)
            .order_by("-position")
            .first()
            .values_list("position", flat=True)
        )
        start = -1 if last is None else int(last)  # type: ignore[call-overload]
        for offset, image in enumerate(new, start=1):
            await AlbumImage.create(
                album_id=album.id, image_id=image.id, position=start + offset, using_db=connection
            )
    return len(new)


async def remove_image(album: Album, image_uuid: str) -> None:
    """Take an image out of the album (the image stays); NOT_FOUND if it is not in it."""
    (key,) = _uuids([image_uuid])
    image = await Image.get_or_none(uuid=key)
    removed = 0
    if image is not None:
        removed = await AlbumImage.filter(album_id=album.id, image_id=image.id).delete()
    if not removed:
        raise APIError("NOT_FOUND", "The image is not in this album.")
    if album.cover_id == image.id:  # type: ignore[attr-defined, union-attr]
        await Album.filter(id=album.id).update(cover_id=None)
        album.cover_id = None


async def entries(album: Album) -> list[AlbumImage]:
    """The album's entries in order, their images (and pools) loaded, trashed ones left out."""
    return (
        await AlbumImage.filter(album_id=album.id, image__deleted_at=None)
        .order_by("position", "id")
        .select_related("image", "image__pool")
    )


async def visible_images(album: Album, user: User | None) -> list[Image]:
    """The album's images in order, as ``user`` may see them."""
    return [e.image for e in await entries(album) if may_see(e.image, user)]


async def reorder(album: Album, image_uuids: list[str]) -> None:
    """Put the album in the given order: every live image of it, each once."""
    current = await entries(album)
    by_uuid = {e.image.uuid: e for e in current}
    keys = _uuids(image_uuids)
    if len(keys) != len(set(keys)) or set(keys) != set(by_uuid):
        raise APIError("ALBUM_ORDER_MISMATCH", details={"expected": len(by_uuid)})
    async with in_transaction() as connection:
        for position, key in enumerate(keys):
            entry = by_uuid[key]
            if entry.position != position:
                await AlbumImage.filter(id=entry.id).using_db(connection).update(position=position)
        # Trashed images' entries go after the live ones, in their old order.
        hidden = (
            await AlbumImage.filter(album_id=album.id, image__deleted_at__isnull=False)
            .using_db(connection)
            .order_by("position", "id")
        )
        for offset, entry in enumerate(hidden, start=len(keys)):
            await AlbumImage.filter(id=entry.id).using_db(connection).update(position=offset)


async def move(album: Album, image_uuid: str, step: int) -> None:
    """Move one image ``step`` places (-1 up, +1 down); at an end it stays."""
    order = [str(e.image.uuid) for e in await entries(album)]
    (key,) = _uuids([image_uuid])
    if str(key) not in order:
        raise APIError("NOT_FOUND", "The image is not in this album.")
    at = order.index(str(key))
    to = max(0, min(len(order) - 1, at + step))
    order.insert(to, order.pop(at))
    await reorder(album, order)


async def set_cover(album: Album, image_uuid: str | None) -> None:
    """Make an image of the album its cover (None: the first image stands for it)."""
    if image_uuid is None:
        cover_id = None
    else:
        try:
            (key,) = _uuids([image_uuid])
        except APIError as exc:
            raise APIError("ALBUM_COVER_NOT_IN_ALBUM") from exc
        entry = await AlbumImage.get_or_none(
            album_id=album.id, image__uuid=key, image__deleted_at=None
        )
        if entry is None:
            raise APIError("ALBUM_COVER_NOT_IN_ALBUM")
        cover_id = entry.image_id  # type: ignore[attr-defined]
    await Album.filter(id=album.id).update(cover_id=cover_id)
    album.cover_id = cover_id


def cover_of(album: Album, images: list[Image]) -> Image | None:
    """The image that stands for the album among ``images`` (those the caller sees)."""
    chosen = [i for i in images if i.id == album.cover_id]  # type: ignore[attr-defined]
    return chosen[0] if chosen else (images[0] if images else None)


async def summary(album: Album) -> tuple[int, Image | None]:
    """For its owner's list: how many live images the album has, and its cover (the chosen
    one while it is live, else the first), without loading the others."""
    live = AlbumImage.filter(album_id=album.id, image__deleted_at=None)
    count = await live.count()
    entry = None
    if album.cover_id is not None:  # type: ignore[attr-defined]
        entry = await live.filter(image_id=album.cover_id).select_related("image__pool").first()  # type: ignore[attr-defined]
    if entry is None:
        entry = await live.order_by("position", "id").select_related("image__pool").first()
    return count, entry.image if entry else None


async def delete_album(album: Album) -> None:
    """The album and its entries go; its images stay."""
    await album.delete()


def owned_albums(user: User) -> QuerySet[Album]:
    """The user's albums, newest first (a query)."""
    return Album.filter(owner_id=user.id).order_by("-created_at", "-id")


def album_choices(user: User) -> QuerySet[Album]:
    """The albums a picker offers (My images, the upload page): the newest ones."""
    return owned_albums(user).limit(PICKER_ALBUMS).only("id", "short_id", "title")
