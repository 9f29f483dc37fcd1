"""Uploads without an account (the ``guest_uploads`` knob, off by default).

A guest's session is a session of the reserved ``~guest`` account: disabled,
with a name no sign-up or login accepts and no usable password, so nobody
can act as it. Guests get the operator's stricter limits
(``guest_max_upload_bytes``, ``guest_rate_limit_per_minute`` per address;
the per-user limit would make every guest on earth share one budget) and
may upload public or unlisted images only (a private one would be visible to
nobody). The answer carries a delete link with a random key, shown this once;
``guest_uploads`` keeps only its SHA-256, by the image the session makes. The
link puts the image in the trash, like its owner's Delete button; its page for
people (``delete_page_url``, pixelfox_app.web.pages.guest) asks first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import uuid

from pydantic import BaseModel, Field
from quart import Blueprint, current_app, g
from quart_schema import validate_querystring, validate_request, validate_response

from pixelfox_protocol.errors import APIError

from .. import knobs
from ..auth import public
from ..auth.ratelimit import request_client_address
from ..config import AppSettings
from ..images.trash import delete_image
from ..models import GuestUpload, Image, User, Visibility
from .policy import UploadPolicy
from .sessions import SessionAnswer, SessionQuery, SessionRequest, answer, open_session

blueprint = Blueprint("upload_guest", __name__, url_prefix="/api/v1/upload/guest")

# Not a valid username (they start with a letter or digit): nobody can sign up as it.
GUEST_USERNAME = "~guest"
_NO_PASSWORD = "!"  # not an argon2 hash: verifies nothing  # noqa: S105
KEY_BYTES = 32


class GuestSessionAnswer(SessionAnswer):
    delete_url: str = Field(
        description="POST here to delete the image: shown this once; a secret like a password"
    )
    delete_page_url: str = Field(
        description="The same delete link for people: a page with a Delete button"
    )


class DeleteAnswer(BaseModel):
    ok: bool = True
    image_uuid: str


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def guest_user() -> User:
    """The reserved, disabled account that owns every guest upload (made on first use)."""
    user, _ = await User.get_or_create(
        username=GUEST_USERNAME,
        defaults={"password_hash": _NO_PASSWORD, "is_active": False},
    )
    return user


async def guest_policy() -> UploadPolicy:
    """The upload rules with the guests' stricter size and rate; GUEST_UPLOADS_OFF when off."""
    values = await knobs.get_all()
    if not values["guest_uploads"]:
        raise APIError("GUEST_UPLOADS_OFF")
    policy = await UploadPolicy.load()
    return dataclasses.replace(
        policy,
        max_bytes=min(policy.max_bytes, int(values["guest_max_upload_bytes"])),
        ip_per_minute=int(values["guest_rate_limit_per_minute"]),
        user_per_minute=0,
    )


# The delete link's page for people (pixelfox_app.web.pages.guest).
DELETE_PAGE_PATH = "/guest/delete/"


def _public_domain() -> str:
    settings: AppSettings = current_app.config["PIXELFOX"]
    return settings.public_domain.rstrip("/")


def delete_url(key: str) -> str:
    return f"{_public_domain()}{blueprint.url_prefix}/delete/{key}"


def delete_page_url(key: str) -> str:
    return f"{_public_domain()}{DELETE_PAGE_PATH}{key}"


async def upload_of_key(key: str) -> Image | None:
    """The guest's image a delete key names, unless it is in the trash already."""
    row = await GuestUpload.get_or_none(delete_hash=_key_hash(key)) if len(key) < 100 else None
    image = await Image.get_or_none(uuid=row.image_uuid).select_related("pool") if row else None
    return None if image is None or image.deleted_at is not None else image


async def delete_by_key(key: str) -> Image:
    """Put the guest upload of a delete key into the trash; NOT_FOUND for a wrong key."""
    image = await upload_of_key(key)
    if image is None:
        raise APIError("NOT_FOUND", "This delete link is not valid, or the image is gone.")
    return await delete_image(
        image,
        await guest_user(),
        current_app.extensions["redis"],
        current_app.extensions["keys"],
        g.get("request_id", ""),
    )


@blueprint.post("/sessions")
@public
@validate_request(SessionRequest)
@validate_querystring(SessionQuery)
@validate_response(GuestSessionAnswer, 201)
async def create_guest_session(
    data: SessionRequest, query_args: SessionQuery
) -> tuple[GuestSessionAnswer, int]:
    """Like the session call, for a visitor without an account (when the operator allows it).

    The answer's ``delete_url`` is the only way to delete the upload later:
    keep it. Private uploads need an account.
    """
    policy = await guest_policy()
    if data.visibility is Visibility.PRIVATE:
        raise APIError("VALIDATION_ERROR", "visibility: guests upload public or unlisted images")
    wanted = data.model_copy(update={"visibility": data.visibility or Visibility.UNLISTED})
    opened = await open_session(await guest_user(), wanted, policy)
    key = secrets.token_urlsafe(KEY_BYTES)
    await GuestUpload.create(
        image_uuid=opened.session.image_uuid,
        delete_hash=_key_hash(key),
        client_ip=request_client_address()[:64],
    )
    base = answer(opened.session, opened.token, policy.direct)
    return GuestSessionAnswer(
        **base.model_dump(), delete_url=delete_url(key), delete_page_url=delete_page_url(key)
    ), 201


@blueprint.post("/delete/<key>")
@public
@validate_response(DeleteAnswer, 200)
async def delete_guest_upload(key: str) -> DeleteAnswer:
    """Put the guest upload of this delete link into the trash (NOT_FOUND for a wrong key)."""
    image = await delete_by_key(key)
    return DeleteAnswer(image_uuid=str(uuid.UUID(str(image.uuid))))
