"""Albums: an owner's ordered selection of images, shown like an image (public, unlisted, private).

An image may be in many albums; deleting an album removes its entries, never
its images. Purging an image removes its entries (and clears it as a cover).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from .images import Image
from .users import User
from .visibility import Visibility


class Album(Model):
    id = fields.IntField(primary_key=True)
    short_id = fields.CharField(max_length=16, unique=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="albums", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)
    # None: the first image (in order) stands for the album.
    cover: fields.ForeignKeyNullableRelation[Image] = fields.ForeignKeyField(
        "models.Image", related_name="covers", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    entries: fields.ReverseRelation[AlbumImage]

    class Meta:
        table = "albums"
        # "My albums", newest first.
        indexes = (Index(fields=("owner_id", "created_at"), name="albums_owner_created"),)


class AlbumImage(Model):
    """One image in one album, at ``position`` (0 first; gaps allowed)."""

    id = fields.IntField(primary_key=True)
    album: fields.ForeignKeyRelation[Album] = fields.ForeignKeyField(
        "models.Album", related_name="entries", on_delete=fields.CASCADE
    )
    image: fields.ForeignKeyRelation[Image] = fields.ForeignKeyField(
        "models.Image", related_name="album_entries", on_delete=fields.CASCADE
    )
    position = fields.IntField(default=0)
    added_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "album_images"
        unique_together = (("album_id", "image_id"),)
        # An album page reads its entries in order.
        indexes = (Index(fields=("album_id", "position"), name="album_images_order"),)
