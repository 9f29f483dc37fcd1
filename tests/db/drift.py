"""Migration sets whose recorded models differ from the real ones, to prove the check fails."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from aerich.utils import decompress_dict, get_formatted_compressed_data

from pixelfox_app import dbschema


def _newest(location: Path) -> Path:
    return sorted((location / dbschema.APP).glob("*.py"), key=lambda f: int(f.name.split("_")[0]))[
        -1
    ]


def newest_models_state(location: Path) -> dict[str, Any]:
    """The models as recorded by the newest migration of a dialect's location."""
    literal = _newest(location).read_text().partition("MODELS_STATE = (")[2].rsplit(")", 1)[0]
    return decompress_dict("".join(part.strip().strip('"') for part in literal.split()))


def drifted_migrations(tmp_path: Path, *dialects: str) -> Path:
    """A copy of MIGRATIONS_DIR as it would look had ``StoragePool.region`` been added to
    the models without a migration: the newest migration of each given dialect neither
    creates the column nor records the field. Other dialects are copied unchanged.
    """
    root = tmp_path / "migrations"
    shutil.copytree(dbschema.MIGRATIONS_DIR, root)
    for dialect in dialects:
        state = newest_models_state(root / dialect)
        pool = state["models.StoragePool"]
        pool["data_fields"] = [f for f in pool["data_fields"] if f["name"] != "region"]
        # The column is created by one migration (not always the newest): drop it there.
        creating = [
            f
            for f in (root / dialect / dbschema.APP).glob("*.py")
            if any(ln.strip().startswith('"region"') for ln in f.read_text().splitlines())
        ]
        assert len(creating) == 1, "expected one migration creating the region column"
        text = creating[0].read_text()
        kept = [ln for ln in text.splitlines() if not ln.strip().startswith('"region"')]
        creating[0].write_text("\n".join(kept) + "\n")
        newest = _newest(root / dialect)
        head = newest.read_text().partition("MODELS_STATE = (")[0].rstrip("\n")
        newest.write_text(
            f"{head}\nMODELS_STATE = (\n    {get_formatted_compressed_data(state)}\n)\n"
        )
    return root
