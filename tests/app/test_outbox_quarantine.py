"""A stored upload the real app refuses later is quarantined on the node, not taken as delivered."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pixelfox_app.models import Image, UploadSession
from pixelfox_protocol import layout
from pixelfox_protocol.internal import UPLOAD_PATH, UploadCompletion
from pixelfox_storage.upload.outbox import Outbox
from tests.app import images
from tests.app.conftest import Servers
from tests.support import PIXELFOX, Service, eventually, free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_stored_upload_whose_session_expired_meanwhile_is_quarantined_not_delivered(
    servers: Servers, tmp_path: Path
):
    app = await servers.get("sqlite")
    port = free_port()
    node_url = f"http://127.0.0.1:{port}"
    pool_dir, state = tmp_path / "pool", tmp_path / "state"
    pool_dir.mkdir()
    headers = await app.node("s01")
    await app.pool(
        "hot-s01",
        "s01",
        base_path=str(pool_dir),
        public_base_url=node_url,
        upload_api_url=node_url + UPLOAD_PATH,
    )
    user = await app.user("ada")
    data = images.jpeg(64, 48)
    async with await app.token_client(user) as script:
        answer = await script.post("/api/v1/upload/sessions", json={"file_size": len(data)})
    assert answer.status_code == 201, answer.text
    session = answer.json()
    # The node stored the file and its outbox record, then was down for two days:
    # the app never heard of the upload, and the session has expired for good.
    path = layout.original_path(session["image_uuid"], "jpg", datetime.now(UTC))
    (pool_dir / path).parent.mkdir(parents=True)
    (pool_dir / path).write_bytes(data)
    Outbox(state / "outbox").put(
        UploadCompletion(
            session_id=session["session_id"],
            image_uuid=session["image_uuid"],
            pool_id=session["pool_id"],
            path=path,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            mime="image/jpeg",
            width=64,
            height=48,
        ),
        uuid.uuid4().hex,
        delay=-1,
    )
    await UploadSession.filter(id=uuid.UUID(session["session_id"])).update(
        expires_at=datetime.now(UTC) - timedelta(days=2)
    )
    node = Service(
        "s01",
        [*PIXELFOX, "serve-storage", "--bind", f"127.0.0.1:{port}"],
        app.node_env("s01", headers, state),
        tmp_path / "s01.log",
    )
    quarantine = state / "outbox" / "quarantine"
    node.start(f"{node_url}/healthz")
    try:

        async def quarantined() -> list[Path]:
            return sorted(quarantine.glob("*.json"))

        [record] = await eventually(quarantined, seconds=30) or [None]
        assert record is not None, node.log()

        async def beat_counts_it() -> dict[str, Any] | None:
            raw = await app.redis.get(app.keys.node_heartbeat("s01"))
            beat = json.loads(raw) if raw else None
            return beat if beat and beat["quarantined_uploads"] else None

        beat = await eventually(beat_counts_it, seconds=15)
    finally:
        node.stop()

    # The app answered 409 SESSION_INVALID: the record is kept with that code, not dropped.
    assert json.loads(record.read_text())["last_error"] == "SESSION_INVALID"
    assert not list((state / "outbox").glob("*.json"))
    assert await Image.filter(uuid=uuid.UUID(session["image_uuid"])).count() == 0
    # The file left original/ (not served) and waits for an operator.
    assert not (pool_dir / path).exists()
    assert (pool_dir / ".quarantine" / Path(path).name).read_bytes() == data
    # The admin learns of it from the node's heartbeat.
    assert beat is not None, node.log()
    assert beat["quarantined_uploads"] == 1
    [listed] = beat["quarantined"]
    assert (listed["image_uuid"], listed["pool_id"], listed["code"]) == (
        session["image_uuid"],
        session["pool_id"],
        "SESSION_INVALID",
    )
    assert "app refused queued upload" in node.log()
