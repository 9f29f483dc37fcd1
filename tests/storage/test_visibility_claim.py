"""The upload token's visibility claim: optional, so tokens minted without it stay public."""

from __future__ import annotations

import time

import jwt
import pytest

from pixelfox_protocol import tokens
from pixelfox_protocol.errors import APIError


def _claims(**changes: object) -> tokens.UploadClaims:
    values: dict[str, object] = {
        "node_id": "s01",
        "user_id": 7,
        "pool_id": 1,
        "session_id": "sid",
        "jti": "jti",
        "max_size": 1000,
        "expires_at": int(time.time()) + 600,
        "image_uuid": "0" * 32,
    }
    values.update(changes)
    return tokens.UploadClaims(**values)  # type: ignore[arg-type]


def test_a_private_token_says_so_and_one_without_the_claim_is_public() -> None:
    signing, public = tokens.new_signing_key()
    keys = tokens.parse_public_keys(public)

    private = tokens.verify(tokens.mint(_claims(visibility="private"), signing), "s01", keys)
    plain_token = tokens.mint(_claims(), signing)
    plain = tokens.verify(plain_token, "s01", keys)

    assert (private.visibility, private.private) == ("private", True)
    assert "vis" not in jwt.decode(plain_token, options={"verify_signature": False})
    assert (plain.visibility, plain.private) == ("public", False)


def test_a_signed_token_naming_an_unknown_visibility_is_refused() -> None:
    signing, public = tokens.new_signing_key()
    token = tokens.mint(_claims(visibility="secret"), signing)

    with pytest.raises(APIError) as refused:
        tokens.verify(token, "s01", tokens.parse_public_keys(public))

    assert refused.value.code == "TOKEN_INVALID"
