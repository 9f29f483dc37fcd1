from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from .storage import StoragePool
from .users import User
from .visibility import Visibility


class ImageState(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Image(Model):
    id = fields.IntField(primary_key=True)
    uuid = fields.UUIDField(unique=True)
    short_id = fields.CharField(max_length=16, unique=True)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="images", on_delete=fields.CASCADE
    )
    pool: fields.ForeignKeyRelation[StoragePool] = fields.ForeignKeyField(
        "models.StoragePool", related_name="images", on_delete=fields.RESTRICT
    )
    path = fields.CharField(max_length=255)
    original_filename = fields.CharField(max_length=255, default="")
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    mime = fields.CharField(max_length=64)
    width = fields.IntField(default=0)
    height = fields.IntField(default=0)
    state = fields.CharEnumField(ImageState, max_length=16, default=ImageState.PROCESSING)
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)
    # Set while the node moves the files into (or out of) the private subtree; the
    # image is "changing" until its report switches ``visibility`` to this.
    visibility_target = fields.CharEnumField(Visibility, max_length=16, null=True)
    backed_up_at = fields.DatetimeField(null=True)
    # In the trash since (None: not deleted). A deleted image is hidden from every
    # page and API answer at once; the node renames its files into the pool's trash
    # folder, which nothing serves (pixelfox_app.images.trash).
    deleted_at = fields.DatetimeField(null=True)
    deleted_by = fields.CharField(max_length=64, default="")
    # Set when its purge was queued: from then on it cannot be restored.
    purging_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)

    variants: fields.ReverseRelation[ImageVariant]

    class Meta:
        table = "images"
        # One row owns a file: deleting an image must never remove another image's bytes.
        unique_together = (("pool_id", "path"),)
        indexes = (
            # "My images", newest first (a backward scan serves DESC).
            Index(fields=("owner_id", "created_at"), name="images_owner_created"),
            # The admin's Images page filtered by owner, newest (highest id) first.
            Index(fields=("owner_id", "id"), name="images_owner_id"),
            # A move plans its batches by walking one pool's images in id order.
            Index(fields=("pool_id", "id"), name="images_pool_id"),
            # The purge finds the images past their trash retention.
            Index(fields=("deleted_at",), name="images_deleted_at"),
        )


class ImageVariant(Model):
    id = fields.IntField(primary_key=True)
    image: fields.ForeignKeyRelation[Image] = fields.ForeignKeyField(
        "models.Image", related_name="variants", on_delete=fields.CASCADE
    )
    pool: fields.ForeignKeyRelation[StoragePool] = fields.ForeignKeyField(
        "models.StoragePool", related_name="variants", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=32)
    format = fields.CharField(max_length=8)
    path = fields.CharField(max_length=255)
    size = fields.BigIntField()
    # As the node wrote it; "" for variants made before hashes were reported
    # (scrub then checks their size only).
    sha256 = fields.CharField(max_length=64, default="")
    width = fields.IntField()
    height = fields.IntField()

    class Meta:
        table = "image_variants"
        unique_together = (("image_id", "kind", "format"), ("pool_id", "path"))
        # Draining a pool checks which variants are still on it.
        indexes = (Index(fields=("pool_id", "id"), name="image_variants_pool_id"),)


class UploadSessionState(StrEnum):
    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"


class UploadSession(Model):
    """One promised upload: the token's ``sid``; becomes an Image on completion."""

    id = fields.UUIDField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="upload_sessions", on_delete=fields.CASCADE
    )
    pool: fields.ForeignKeyRelation[StoragePool] = fields.ForeignKeyField(
        "models.StoragePool", related_name="upload_sessions", on_delete=fields.CASCADE
    )
    token_id = fields.CharField(max_length=64, unique=True)
    image_uuid = fields.UUIDField(unique=True)
    filename = fields.CharField(max_length=255, default="")
    content_type = fields.CharField(max_length=128, default="")
    declared_size = fields.BigIntField(default=0)
    max_size = fields.BigIntField()
    # The visibility the image is created with; also decides the subtree the node
    # must commit the original to (the token's ``vis`` claim).
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)
    expires_at = fields.DatetimeField()
    state = fields.CharEnumField(UploadSessionState, max_length=16, default=UploadSessionState.OPEN)
    client_ip = fields.CharField(max_length=64, default="")
    request_id = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "upload_sessions"
        # The sweeper looks for sessions past their expiry.
        indexes = (Index(fields=("expires_at",), name="upload_sessions_expires_at"),)
