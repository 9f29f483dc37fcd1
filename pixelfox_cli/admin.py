"""Operator commands: migrate, create-admin, nodes, pools."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
