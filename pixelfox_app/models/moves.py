from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from .images import Image
from .storage import StoragePool


class MoveState(StrEnum):
    PLANNING = "planning"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"
    FAILED = "failed"


class Move(Model):
    """Moving every image of one pool to another (rebalancing, draining), or chosen ones."""

    id = fields.IntField(primary_key=True)
    source: fields.ForeignKeyRelation[StoragePool] = fields.ForeignKeyField(
        "models.StoragePool", related_name="moves_out", on_delete=fields.RESTRICT
    )
    target: fields.ForeignKeyRelation[StoragePool] = fields.ForeignKeyField(
        "models.StoragePool", related_name="moves_in", on_delete=fields.RESTRICT
    )
    state = fields.CharEnumField(MoveState, max_length=16, default=MoveState.PLANNING)
    cursor = fields.IntField(default=0)
    planned = fields.IntField(default=0)
    done = fields.IntField(default=0)
    failed = fields.IntField(default=0)
    skipped = fields.IntField(default=0)
    # Images whose source original is missing or fails its hash: listed, never moved,
    # until "retry these" (the source healed, e.g. by scrub --repair).
    quarantined = fields.IntField(default=0)
    bytes_moved = fields.BigIntField(default=0)
    batch_size = fields.IntField(default=200)
    requested_by = fields.CharField(max_length=64, default="")
    # Set when the planner has enqueued the last batch: the move ends once every
    # planned image has an outcome after this.
    planned_at = fields.DatetimeField(null=True)
    # Why the move as a whole stopped (a vanished pool, say); per-image errors are items.
    error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # The throttle (pixelfox_app.moves.throttle), changeable while the move runs; 0: none.
    throttle_bytes_per_second = fields.BigIntField(default=0)
    throttle_images_per_second = fields.FloatField(default=0)
    throttle_parallel = fields.IntField(default=0)
    # Run only inside "HH:MM-HH:MM" of that time zone ("": any time); paused_by_window
    # marks a pause the window made, which its opening undoes (never the operator's).
    window = fields.CharField(max_length=11, default="")
    window_timezone = fields.CharField(max_length=64, default="UTC")
    paused_by_window = fields.BooleanField(default=False)
    # A move of chosen images only (``moves.selection``): their ids; None moves the whole
    # source pool. The source of a selection stays in placement and is not drained.
    image_ids: fields.JSONField[list[int] | None] = fields.JSONField(null=True)

    class Meta:
        table = "moves"


class MoveItemState(StrEnum):
    FAILED = "failed"
    SKIPPED = "skipped"
    QUARANTINED = "quarantined"


class MoveItem(Model):
    """A per-image error or quarantine entry of a move (successes are only counted)."""

    id = fields.IntField(primary_key=True)
    move: fields.ForeignKeyRelation[Move] = fields.ForeignKeyField(
        "models.Move", related_name="items", on_delete=fields.CASCADE
    )
    image: fields.ForeignKeyNullableRelation[Image] = fields.ForeignKeyField(
        "models.Image", related_name="move_items", null=True, on_delete=fields.SET_NULL
    )
    state = fields.CharEnumField(MoveItemState, max_length=16)
    error = fields.TextField(default="")
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "move_items"
        # One entry per image and move: a restarted move updates it instead of adding one.
        unique_together = (("move_id", "image_id"),)
