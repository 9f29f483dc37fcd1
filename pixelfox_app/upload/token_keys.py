"""The app's keys: minting upload tokens, and telling the operator what is missing.

Replaces the seed's ``UPLOAD_TOKEN_SECRET`` warning: without a signing key no
upload session can be issued, so the admin settings page and ``pixelfox``
start-up show :func:`key_status` until it is fixed.
"""

from __future__ import annotations

from pixelfox_protocol import tokens
from pixelfox_protocol.errors import APIError

from ..config import AppSettings


def key_status(settings: AppSettings) -> list[str]:
    """Warnings about missing or broken keys; an empty list means all is well."""
    warnings: list[str] = []
    if not settings.token_signing_key.strip():
        warnings.append(
            "PIXELFOX_TOKEN_SIGNING_KEY is not set: no upload token can be signed, "
            "so uploads fail. Make a key pair with "
            "pixelfox_protocol.tokens.new_signing_key()."
        )
    else:
        try:
            tokens.parse_private_key(settings.token_signing_key)
        except ValueError as exc:
            warnings.append(f"PIXELFOX_TOKEN_SIGNING_KEY is not a valid Ed25519 key: {exc}")
    if settings.token_previous_public_keys.strip():
        try:
            tokens.parse_public_keys(settings.token_previous_public_keys)
        except ValueError as exc:
            warnings.append(f"PIXELFOX_TOKEN_PREVIOUS_PUBLIC_KEYS is not valid: {exc}")
    if not settings.link_secret.strip():
        warnings.append(
            "PIXELFOX_LINK_SECRET is not set: signed download links for private "
            "images cannot be made."
        )
    if not settings.secret_key.strip():
        warnings.append("PIXELFOX_SECRET_KEY is not set: nobody can log in.")
    return warnings


def public_keys(settings: AppSettings) -> str:
    """Every public key a node must accept, in the nodes' ``kid:base64`` list form."""
    keys = [tokens.public_key_of(settings.token_signing_key)]
    keys += [k.strip() for k in settings.token_previous_public_keys.split(",") if k.strip()]
    return ",".join(keys)


def mint_upload_token(claims: tokens.UploadClaims, settings: AppSettings) -> str:
    """Sign ``claims`` with the app's key, or UNAVAILABLE when there is no usable key."""
    if not settings.token_signing_key.strip():
        raise APIError("UNAVAILABLE", "Uploads are not configured: the signing key is missing.")
    try:
        return tokens.mint(claims, settings.token_signing_key)
    except ValueError as exc:
        message = "Uploads are not configured: the signing key is broken."
        raise APIError("UNAVAILABLE", message) from exc
