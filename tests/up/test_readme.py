"""The README's promises that can drift from the code."""

from __future__ import annotations

import dataclasses
import re

from pixelfox_app.config import AppSettings
from pixelfox_storage.config import StorageSettings
from tests.support import ROOT

README = (ROOT / "README.md").read_text()


def quickstart_commands() -> list[str]:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quickstart has a sh code block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_quickstart_is_exactly_two_commands_that_exist():
    commands = quickstart_commands()

    assert len(commands) == 2
    for command in commands:
        path = ROOT / command.split()[0]
        assert path.is_file() and path.stat().st_mode & 0o111, command


def test_ci_runs_the_readmes_test_command():
    test_command = quickstart_commands()[1]
    ci_lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    assert f"exec {test_command}" in ci_lines


def test_every_setting_of_both_services_is_documented():
    names = {
        f"PIXELFOX_{f.name.upper()}"
        for cls in (AppSettings, StorageSettings)
        for f in dataclasses.fields(cls)
        if f.name != "extra"
    }
    rows = set(re.findall(r"^\| `(PIXELFOX_[A-Z0-9_]+)` \|", README, re.M))

    assert sorted(names - rows) == []
