"""Front-end assets: vendored files are the registry's; upload.js knows every error code."""

from __future__ import annotations

import re
from pathlib import Path

from pixelfox_protocol.errors import CODES
from tests.support import assert_vendored_files_match

STATIC = Path(__file__).resolve().parents[2] / "pixelfox_app" / "static"


def test_vendored_files_match_the_checksums_recorded_in_versions_md():
    assert assert_vendored_files_match(STATIC / "vendor") == 2


def test_the_upload_page_has_a_message_for_every_stable_error_code():
    script = (STATIC / "js" / "upload-errors.js").read_text()
    block = script[
        script.index("var MESSAGES = {") : script.index("};", script.index("var MESSAGES"))
    ]
    mapped = set(re.findall(r"^\s+([A-Z_]+): \{", block, re.M))
    missing = set(CODES) - mapped
    assert missing == set(), f"upload-errors.js has no message for {sorted(missing)}"
