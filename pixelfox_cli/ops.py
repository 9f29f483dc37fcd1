"""Operations commands: openapi export, doctor."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
