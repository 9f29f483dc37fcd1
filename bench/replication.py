"""Replica lag under upload load, and re-replication after a node is declared lost.

One command (needs root: it brings up a lab), prints a table with ratios:

    .venv/bin/python bench/replication.py              # ~6 minutes
    .venv/bin/python bench/replication.py --mbit 50 --seconds 20

What runs: a lab (prefix ``pfr``, torn down at the end, also after a failure)
of ``app`` and ``s01``…``s03``, every host capped at ``--mbit`` in both
directions; PixelFox on it by the e2e tests' stack, node workers included
(they make the variants and push the replicas). Every pool wants two copies
(three nodes).

1. **Replica lag.** The load generator of ``bench/scaling.py`` keeps
   ``2·3`` uploads of ``--size-mb`` in flight for ``--seconds``; then the
   benchmark waits until every image has its second copy. Per replica: from
   the upload's row (the node's report) to the replica verified, p50/p95 —
   what ``pixelfox_replication_lag_seconds`` samples as it happens.
2. **Re-replication.** s03's services are killed and its link taken down;
   ``pixelfox nodes lost s03`` queues the repairs. The figure is the bytes of
   the copies made again, over the time until every image has two verified
   copies on s01 and s02, against the link: repairs flow s01→s02 and s02→s01
   at once, so two links' worth is the ceiling.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import MIB  # noqa: E402
from bench.labbench import lab_bench  # noqa: E402

LAB_PREFIX = "pfr"
LAB_SUBNET = "10.81.0.0/24"
NODES = ("s01", "s02", "s03")
VICTIM = "s03"
CLIENTS = 6

# Run on the app host (stack.app_python): copies and their timings, as JSON.
_COPIES = """
import json
from pixelfox_app.models import CopyState, Image, ImageCopy
images = {i.id: i for i in await Image.all()}
rows = []
for c in await ImageCopy.all().prefetch_related("pool"):
    image = images[c.image_id]
    rows.append({
        "image": c.image_id, "node": c.pool.node_id, "state": str(c.state), "bytes": c.bytes,
        "primary": c.pool_id == image.pool_id,
        "uploaded": image.created_at.timestamp(),
        "placed": c.created_at.timestamp(),
        "verified": c.verified_at.timestamp() if c.verified_at else None,
    })
print("COPIES", json.dumps(rows))
"""


def _copies(stack: Any) -> list[dict[str, Any]]:
    out = stack.app_python(_COPIES)
    line = next(x for x in out.splitlines() if x.startswith("COPIES "))
    rows: list[dict[str, Any]] = json.loads(line.split(" ", 1)[1])
    return rows


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _holders(rows: list[dict[str, Any]], nodes: set[str]) -> dict[int, set[str]]:
    held: dict[int, set[str]] = {}
    for row in rows:
        held.setdefault(row["image"], set())
        if row["state"] == "verified" and row["node"] in nodes:
            held[row["image"]].add(row["node"])
    return held


def _wait_two_copies(stack: Any, nodes: set[str], seconds: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while True:
        rows = _copies(stack)
        short = [i for i, held in _holders(rows, nodes).items() if len(held) < 2]
        if not short:
            return rows
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(short)} images still without two copies on {nodes}")
        time.sleep(1)


def replica_lag(lab: Any, stack: Any, token: str, payload: Path, seconds: float) -> dict[str, Any]:
    spec = {
        "app_url": stack.app_url,
        "token": token,
        "payload": str(payload),
        "clients": CLIENTS,
        "warmup": 0.0,
        "seconds": seconds,
    }
    client = lab.controller.popen(
        [sys.executable, str(ROOT / "bench" / "scaling.py"), "--client", json.dumps(spec)],
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = client.communicate(timeout=seconds + 600)
    load: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    rows = _wait_two_copies(stack, set(NODES), seconds=900)
    replicas = [r for r in rows if not r["primary"] and r["verified"]]
    from_upload = [r["verified"] - r["uploaded"] for r in replicas]
    from_placed = [r["verified"] - r["placed"] for r in replicas]
    return {
        "uploads": load["uploads"],
        "errors": load["errors"],
        "replicas": len(replicas),
        "upload_p50": _quantile(from_upload, 0.5),
        "upload_p95": _quantile(from_upload, 0.95),
        "placed_p50": _quantile(from_placed, 0.5),
        "placed_p95": _quantile(from_placed, 0.95),
        "mib": sum(r["bytes"] for r in replicas) / MIB,
    }


def re_replication(lab: Any, stack: Any) -> dict[str, Any]:
    for service in stack.nodes[VICTIM].services.values():
        service.kill()
    lab.run(VICTIM, "ip link set eth0 down")
    before = {(r["image"], r["node"]) for r in _copies(stack)}
    began = time.monotonic()
    stack.pixelfox("nodes", "lost", VICTIM, "--yes")
    survivors = set(NODES) - {VICTIM}
    rows = _wait_two_copies(stack, survivors, seconds=1800)
    elapsed = time.monotonic() - began
    made = [r for r in rows if (r["image"], r["node"]) not in before]
    mib = sum(r["bytes"] for r in made) / MIB
    return {"copies": len(made), "mib": mib, "seconds": elapsed, "mib_per_s": mib / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mbit", type=float, default=100.0, help="cap of every host's link")
    parser.add_argument("--seconds", type=float, default=30.0, help="upload load phase")
    parser.add_argument("--size-mb", type=float, default=2.0, help="size of each upload")
    args = parser.parse_args()
    with lab_bench("replication", LAB_PREFIX, LAB_SUBNET, NODES, args, node_workers=True) as bench:
        lab, stack = bench.lab, bench.stack
        token = stack.api_tokens({"bench": False})["bench"]
        print(f"uploading for {args.seconds:g} s with {CLIENTS} clients…", flush=True)
        lag = replica_lag(lab, stack, token, bench.payload, args.seconds)
        print(f"  {lag}", flush=True)
        print(f"killing {VICTIM}, declaring it lost…", flush=True)
        repair = re_replication(lab, stack)
        print(f"  {repair}", flush=True)
    _table(lag, repair, args)


def _table(lag: dict[str, Any], repair: dict[str, Any], args: argparse.Namespace) -> None:
    link = args.mbit / 8 * 1e6 / MIB
    print()
    print(
        f"Replication, {args.size_mb:g} MiB uploads, every host capped at {args.mbit:g} mbit "
        f"(≈{link:.1f} MiB/s), factor 2 over {len(NODES)} hosts"
    )
    print("| figure | value | against |")
    print("|---|---|---|")
    print(
        f"| replica lag p50 / p95, from the upload | {lag['upload_p50']:.2f} s / "
        f"{lag['upload_p95']:.2f} s | {lag['uploads']} uploads in {args.seconds:g} s "
        f"({lag['errors']} errors) |"
    )
    print(
        f"| replica lag p50 / p95, from placing the copy | {lag['placed_p50']:.2f} s / "
        f"{lag['placed_p95']:.2f} s | {lag['replicas']} replicas, {lag['mib']:.0f} MiB |"
    )
    ceiling = 2 * link
    print(
        f"| re-replication after `nodes lost` | {repair['mib_per_s']:.1f} MiB/s "
        f"({repair['copies']} copies, {repair['mib']:.0f} MiB in {repair['seconds']:.0f} s) "
        f"| {repair['mib_per_s'] / link:.2f}x one link, {repair['mib_per_s'] / ceiling:.2f}x "
        f"the ceiling of two links |"
    )


if __name__ == "__main__":
    main()
