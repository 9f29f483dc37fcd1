"""The outbox journal: a delivered record is kept (with its token) and pruned when old."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pixelfox_protocol.internal import UploadCompletion
from pixelfox_storage.upload.outbox import Outbox


def _completion(image_uuid: str) -> UploadCompletion:
    return UploadCompletion(
        session_id="s",
        image_uuid=image_uuid,
        pool_id=1,
        path=f"original/2026/12/08/{image_uuid}.jpg",
        size=3,
        sha256="0" * 64,
        mime="image/jpeg",
        width=1,
        height=1,
    )


def test_a_delivered_record_is_kept_in_the_journal_with_its_token(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox")
    path = outbox.put(_completion("a"), "rid", token="signed.token.value")
    assert outbox.pending("a")
    outbox.delivered(path)
    assert not outbox.pending("a") and outbox.entries() == []
    entry = outbox.journal("a")
    assert entry is not None
    assert (entry.token, entry.completion.image_uuid) == ("signed.token.value", "a")
    assert outbox.journal("b") is None


def test_the_journal_drops_records_older_than_it_keeps_and_no_others(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox")
    for name in ("old", "new"):
        outbox.delivered(outbox.put(_completion(name), "rid", token="t"))
    old = outbox.journal_dir / "old.json"
    week = 7 * 86400
    os.utime(old, (time.time() - 2 * week, time.time() - 2 * week))
    assert outbox.prune_journal(week) == 1
    assert outbox.journal("old") is None and outbox.journal("new") is not None
