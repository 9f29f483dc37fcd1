"""Upload tokens: Ed25519-signed JWTs minted by the app, verified by nodes.

Nodes hold only public keys, so a stolen node cannot mint tokens. Keys travel
in environment variables as ``<kid>:<base64url of the 32 raw key bytes>``,
comma separated when two are valid during a rotation.

The claim ``vis`` carries the upload's visibility (``public`` | ``unlisted`` |
``private``); a token without it, as minted before the claim existed, means
``public``. The node needs it to commit a private upload to ``private/``.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import APIError
from .keys import TOKEN_ISSUER, token_audience

ALGORITHM = "EdDSA"
VISIBILITIES = ("public", "unlisted", "private")
LEEWAY_SECONDS = 30
REQUIRED_CLAIMS = ["kid", "iss", "aud", "sub", "pool_id", "sid", "jti", "max_size", "nbf", "exp"]


@dataclass(frozen=True)
class UploadClaims:
    node_id: str
    user_id: int
    pool_id: int
    session_id: str
    jti: str
    max_size: int
    expires_at: int
    image_uuid: str
    request_id: str | None = None
    visibility: str = "public"
    # The signed token these claims came from (on a node): kept in the outbox journal as
    # the app's own proof of the upload, for adoption after a database restore.
    token: str = field(default="", repr=False, compare=False)

    @property
    def private(self) -> bool:
        """Whether the upload belongs in the pool's private subtree."""
        return self.visibility == "private"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_signing_key() -> tuple[str, str]:
    """A fresh key pair as (private, public) strings in our ``kid:base64`` form."""
    private = Ed25519PrivateKey.generate()
    kid = uuid.uuid4().hex[:12]
    raw_private = private.private_bytes_raw()
    raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return f"{kid}:{_b64(raw_private)}", f"{kid}:{_b64(raw_public)}"


def parse_private_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    kid, _, raw = text.strip().partition(":")
    if not kid or not raw:
        raise ValueError("a signing key looks like '<kid>:<base64url>'")
    return kid, Ed25519PrivateKey.from_private_bytes(_unb64(raw))


def public_key_of(text: str) -> str:
    kid, key = parse_private_key(text)
    return f"{kid}:{_b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))}"


def parse_public_keys(text: str) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kid, _, raw = item.partition(":")
        if not kid or not raw:
            raise ValueError("public keys look like '<kid>:<base64url>[,<kid>:<base64url>]'")
        keys[kid] = Ed25519PublicKey.from_public_bytes(_unb64(raw))
    return keys


def mint(claims: UploadClaims, signing_key: str, *, now: float | None = None) -> str:
    kid, key = parse_private_key(signing_key)
    issued = int(now if now is not None else time.time())
    payload: dict[str, Any] = {
        "kid": kid,
        "iss": TOKEN_ISSUER,
        "aud": token_audience(claims.node_id),
        "sub": str(claims.user_id),
        "pool_id": claims.pool_id,
        "sid": claims.session_id,
        "jti": claims.jti,
        "max_size": claims.max_size,
        "img": claims.image_uuid,
        "iat": issued,
        "nbf": issued,
        "exp": claims.expires_at,
    }
    if claims.request_id:
        payload["rid"] = claims.request_id
    if claims.visibility != "public":
        payload["vis"] = claims.visibility
    return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": kid})


class SignatureRefused(Exception):
    """Why a JWT of ours was not accepted, before any claim of it is looked at.

    ``reason``: ``malformed``, ``algorithm`` (not EdDSA, e.g. ``none`` or HS256),
    ``unknown_key``, ``expired``, ``not_yet_valid`` or ``invalid`` (signature,
    issuer, a missing claim).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_signed(
    token: str,
    public_keys: dict[str, Ed25519PublicKey],
    required: list[str],
    *,
    verify_exp: bool = True,
) -> dict[str, Any]:
    """The payload of a JWT the app signed (any of ``public_keys``), with ``required`` claims.

    Upload tokens and replication grants alike; the audience is the caller's to
    check, so that each can answer a wrong one with its own code. ``verify_exp``
    False: a used token as proof of what the app issued once (adoption).
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise SignatureRefused("malformed") from exc
    if header.get("alg") != ALGORITHM:
        raise SignatureRefused("algorithm")
    key = public_keys.get(str(header.get("kid")))
    if key is None:
        raise SignatureRefused("unknown_key")
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=TOKEN_ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": required, "verify_aud": False, "verify_exp": verify_exp},
        )
    except jwt.ExpiredSignatureError as exc:
        raise SignatureRefused("expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise SignatureRefused("not_yet_valid") from exc
    except jwt.PyJWTError as exc:
        raise SignatureRefused("invalid") from exc
    return payload


_REFUSALS = {
    "algorithm": ("TOKEN_INVALID", "The upload token is not signed the way we expect."),
    "unknown_key": ("TOKEN_INVALID", "The upload token was signed with an unknown key."),
    "expired": ("TOKEN_EXPIRED", None),
    "not_yet_valid": ("TOKEN_INVALID", "The upload token is not valid yet."),
}


def verify(
    token: str,
    node_id: str,
    public_keys: dict[str, Ed25519PublicKey],
    *,
    verify_exp: bool = True,
) -> UploadClaims:
    """Check signature, issuer, audience and times; raise APIError with a stable code.

    ``verify_exp`` False: an expired token is accepted (the app checking a token it
    signed long ago, see ``decode_signed``)."""
    try:
        payload = decode_signed(token, public_keys, REQUIRED_CLAIMS, verify_exp=verify_exp)
    except SignatureRefused as refused:
        code, message = _REFUSALS.get(refused.reason, ("TOKEN_INVALID", None))
        raise APIError(code, message) from refused
    # Audience is checked by hand so that a token for another node gets its own code.
    if payload["aud"] != token_audience(node_id):
        raise APIError("TOKEN_WRONG_NODE")
    visibility = payload.get("vis", "public")
    if visibility not in VISIBILITIES:
        raise APIError("TOKEN_INVALID", "The upload token names an unknown visibility.")
    try:
        return UploadClaims(
            node_id=node_id,
            user_id=int(payload["sub"]),
            pool_id=int(payload["pool_id"]),
            session_id=str(payload["sid"]),
            jti=str(payload["jti"]),
            max_size=int(payload["max_size"]),
            expires_at=int(payload["exp"]),
            image_uuid=str(payload.get("img") or ""),
            request_id=payload.get("rid"),
            visibility=visibility,
            token=token,
        )
    except (TypeError, ValueError) as exc:
        raise APIError("TOKEN_INVALID") from exc
