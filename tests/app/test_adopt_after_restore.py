"""After a restore from an older database backup, ``pixelfox scrub --adopt`` brings back
the images uploaded since: a real app (SQLite and PostgreSQL), a real storage node and
its worker, real Redis, real ``pixelfox db backup`` / ``db restore``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixelfox_app.db import close_db, init_db
from pixelfox_app.models import Image, ImageState, UploadSession, UploadSessionState
from pixelfox_protocol import layout, tokens
from pixelfox_protocol.internal import ADOPT_PATH, UPLOAD_PATH, UploadCompletion
from pixelfox_storage.upload.outbox import Outbox, OutboxEntry
from tests.app import images
from tests.app.conftest import AppServer, Servers
from tests.support import PIXELFOX, ROOT, Service, eventually, free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Node:
    url: str
    pool_id: int
    pool_dir: Path
    env: dict[str, str]
    headers: dict[str, str]
    outbox: Outbox

    def pixelfox(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run({**os.environ, **self.env}, *args)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PIXELFOX, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def _lines(out: str, outcome: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(f"{outcome} ")]


async def _upload(app: AppServer, script: httpx.AsyncClient, data: bytes, name: str) -> str:
    session = (await script.post("/api/v1/upload/sessions", json={"file_size": len(data)})).json()
    async with httpx.AsyncClient(timeout=30) as client:
        uploaded = await client.post(
            session["upload_url"],
            headers={"Authorization": f"Bearer {session['token']}"},
            files={"file": (name, data, "image/jpeg")},
        )
    assert uploaded.status_code == 201, uploaded.text
    image_uuid: str = uploaded.json()["image_uuid"]
    return image_uuid


def _plant(node: Node, owner_id: int, signing_key: str, data: bytes) -> str:
    """A file and a journal record on the node whose token the node signed itself."""
    image_uuid = str(uuid.uuid4())
    path = layout.original_path(image_uuid, "jpg", datetime.now(UTC))
    (node.pool_dir / path).parent.mkdir(parents=True, exist_ok=True)
    (node.pool_dir / path).write_bytes(data)
    claims = tokens.UploadClaims(
        node_id="s01",
        user_id=owner_id,
        pool_id=node.pool_id,
        session_id=str(uuid.uuid4()),
        jti=uuid.uuid4().hex,
        max_size=len(data),
        expires_at=2_000_000_000,
        image_uuid=image_uuid,
    )
    completion = _completion(claims, path, data)
    journal = node.outbox.journal_dir
    journal.mkdir(parents=True, exist_ok=True)
    entry = OutboxEntry(completion, "forged", 0.0, token=tokens.mint(claims, signing_key))
    (journal / f"{image_uuid}.json").write_text(entry.to_json())
    return path


def _completion(claims: tokens.UploadClaims, path: str, data: bytes) -> UploadCompletion:
    return UploadCompletion(
        session_id=claims.session_id,
        image_uuid=claims.image_uuid,
        pool_id=claims.pool_id,
        path=path,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        mime="image/jpeg",
        width=64,
        height=48,
        original_filename="forged.jpg",
    )


async def _restart_on(app: AppServer, backup: Path) -> None:
    """Stop the app, restore ``backup`` as the operator does, start it again."""
    app.service.stop()
    await close_db()
    restored = _run({**os.environ, **app.env}, "db", "restore", str(backup), "--yes")
    assert restored.returncode == 0, restored.stderr
    await init_db(app.database_url)
    app.service.start(f"{app.url}/healthz")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_images_uploaded_after_the_backup_are_adopted_back_with_owner_page_and_url(
    servers: Servers, tmp_path: Path, kind: str
):
    app = await servers.get(kind)
    port = free_port()
    node_url = f"http://127.0.0.1:{port}"
    pool_dir, state = tmp_path / "pool", tmp_path / "state"
    pool_dir.mkdir()
    headers = await app.node("s01")
    pool = await app.pool(
        "hot-s01",
        "s01",
        base_path=str(pool_dir),
        public_base_url=node_url,
        upload_api_url=node_url + UPLOAD_PATH,
    )
    node = Node(
        node_url,
        pool.id,
        pool_dir,
        {**app.node_env("s01", headers, state), "PIXELFOX_WORKER_METRICS_BIND": "off"},
        headers,
        Outbox(state / "outbox"),
    )
    ada = await app.user("ada")
    victim = await app.user("victim")
    server = Service(
        "s01", [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{port}"], node.env, tmp_path / "n"
    )
    server.start(f"{node_url}/healthz")
    try:
        async with await app.token_client(ada) as script:
            before = await _upload(app, script, images.jpeg(64, 48), "before.jpg")
            backup_dir = tmp_path / "backups"
            made = _run({**os.environ, **app.env}, "db", "backup", "--dir", str(backup_dir))
            assert made.returncode == 0, made.stderr
            [backup] = list(backup_dir.iterdir())
            later = [
                await _upload(app, script, images.jpeg(80 + i, 60), f"later-{i}.jpg")
                for i in range(3)
            ]
    finally:
        server.stop()
    # Delivered completions are kept in the journal with their signed tokens.
    for image_uuid in [before, *later]:
        entry = node.outbox.journal(image_uuid)
        assert entry is not None and entry.token
    await _restart_on(app, backup)
    assert await Image.filter(uuid__in=later).count() == 0
    # A node that forges: a token of its own making for another owner's upload.
    forged = _plant(node, victim.id, tokens.new_signing_key()[0], images.jpeg(64, 48))

    # Without --adopt: the rows-less originals are orphans, named (no grace here).
    plain = node.pixelfox("scrub", "--pool", str(pool.id), "--no-progress", "--grace", "0")
    assert plain.returncode == 3, plain.stdout + plain.stderr
    assert plain.stdout.count("orphan ") == 4, plain.stdout
    assert await Image.filter(uuid__in=later).count() == 0
    dry = node.pixelfox("scrub", "--pool", str(pool.id), "--no-progress", "--adopt", "--dry-run")
    # A dry run offers nothing; the node does not judge tokens, the app does.
    assert len(_lines(dry.stdout, "would-offer")) == 4, dry.stdout + dry.stderr
    assert await Image.filter(uuid__in=later).count() == 0

    adopted = node.pixelfox("scrub", "--pool", str(pool.id), "--no-progress", "--adopt")
    assert adopted.returncode == 3, adopted.stdout + adopted.stderr  # the forged one is left
    assert len(_lines(adopted.stdout, "adopted")) == 3, adopted.stdout
    [refused] = _lines(adopted.stdout, "refused")
    assert forged in refused and "ADOPT_PROOF_INVALID" in refused
    rows = await Image.filter(uuid__in=later).order_by("id")
    assert len(rows) == 3
    assert {str(r.uuid) for r in rows} == set(later)
    assert all(r.owner_id == ada.id for r in rows)  # type: ignore[attr-defined]
    assert not await Image.filter(owner_id=victim.id).exists()

    # The normal processing takes over: variants made, page and file URL answer.
    worker = Service(
        "s01-worker", [*PIXELFOX, "worker", "--node", "s01"], node.env, tmp_path / "w.log"
    )
    server.start(f"{node_url}/healthz")
    worker.start()
    try:

        async def all_ready() -> bool:
            states = await Image.filter(uuid__in=later).values_list("state", flat=True)
            return all(s == ImageState.READY for s in states)

        assert await eventually(all_ready, seconds=90), worker.log()
        async with app.client() as browser, httpx.AsyncClient(timeout=10) as files:
            for row in await Image.filter(uuid__in=later):
                page = await browser.get(f"/i/{row.short_id}")
                assert page.status_code == 200, page.text
                original = await files.get(f"{node_url}/uploads/{row.path}")
                assert original.status_code == 200
                assert hashlib.sha256(original.content).hexdigest() == row.sha256
        # Running it again adopts nothing: every image has its row.
        again = node.pixelfox("scrub", "--pool", str(pool.id), "--no-progress", "--adopt")
        assert not _lines(again.stdout, "adopted"), again.stdout
        assert await Image.filter(uuid__in=later).count() == 3
    finally:
        worker.stop()
        server.stop()


async def test_a_genuine_token_does_not_adopt_another_file_and_the_answer_is_stable(
    servers: Servers, tmp_path: Path
):
    app = await servers.get("sqlite")
    headers = await app.node("s01")
    other = await app.node("s02")
    pool = await app.pool("hot-s01", "s01", base_path=str(tmp_path))
    ada = await app.user("ada")
    data = images.jpeg(64, 48)
    claims = tokens.UploadClaims(
        node_id="s01",
        user_id=ada.id,
        pool_id=pool.id,
        session_id=str(uuid.uuid4()),
        jti=uuid.uuid4().hex,
        max_size=len(data),
        expires_at=1,  # long expired: the signature is the proof, not the time
        image_uuid=str(uuid.uuid4()),
    )
    token = tokens.mint(claims, app.signing_key, now=0)
    path = layout.original_path(claims.image_uuid, "jpg", datetime.now(UTC))
    genuine = _completion(claims, path, data).model_dump()
    another = str(uuid.uuid4())
    swapped = {**genuine, "image_uuid": another, "path": path.replace(claims.image_uuid, another)}
    cases: list[tuple[dict[str, str], dict[str, Any], str]] = [
        (headers, swapped, "ADOPT_PROOF_INVALID"),  # the token names another image
        (headers, {**genuine, "size": len(data) + 10**9}, "ADOPT_PROOF_INVALID"),
        (other, genuine, "ADOPT_PROOF_INVALID"),  # another node's token
    ]
    async with app.client() as client:
        for node_headers, completion, code in cases:
            answer = await client.post(
                ADOPT_PATH, headers=node_headers, json={"token": token, "completion": completion}
            )
            assert answer.status_code == 403, answer.text
            assert answer.json()["error"]["code"] == code
        assert not await Image.exists(uuid=claims.image_uuid)
        # The genuine proposal is taken once; a second time it makes nothing.
        for adopted in (True, False):
            answer = await client.post(
                ADOPT_PATH, headers=headers, json={"token": token, "completion": genuine}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["adopted"] is adopted
    image = await Image.get(uuid=claims.image_uuid)
    assert (image.owner_id, image.path, image.state) == (ada.id, path, "processing")  # type: ignore[attr-defined]
    assert await app.queued_jobs("s01") == [app.keys.process_job("s01", claims.image_uuid)]
    # Adopting recorded the upload's session as used: once the image is deleted for
    # good, the same token (still in a stolen node's journal) cannot bring it back.
    session = await UploadSession.get(id=claims.session_id)
    assert (session.state, session.image_uuid) == (UploadSessionState.USED, image.uuid)
    await image.delete()
    async with app.client() as client:
        answer = await client.post(
            ADOPT_PATH, headers=headers, json={"token": token, "completion": genuine}
        )
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "ADOPT_PROOF_INVALID"
    assert not await Image.exists(uuid=claims.image_uuid)


async def test_an_image_deleted_for_good_is_not_brought_back_by_its_old_token(
    servers: Servers, tmp_path: Path
):
    app = await servers.get("sqlite")
    headers = await app.node("s01")
    pool = await app.pool("hot-s01", "s01", base_path=str(tmp_path))
    ada = await app.user("ada")
    data = images.jpeg(64, 48)
    image_uuid = uuid.uuid4()
    # The database saw the upload (its session is used) and its purge (no image row).
    session = await UploadSession.create(
        user=ada,
        pool=pool,
        token_id=uuid.uuid4().hex,
        image_uuid=image_uuid,
        max_size=len(data),
        expires_at=datetime.now(UTC),
        state=UploadSessionState.USED,
    )
    claims = tokens.UploadClaims(
        node_id="s01",
        user_id=ada.id,
        pool_id=pool.id,
        session_id=str(session.id),
        jti=uuid.uuid4().hex,
        max_size=len(data),
        expires_at=2_000_000_000,
        image_uuid=str(image_uuid),
    )
    path = layout.original_path(str(image_uuid), "jpg", datetime.now(UTC))
    proposal = {
        "token": tokens.mint(claims, app.signing_key),
        "completion": _completion(claims, path, data).model_dump(),
    }
    async with app.client() as client:
        answer = await client.post(ADOPT_PATH, headers=headers, json=proposal)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "ADOPT_PROOF_INVALID"
    assert not await Image.exists(uuid=image_uuid)
