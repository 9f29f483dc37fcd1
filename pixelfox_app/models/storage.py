from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model
from tortoise.validators import MaxValueValidator, MinValueValidator

# Operator-set numbers of a pool that make no sense below zero (checked on save).
_NON_NEGATIVE = [MinValueValidator(0)]
# Copies of every image a pool keeps on distinct nodes (``ImageCopy``).
MIN_REPLICATION_FACTOR, MAX_REPLICATION_FACTOR = 1, 3


class PoolType(StrEnum):
    LOCAL = "local"
    NFS = "nfs"
    S3 = "s3"


class PoolTier(StrEnum):
    HOT = "hot"
    WARM = "warm"
    COLD = "cold"


class NodeState(StrEnum):
    """A node's lifecycle (``pixelfox_app.node_lifecycle``); removed nodes have no row."""

    ACTIVE = "active"
    # Being emptied: placement skips it, it still serves and beats.
    DRAINING = "draining"
    # Out of service for good: expected not to beat, refused if it does, never placed.
    RETIRED = "retired"


class StorageNode(Model):
    """A storage host (``s01`` …). Its credential is stored as a SHA-256 only."""

    id = fields.IntField(primary_key=True)
    node_id = fields.CharField(max_length=32, unique=True)
    dns_name = fields.CharField(max_length=255, default="")
    credential_hash = fields.CharField(max_length=64)
    version = fields.CharField(max_length=32, default="")
    # Failure domain (the inventory's ``zone``, e.g. the provider's datacentre):
    # replicas go to another zone where one exists. Empty: a zone of its own.
    zone = fields.CharField(max_length=32, default="")
    last_seen_at = fields.DatetimeField(null=True)
    # False: the node's credential is refused (retired, or declared lost).
    is_active = fields.BooleanField(default=True)
    state = fields.CharEnumField(NodeState, max_length=16, default=NodeState.ACTIVE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "storage_nodes"

    def __str__(self) -> str:
        return self.node_id


class StoragePool(Model):
    """Where images live: a directory on one node, with its public and upload URLs."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    type = fields.CharEnumField(PoolType, max_length=8, default=PoolType.LOCAL)
    tier = fields.CharEnumField(PoolTier, max_length=8, default=PoolTier.HOT)
    priority = fields.IntField(default=100, validators=_NON_NEGATIVE)
    base_path = fields.CharField(max_length=500)
    # Empty means "use the runtime default" (see pixelfox_app.pools.effective_*).
    public_base_url = fields.CharField(max_length=500, default="")
    cdn_base_url = fields.CharField(max_length=500, default="")
    upload_api_url = fields.CharField(max_length=500, default="")
    # Not a foreign key: "local" (the app host itself) is valid before any node is registered.
    node_id = fields.CharField(max_length=32, default="", db_index=True)
    region = fields.CharField(max_length=32, default="")
    weight = fields.IntField(default=100, validators=_NON_NEGATIVE)
    capacity_bytes = fields.BigIntField(default=0, validators=_NON_NEGATIVE)
    used_bytes = fields.BigIntField(default=0)
    reserve_bytes = fields.BigIntField(default=1 << 30, validators=_NON_NEGATIVE)
    is_active = fields.BooleanField(default=True)
    is_upload_target = fields.BooleanField(default=True)
    # S3 cold backup of originals (empty bucket: no backup).
    backup_bucket = fields.CharField(max_length=255, default="")
    backup_prefix = fields.CharField(max_length=255, default="")
    # None: the installation's default, applied when read (pixelfox_app.copies.factor).
    replication_factor = fields.IntField(
        null=True,
        validators=[
            MinValueValidator(MIN_REPLICATION_FACTOR),
            MaxValueValidator(MAX_REPLICATION_FACTOR),
        ],
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "storage_pools"

    def __str__(self) -> str:
        return self.name
