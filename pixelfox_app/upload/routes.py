"""The upload API of the control app: sessions (direct mode) and the proxy endpoint."""

from __future__ import annotations

from pydantic import BaseModel, Field
from quart import Blueprint, current_app, g
from quart_schema import validate_querystring, validate_request, validate_response

from pixelfox_protocol.errors import APIError

from ..auth import login_required
from ..config import AppSettings
from ..models import User
from ..placement import NoEligiblePool
from ..placement.region import request_region
from .policy import UploadPolicy
from .sessions import (
    ServerQuery,
    SessionAnswer,
    SessionQuery,
    SessionRequest,
    answer,
    open_session,
)

blueprint = Blueprint("upload", __name__, url_prefix="/api/v1/upload")


async def _open(
    user: User, data: SessionRequest, policy: UploadPolicy, region: str, explain: bool
) -> SessionAnswer:
    """Open a session; admins asking to ``explain`` get the placement's explanation."""
    settings: AppSettings = current_app.config["PIXELFOX"]
    where, source = request_region(settings, region)
    explaining = explain and user.is_admin
    try:
        opened = await open_session(user, data, policy, region=where, region_source=source)
    except NoEligiblePool as refused:
        if explaining:
            raise APIError(
                "NO_STORAGE", details={"placement": refused.explanation.to_dict()}
            ) from refused
        raise
    session_answer = answer(opened.session, opened.token, policy.direct)
    if explaining:
        session_answer.placement = opened.placement.to_dict()
    return session_answer


@blueprint.post("/sessions")
@login_required
@validate_request(SessionRequest)
@validate_querystring(SessionQuery)
@validate_response(SessionAnswer, 201)
async def create_session(
    data: SessionRequest, query_args: SessionQuery
) -> tuple[SessionAnswer, int]:
    """Ask where to upload a file: an upload URL and a token valid for this one file.

    After an upload failed at the network level, ask again with that session's
    ``node_id`` in ``avoid_nodes``. ``?region=`` states the client's region.
    """
    policy = await UploadPolicy.load()
    return await _open(g.user, data, policy, query_args.region, query_args.explain), 201


class ServerInfo(BaseModel):
    """What ``GET /api/v1/upload/server`` reads: the upload rules, and where to ask for a token."""

    session_url: str = Field(
        description="POST here (the same query parameters as before) for upload_url and token"
    )
    sessions_url: str = Field(description="Or POST a JSON body here: the session call")
    direct: bool = Field(description="False: uploads go through the app itself (proxy mode)")
    max_size: int = Field(description="The operator's upload limit in bytes")
    allowed_types: list[str]


@blueprint.get("/server")
@login_required
@validate_response(ServerInfo, 200)
async def upload_server_info() -> ServerInfo:
    """Sibsoft-style alias, read-only: the upload rules and where to ask for a session.

    A GET changes nothing (no session, no token, no rate-limit count, no
    placement): ``POST /api/v1/upload/server`` opens the session.
    """
    policy = await UploadPolicy.load()
    return ServerInfo(
        session_url=f"{blueprint.url_prefix}/server",
        sessions_url=f"{blueprint.url_prefix}/sessions",
        direct=policy.direct,
        max_size=policy.max_bytes,
        allowed_types=sorted(policy.allowed_types),
    )


@blueprint.post("/server")
@login_required
@validate_querystring(ServerQuery)
@validate_response(SessionAnswer, 200)
async def upload_server(query_args: ServerQuery) -> SessionAnswer:
    """Sibsoft-style alias of the session call, fields in the query string.

    Without a size the token allows the operator's limit. (Until this release
    a GET did this; a GET now only reads, see the GET of this path.)
    """
    policy = await UploadPolicy.load()
    avoid = [n.strip() for n in query_args.avoid_nodes.split(",") if n.strip()]
    if len(avoid) > 16 or any(len(n) > 32 for n in avoid):
        raise APIError("VALIDATION_ERROR", "avoid_nodes: at most 16 node ids of 32 characters")
    request = SessionRequest(
        file_size=query_args.file_size or max(1, policy.max_bytes),
        filename=query_args.filename,
        content_type=query_args.content_type,
        avoid_nodes=avoid,
        visibility=query_args.visibility,
    )
    return await _open(g.user, request, policy, query_args.region, query_args.explain)
