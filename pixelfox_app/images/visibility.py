"""Who may see an image, and changing its visibility (``POST /api/v1/images/<uuid>/visibility``).

``public`` images may be listed, ``unlisted`` ones are public by link only,
``private`` ones are seen by their owner and admins, with signed, expiring
file links. A pool keeps private images' files under ``private/``, so:

- public <-> unlisted is a database change, done at once;
- to or from private the files must move between the subtrees on the node.
  The app sets ``visibility_target`` (the image is "changing") and queues
  ``change_visibility`` on the node's fresh lane; the node renames the files
  and reports where they are now (``pixelfox_app.internal.visibility``), and
  the image row and its variant rows switch in one transaction. Until then
  the old URLs keep working; after it they stop (the files are gone there).

A fresh upload may still be making its variants: the node's jobs take the
image's lock (``pixelfox_storage.node_jobs.imagelock``), so the move waits for
the variants (or the variants are made after the move, where the original
is then). While a change is running, asking for another one is refused
(VISIBILITY_CHANGING); asking for the same one again queues its job again
if it was lost.
"""

from __future__ import annotations

import logging
import uuid

from pydantic import BaseModel, Field
from quart import Blueprint, current_app, g
from quart_schema import validate_request, validate_response

from pixelfox_common.web import raises
from pixelfox_protocol.errors import APIError

from ..auth import login_required
from ..models import Image, User, Visibility
from ..nodequeue import enqueue_visibility

log = logging.getLogger(__name__)

blueprint = Blueprint("image_visibility", __name__, url_prefix="/api/v1/images")


def is_private(image: Image) -> bool:
    """Private now, or on its way there: either way only its owner and admins see it."""
    return Visibility.PRIVATE in (image.visibility, image.visibility_target)


def may_see(image: Image, user: User | None) -> bool:
    """Whether ``user`` (None: anonymous) may see ``image``'s page, status and files.

    Nobody sees a deleted image outside the trash (``images.trash``).
    """
    if image.deleted_at is not None:
        return False
    if not is_private(image):
        return True
    return user is not None and user.is_active and (user.is_admin or may_change(image, user))


def may_change(image: Image, user: User) -> bool:
    """The owner and admins may change an image's visibility."""
    return user.is_admin or user.id == image.owner_id  # type: ignore[attr-defined]


def _crosses_subtree(a: Visibility, b: Visibility) -> bool:
    return (a == Visibility.PRIVATE) != (b == Visibility.PRIVATE)


async def change_visibility(image: Image, target: Visibility, request_id: str = "") -> Image:
    """Switch at once, or start the node's move; see the module docstring.

    ``image`` must have its pool loaded. Returns the image as it is now.
    """
    if image.visibility_target is not None:
        if target != image.visibility_target:
            raise APIError("VISIBILITY_CHANGING", details={"to": str(image.visibility_target)})
    elif target == image.visibility:
        return image
    elif not _crosses_subtree(image.visibility, target):
        await Image.filter(id=image.id).update(visibility=target)
        image.visibility = target
        return image
    else:
        # The conditional update is the lock: of two racing requests one starts the move.
        started = await Image.filter(id=image.id, visibility_target=None).update(
            visibility_target=target
        )
        if not started:
            raise APIError("VISIBILITY_CHANGING")
        image.visibility_target = target
    redis, keys = current_app.extensions["redis"], current_app.extensions["keys"]
    if await enqueue_visibility(redis, keys, image, request_id):
        log.info("visibility change queued image=%s to=%s", image.uuid, target)
    return image


class VisibilityRequest(BaseModel):
    visibility: Visibility = Field(
        description="public (listed), unlisted (public by link) or private (owner and admins)"
    )


class VisibilityAnswer(BaseModel):
    image_uuid: str
    visibility: Visibility = Field(description="What the image's URLs are now")
    changing_to: Visibility | None = Field(
        default=None, description="Set while the storage node moves the files; poll the status"
    )


def answer(image: Image) -> VisibilityAnswer:
    return VisibilityAnswer(
        image_uuid=str(image.uuid),
        visibility=image.visibility,
        changing_to=image.visibility_target,
    )


@blueprint.post("/<image_uuid>/visibility")
@login_required
@validate_request(VisibilityRequest)
@validate_response(VisibilityAnswer)
@raises("NOT_FOUND", "FORBIDDEN", "VISIBILITY_CHANGING")
async def set_visibility(image_uuid: str, data: VisibilityRequest) -> VisibilityAnswer:
    """Make an image public, unlisted or private (its owner or an admin).

    Public and unlisted switch at once. To or from private, the storage node
    moves the files first: the answer has ``changing_to`` until then, and the
    image's old URLs keep working until the switch.
    """
    try:
        key = uuid.UUID(image_uuid)
    except ValueError as exc:
        raise APIError("NOT_FOUND") from exc
    image = await Image.get_or_none(uuid=key).select_related("pool")
    user: User = g.user
    if image is None or not may_see(image, user):
        raise APIError("NOT_FOUND")
    if not may_change(image, user):
        raise APIError("FORBIDDEN", "Only the image's owner or an admin can change this.")
    return answer(await change_visibility(image, data.visibility, g.get("request_id", "")))
