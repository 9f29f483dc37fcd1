"""Upload sessions: a promise to accept one file, carried by a signed token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, Field
from quart import current_app, g

from pixelfox_protocol.tokens import UploadClaims

from ..accounts.quota import check_quota
from ..auth.ratelimit import request_client_address
from ..config import AppSettings
from ..images import urls
from ..models import UploadSession, User, Visibility
from ..nodes import node_of
from ..placement import Explanation, PlacementRequest, place
from .policy import UploadPolicy, check_rate, check_size, check_type
from .token_keys import mint_upload_token

NodeId = Annotated[str, Field(max_length=32)]
REGION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$"


VISIBILITY_HELP = (
    "public (listed), unlisted (public by link, not listed) or private "
    "(its owner and admins only, signed expiring links); omitted: the user's "
    "default visibility (set on /account)"
)


class SessionRequest(BaseModel):
    file_size: int = Field(ge=1, description="Size of the file in bytes")
    filename: str = Field("", max_length=255)
    content_type: str = Field("", max_length=127)
    visibility: Visibility | None = Field(None, description=VISIBILITY_HELP)
    avoid_nodes: list[NodeId] = Field(
        default_factory=list,
        max_length=16,
        description="Node ids not to upload to, e.g. the node_id of a session whose "
        "upload failed at the network level",
    )


class SessionQuery(BaseModel):
    """Query parameters of the session call."""

    region: str = Field(
        "",
        pattern=REGION_PATTERN,
        description="The client's region (placement prefers pools there), e.g. eu-central",
    )
    explain: bool = Field(False, description="Admins: include the placement explanation")


class ServerQuery(BaseModel):
    """The Sibsoft-style alias takes the same fields from the query string, all optional."""

    file_size: int | None = Field(None, ge=1, description="Defaults to the upload limit")
    filename: str = Field("", max_length=255)
    content_type: str = Field("", max_length=127)
    avoid_nodes: str = Field("", max_length=560, description="Comma-separated node ids to avoid")
    visibility: Visibility | None = Field(None, description=VISIBILITY_HELP)
    region: str = Field("", pattern=REGION_PATTERN, description="The client's region")
    explain: bool = Field(False, description="Admins: include the placement explanation")


class SessionAnswer(BaseModel):
    upload_url: str
    token: str
    pool_id: int
    session_id: str
    expires_at: int = Field(description="Unix time after which the token is refused")
    image_uuid: str
    max_size: int
    visibility: Visibility = Visibility.PUBLIC
    direct: bool = Field(description="False: upload_url is the app itself (proxy mode)")
    tus_url: str | None = Field(
        default=None,
        description="The node's resumable upload endpoint (tus 1.0, the same token); "
        "None in proxy mode",
    )
    node_id: str = Field("", description="The storage node of the pool (to avoid it on a retry)")
    placement: dict[str, Any] | None = Field(
        default=None, description="Why this pool (admins, with explain=1)"
    )


class OpenedSession(NamedTuple):
    session: UploadSession
    token: str  # empty for the app's own proxy upload
    placement: Explanation  # why this pool


async def open_session(
    user: User,
    request: SessionRequest,
    policy: UploadPolicy,
    *,
    avoid_nodes: tuple[str, ...] = (),
    region: str | None = None,
    region_source: str | None = None,
    with_token: bool = True,
) -> OpenedSession:
    """Check everything, choose a pool, store the session and sign its token.

    Nothing is stored unless every check passed (the user's quota too). The token allows exactly the
    declared size: the browser knows the file's size, and a token that allows
    no more than was asked for keeps a pool's free-space promise honest.
    ``with_token=False`` (the app's own proxy upload) returns an empty token.
    The answer carries the placement's explanation (admins may see it).
    """
    settings: AppSettings = current_app.config["PIXELFOX"]
    await check_rate(policy, user)
    check_size(policy, request.file_size)
    filename, content_type = check_type(policy, request.filename, request.content_type)
    await check_quota(user, request.file_size)
    visibility = request.visibility or user.default_visibility
    placement = await place(
        PlacementRequest(
            request.file_size,
            frozenset(avoid_nodes) | frozenset(request.avoid_nodes),
            region=region,
            region_source=region_source,
            local_only=not policy.direct,
        ),
        current_app.extensions["redis"],
        current_app.extensions["keys"],
    )
    pool = placement.pool
    session_id, image_uuid, jti = uuid.uuid4(), uuid.uuid4(), uuid.uuid4().hex
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(
        minutes=settings.token_lifetime_minutes
    )
    claims = UploadClaims(
        node_id=node_of(pool),
        user_id=user.id,
        pool_id=pool.id,
        session_id=str(session_id),
        jti=jti,
        max_size=request.file_size,
        expires_at=int(expires.timestamp()),
        image_uuid=str(image_uuid),
        request_id=g.get("request_id"),
        visibility=str(visibility),
    )
    token = mint_upload_token(claims, settings) if with_token else ""
    session = await UploadSession.create(
        id=session_id,
        user=user,
        pool=pool,
        token_id=jti,
        image_uuid=image_uuid,
        filename=filename,
        content_type=content_type,
        declared_size=request.file_size,
        max_size=request.file_size,
        visibility=visibility,
        expires_at=expires,
        client_ip=request_client_address()[:64],
        request_id=g.get("request_id", "")[:64],
    )
    return OpenedSession(session, token, placement.explanation)


def answer(session: UploadSession, token: str, direct: bool) -> SessionAnswer:
    settings: AppSettings = current_app.config["PIXELFOX"]
    pool = session.pool
    return SessionAnswer(
        upload_url=urls.upload_url(pool, settings) if direct else urls.proxy_upload_url(settings),
        token=token,
        pool_id=pool.id,
        session_id=str(session.id),
        expires_at=int(session.expires_at.timestamp()),
        image_uuid=str(session.image_uuid),
        max_size=session.max_size,
        visibility=session.visibility,
        direct=direct,
        tus_url=urls.tus_url(pool, settings) if direct else None,
        node_id=node_of(pool),
    )
