from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from .visibility import Visibility


class User(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    email = fields.CharField(max_length=255, null=True)
    password_hash = fields.CharField(max_length=255)
    is_admin = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    # Bytes of originals and variants the user may keep (None: no limit); see
    # pixelfox_app.accounts.quota.
    quota_bytes = fields.BigIntField(null=True)
    # What an upload session that names no visibility gets.
    default_visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PUBLIC)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"

    def __str__(self) -> str:
        return self.username


class ApiToken(Model):
    """A personal token for scripts; only its SHA-256 is stored."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="api_tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=12)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    # None: valid until revoked; after it the token is refused like a revoked one.
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_tokens"


class UserSession(Model):
    """One browser login: the cookie carries a random key, this row only its SHA-256.

    A cookie is worth something only while its row is live, so the server can
    end a session before the cookie expires (logout, password change, an admin
    disabling the account). Ended rows stay until they expire: the addresses
    of recent successful logins spare their owner the per-account login limit.
    """

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    key_hash = fields.CharField(max_length=64, unique=True)
    # The client address at login (see auth.ratelimit.client_address).
    address = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "user_sessions"
        # The login limit asks "has this address logged in to this account lately?".
        indexes = (Index(fields=("user_id", "address"), name="user_sessions_user_address"),)


class Invite(Model):
    """A sign-up link of invite mode; only its token's SHA-256 is stored.

    The link is the sign-up page with ``?invite=<token>``. It signs up
    ``max_uses`` accounts before ``expires_at``; ``uses`` is counted up by one
    conditional UPDATE, so two sign-ups racing for the last use cannot both get
    it (pixelfox_app.accounts.invites).
    """

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=12)
    note = fields.CharField(max_length=100, default="")
    max_uses = fields.IntField()
    uses = fields.IntField(default=0)
    expires_at = fields.DatetimeField()
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="invites", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invites"
