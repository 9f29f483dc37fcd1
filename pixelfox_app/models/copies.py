from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from .images import Image
from .storage import StoragePool


class CopyState(StrEnum):
    PENDING = "pending"  # placed, not (yet) confirmed by the node that holds it
    VERIFIED = "verified"  # the holding node reported every file's size and SHA-256
    LOST = "lost"  # its node was declared dead (``pixelfox nodes lost``)
    # Surplus (a factor lowered, a drained pool): its node is deleting the files; the row
    # goes with the node's report. Never read from, never a source, never counted.
    REMOVING = "removing"


class ImageCopy(Model):
    """One copy of an image on one pool: its original and all its variants, at their paths.

    A row per copy, not per file (100 M images at factor 2 are 200 M rows, not
    1.6 billion). The image's own ``pool`` is the primary copy's pool.
    """

    id = fields.IntField(primary_key=True)
    image: fields.ForeignKeyRelation[Image] = fields.ForeignKeyField(
        "models.Image", related_name="copies", on_delete=fields.CASCADE
    )
    pool: fields.ForeignKeyRelation[StoragePool] = fields.ForeignKeyField(
        "models.StoragePool", related_name="copies", on_delete=fields.RESTRICT
    )
    state = fields.CharEnumField(CopyState, max_length=16, default=CopyState.PENDING)
    verified_at = fields.DatetimeField(null=True)
    # Original plus its variants, as verified (or as placed, while pending).
    bytes = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "image_copies"
        unique_together = (("image_id", "pool_id"),)
        indexes = (
            # Replication lag and repair walk the pending copies, oldest first.
            Index(fields=("state", "created_at"), name="image_copies_state_created"),
            # A lost node's copies, a pool's copies (admin counts, drains).
            Index(fields=("pool_id", "state"), name="image_copies_pool_state"),
            # The images with a copy on a pool (the admin's Images page), from the index alone.
            Index(fields=("pool_id", "image_id"), name="image_copies_pool_image"),
        )
