"""Front-end assets: vendored files are the registry's; upload.js knows every error code."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pixelfox_storage.protocol.errors import CODES

STATIC = Path(__file__).resolve().parents[2] / "pixelfox_app" / "static"


def test_vendored_files_match_the_checksums_recorded_in_versions_md():
    table = (STATIC / "vendor" / "VERSIONS.md").read_text()
    recorded = re.findall(r"`([\w.-]+/[\w.-]+\.js)`.*?`([0-9a-f]{64})`", table)
    assert len(recorded) == 2
    for relative, digest in recorded:
        data = (STATIC / "vendor" / relative).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, relative
        assert (STATIC / "vendor" / relative).with_name("LICENSE").is_file()


def test_the_upload_page_has_a_message_for_every_stable_error_code():
    script = (STATIC / "js" / "upload-errors.js").read_text()
    block = script[
        script.index("var MESSAGES = {") : script.index("};", script.index("var MESSAGES"))
    ]
    mapped = set(re.findall(r"^\s+([A-Z_]+): \{", block, re.M))
    missing = set(CODES) - mapped
    assert missing == set(), f"upload-errors.js has no message for {sorted(missing)}"
