from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Setting(Model):
    """An operator knob; its type and default live in pixelfox_app.knobs."""

    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.JSONField()
    updated_at = fields.DatetimeField(auto_now=True)
    updated_by = fields.CharField(max_length=64, default="")

    class Meta:
        table = "settings"
