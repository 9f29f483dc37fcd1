"""Who may touch a resumable upload: the token that created it, and nobody else."""

from __future__ import annotations

import time

from tests.storage import images
from tests.storage.conftest import NODE_ID, Node
from tests.storage.test_upload_accepts import assert_error
from tests.storage.upload.tus.conftest import Tus, tus_files


def test_a_creation_without_a_token_is_refused_401(node: Node) -> None:
    answer = Tus(node, "").create(1000)

    assert_error(answer, 401, "TOKEN_MISSING")
    assert tus_files(node) == []


def test_a_forged_token_creates_nothing(node: Node) -> None:
    token = node.token()
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    assert_error(Tus(node, forged).create(1000), 401, "TOKEN_INVALID")
    assert tus_files(node) == []


def test_an_expired_token_creates_nothing(node: Node) -> None:
    stale = node.sign(node.claims(expires_at=int(time.time()) - 120))

    assert_error(Tus(node, stale).create(1000), 401, "TOKEN_EXPIRED")


def test_a_token_for_another_node_is_refused_403(node: Node) -> None:
    other = node.sign(node.claims(node_id=NODE_ID + "x"))

    assert_error(Tus(node, other).create(1000), 403, "TOKEN_WRONG_NODE")


def test_a_used_token_creates_no_upload(node: Node) -> None:
    token = node.token()
    assert node.post(token, images.jpeg()).status_code == 201

    assert_error(Tus(node, token).create(1000), 409, "TOKEN_USED")


def test_a_token_holding_a_live_upload_is_not_taken_by_a_single_request(tus: Tus) -> None:
    tus.start(1000)

    assert_error(tus.node.post(tus.token, images.jpeg()), 409, "TOKEN_USED")


def test_a_finished_uploads_token_is_spent(tus: Tus) -> None:
    assert tus.send(images.jpeg(), chunk=5000).status_code == 201

    assert_error(tus.node.post(tus.token, images.jpeg()), 409, "TOKEN_USED")


def test_the_upload_url_is_worth_nothing_without_its_token(node: Node) -> None:
    owner = Tus(node, node.token())
    url = owner.start(10_000)
    stranger = Tus(node, node.token())  # valid, for this very node — but not this upload's

    assert stranger.head(url).status_code == 401
    for answer in (stranger.patch(url, 0, b"\xff\xd8" + b"x" * 98), stranger.delete(url)):
        assert_error(answer, 401, "TOKEN_INVALID")
    for answer in (Tus(node, "").head(url), Tus(node, "").patch(url, 0, b"x")):
        assert answer.status_code == 401
    assert owner.offset(url) == 0


def test_an_expired_token_may_still_finish_the_upload_it_created(node: Node) -> None:
    data = images.jpeg(400, 300)
    # Valid for two more seconds (past the signature check's 30 s leeway too).
    claims = node.claims(expires_at=int(time.time()) - 30 + 2)
    tus = Tus(node, node.sign(claims))
    url = tus.start(len(data))
    tus.patch(url, 0, data[:3000])
    time.sleep(2.5)
    assert_error(node.post(tus.token, data), 401, "TOKEN_EXPIRED")

    final = tus.patch(url, tus.offset(url), data[3000:])

    assert final.status_code == 201
    assert node.app.completions[0]["image_uuid"] == claims.image_uuid
