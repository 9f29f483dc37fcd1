"""What the lab benchmarks share: a capped lab of app + storage hosts with PixelFox on it.

Used by ``bench/scaling.py`` and ``bench/replication.py`` (both need root).
The lab is torn down when the block ends, also after a failure; a lab left by
an earlier, killed run of the same prefix is removed first.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import MIB, make_payload


@dataclass
class LabBench:
    lab: Any  # pixelfox_lab.Lab
    stack: Any  # tests.lab_e2e.stack.LabStack
    payload: Path


def tiny_jpeg_head() -> bytes:
    """A 64x48 JPEG: the hosts' CPU goes to moving bytes, not to checking images."""
    import pyvips

    return bytes(pyvips.Image.black(64, 48, bands=3).jpegsave_buffer(Q=85))


@contextmanager
def lab_bench(
    name: str,
    prefix: str,
    subnet: str,
    nodes: tuple[str, ...],
    args: argparse.Namespace,
    *,
    node_workers: bool,
) -> Iterator[LabBench]:
    """A lab with every host capped at ``mbit``, the app host and ``nodes`` started.

    Rate limits are off (one load generator makes every request) and placement is
    ``weighted_random``. ``args``: the benchmark's ``--mbit`` and ``--size-mb``.
    """
    mbit, size_mb = args.mbit, args.size_mb
    if os.geteuid() != 0:
        sys.exit(f"bench/{name}.py needs root (it brings up a lab of network namespaces)")

    from pixelfox_lab import Lab
    from tests.lab_e2e.stack import LabStack

    Lab(hosts=(), prefix=prefix).down()
    with (
        tempfile.TemporaryDirectory(prefix=f"pf-{name}-") as tmp,
        Lab(hosts=("app", *nodes), prefix=prefix, subnet=subnet, bandwidth_mbit=mbit) as lab,
    ):
        logs = Path(tmp) / "logs"
        logs.mkdir()
        payload = Path(tmp) / "payload.jpg"
        make_payload(payload, int(size_mb * MIB), head=tiny_jpeg_head())
        os.chmod(tmp, 0o755)
        stack = LabStack(
            lab, logs, redis_prefix="pfbench", database="sqlite", node_workers=node_workers
        )
        try:
            print(f"setting up a lab of app + {len(nodes)} storage hosts, {mbit:g} mbit each…")
            stack.start_app_host()
            stack.add_nodes({node: {} for node in nodes})
            stack.knobs(
                {
                    "upload_rate_limit_per_minute": 1_000_000,
                    "upload_user_rate_limit_per_minute": 1_000_000,
                    # Equal weights spread the load evenly; least_used would send every
                    # upload to the emptiest pool (it balances fill, not traffic).
                    "placement_strategy": "weighted_random",
                }
            )
            yield LabBench(lab, stack, payload)
        finally:
            stack.close()
