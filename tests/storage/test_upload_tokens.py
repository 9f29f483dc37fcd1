"""A token works only on its node, only in its time, only once, only as signed."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import jwt
import pytest

from pixelfox_protocol.keys import TOKEN_ISSUER, token_audience
from pixelfox_protocol.tokens import (
    _unb64,
    new_signing_key,
    parse_private_key,
    public_key_of,
)
from tests.storage import images
from tests.storage.conftest import NODE_ID, Node
from tests.storage.test_upload_accepts import assert_error
from tests.storage.test_upload_refusals import raw_request


@pytest.fixture
def clean(node: Node) -> Iterator[Node]:
    yield node
    assert node.files() == []
    assert node.app.completions == []


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload(node: Node, **changes: object) -> dict[str, object]:
    now = int(time.time())
    payload: dict[str, object] = {
        "kid": node.signing_key.split(":")[0],
        "iss": TOKEN_ISSUER,
        "aud": token_audience(NODE_ID),
        "sub": "42",
        "pool_id": 7,
        "sid": "session-1",
        "jti": f"jti-{time.monotonic_ns()}",
        "max_size": 10_000_000,
        "img": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def _signed(node: Node, payload: dict[str, object]) -> str:
    kid, key = parse_private_key(node.signing_key)
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid})


def test_no_token_is_refused_401(clean: Node) -> None:
    assert_error(clean.post(None, images.jpeg()), 401, "TOKEN_MISSING")


def test_another_scheme_is_no_token(clean: Node) -> None:
    response = clean.post(None, images.jpeg(), headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_error(response, 401, "TOKEN_MISSING")


def test_a_token_signed_by_another_key_is_refused(clean: Node) -> None:
    stranger, _ = new_signing_key()
    _, key = parse_private_key(stranger)
    # Same key id as the node knows, different key: the signature must not verify.
    forged = jwt.encode(
        _payload(clean), key, algorithm="EdDSA", headers={"kid": clean.signing_key.split(":")[0]}
    )
    assert_error(clean.post(forged, images.jpeg()), 401, "TOKEN_INVALID")


def test_a_token_with_an_unknown_key_id_is_refused(clean: Node) -> None:
    stranger, _ = new_signing_key()
    token = jwt.encode(
        _payload(clean), parse_private_key(stranger)[1], algorithm="EdDSA", headers={"kid": "nope"}
    )
    assert_error(clean.post(token, images.jpeg()), 401, "TOKEN_INVALID")


def test_an_expired_token_is_refused(clean: Node) -> None:
    token = clean.token(expires_at=int(time.time()) - 120)
    assert_error(clean.post(token, images.jpeg()), 401, "TOKEN_EXPIRED")


def test_a_token_that_is_not_valid_yet_is_refused(clean: Node) -> None:
    later = time.time() + 600
    token = clean.sign(clean.claims(expires_at=int(later) + 600), now=later)
    assert_error(clean.post(token, images.jpeg()), 401, "TOKEN_INVALID")


def test_a_token_for_another_node_is_refused_403(clean: Node) -> None:
    token = clean.token(node_id="s02")
    assert_error(clean.post(token, images.jpeg()), 403, "TOKEN_WRONG_NODE")


def test_a_replayed_token_is_refused_409(node: Node) -> None:
    token = node.token()
    assert node.post(token, images.jpeg()).status_code == 201

    assert_error(node.post(token, images.jpeg()), 409, "TOKEN_USED")
    assert len(node.files()) == 1


def test_alg_none_is_refused(clean: Node) -> None:
    header = _b64(
        json.dumps({"alg": "none", "typ": "JWT", "kid": clean.signing_key.split(":")[0]}).encode()
    )
    body = _b64(json.dumps(_payload(clean)).encode())
    for token in (f"{header}.{body}.", f"{header}.{body}"):
        assert_error(clean.post(token, images.jpeg()), 401, "TOKEN_INVALID")


def test_hs256_signed_with_the_public_key_is_refused(clean: Node) -> None:
    kid, public = public_key_of(clean.signing_key).split(":")
    # The classic confusion attack: the verifier's public key used as an HMAC secret.
    for secret in (_unb64(public), public.encode()):
        token = jwt.encode(_payload(clean), secret, algorithm="HS256", headers={"kid": kid})
        assert_error(clean.post(token, images.jpeg()), 401, "TOKEN_INVALID")


def test_a_token_with_a_raised_max_size_is_refused(clean: Node) -> None:
    header, body, signature = clean.token(max_size=100).split(".")
    claims = json.loads(_unb64(body))
    claims["max_size"] = 10**9
    tampered = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    assert_error(clean.post(tampered, images.jpeg()), 401, "TOKEN_INVALID")


@pytest.mark.parametrize(
    "missing", ["jti", "exp", "nbf", "aud", "sid", "max_size", "pool_id", "img"]
)
def test_a_properly_signed_token_missing_a_claim_is_refused(clean: Node, missing: str) -> None:
    token = _signed(clean, _payload(clean, **{missing: None}))
    assert_error(clean.post(token, images.jpeg()), 401, "TOKEN_INVALID")


def test_a_token_of_another_issuer_is_refused(clean: Node) -> None:
    token = _signed(clean, _payload(clean, iss="somebody-else"))
    assert_error(clean.post(token, images.jpeg()), 401, "TOKEN_INVALID")


def test_garbage_is_refused(clean: Node) -> None:
    for token in ("x", "a.b.c", "..", "e30.e30.e30"):
        assert_error(clean.post(token, images.jpeg()), 401, "TOKEN_INVALID")


def test_the_token_is_judged_before_the_body_is_read(clean: Node) -> None:
    # 100 MB are announced and none is sent: a node that waited for the body
    # would never answer.
    head = (
        "PUT /api/internal/upload HTTP/1.1\nHost: node\nAuthorization: Bearer forged.token.here\n"
        "Content-Type: image/jpeg\nContent-Length: 100000000\nConnection: close\n\n"
    )
    started = time.monotonic()
    status, body = raw_request(clean, head)

    assert status == 401 and b"TOKEN_INVALID" in body
    assert time.monotonic() - started < 5
