from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Setting(Model):
    """An operator knob; its type and default live in pixelfox_app.knobs."""

    key = fields.CharField(max_length=64, primary_key=True)
    # Any JSON value; its Python type is the knob's (see knobs.coerce).
    value: fields.JSONField[Any] = fields.JSONField()
    updated_at = fields.DatetimeField(auto_now=True)
    updated_by = fields.CharField(max_length=64, default="")

    class Meta:
        table = "settings"
