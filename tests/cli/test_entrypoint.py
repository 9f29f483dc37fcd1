"""The ``pixelfox`` entry point lists every command its modules define."""

import importlib
import subprocess

from pixelfox_cli.main import COMMANDS
from tests.support import PIXELFOX


def test_every_command_module_is_reachable_by_name():
    for name, (module, attribute) in COMMANDS.items():
        command = getattr(importlib.import_module(f"pixelfox_cli.{module}"), attribute)
        assert command.name == name


def test_no_command_of_a_module_is_left_out():
    listed = {(m, a) for m, a in COMMANDS.values()}
    for module in {m for m, _ in COMMANDS.values()}:
        mod = importlib.import_module(f"pixelfox_cli.{module}")
        for command in getattr(mod, "COMMANDS", []):
            attribute = next(a for a in dir(mod) if getattr(mod, a) is command)
            assert (module, attribute) in listed, f"{module}.{attribute} is not in pixelfox --help"


def test_unknown_command_is_one_line_not_a_traceback():
    result = subprocess.run([*PIXELFOX, "no-such-command"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "No such command" in result.stderr
