from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class GuestUpload(Model):
    """An upload without an account, by the image it makes: its delete link's SHA-256.

    The image belongs to the reserved ``~guest`` user; whoever holds the delete
    link (shown once, in the session's answer) may put it in the trash.
    """

    id = fields.IntField(primary_key=True)
    image_uuid = fields.UUIDField(unique=True)
    delete_hash = fields.CharField(max_length=64, unique=True)
    client_ip = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "guest_uploads"
