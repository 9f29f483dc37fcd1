"""``pixelfox up``: the single-host appliance."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
