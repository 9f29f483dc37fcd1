"""An HTTP client that runs inside the lab's controller namespace, driven over stdin/stdout.

The test process lives outside the lab and cannot reach lab addresses; this
process can (and resolves ``*.pixelfox.test`` through the controller's
/etc/hosts). One JSON request per line in, one JSON answer per line out:

    {"method": "POST", "url": "...", "headers": {...}, "json": {...}}
    {"method": "POST", "url": "...", "files": {"file": ["a.jpg", "<base64>", "image/jpeg"]}}
    {"method": "GET", "url": "...", "digest": true}     # answer: sha256 + size, not the body
    {"method": "GET", "url": "...", "follow": true}     # follow redirects (answer: history, url)

Answers: ``{"status", "json"|"text", "headers", "sha256"?, "size"?, "history"?, "url"?,
"error"?, "seconds"}``;
``status`` 0 with ``error`` means the request failed at the network level.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import time
from typing import Any

import httpx


def handle(client: httpx.Client, order: dict[str, Any]) -> dict[str, Any]:
    files = {
        field: (name, base64.b64decode(data), ctype)
        for field, (name, data, ctype) in (order.get("files") or {}).items()
    }
    started = time.monotonic()
    try:
        response = client.request(
            order["method"],
            order["url"],
            headers=order.get("headers"),
            json=order.get("json"),
            files=files or None,
            params=order.get("params"),
            follow_redirects=bool(order.get("follow")),
        )
    except httpx.HTTPError as exc:
        return {"status": 0, "error": f"{type(exc).__name__}: {exc}", "seconds": 0.0}
    answer: dict[str, Any] = {
        "status": response.status_code,
        "headers": dict(response.headers),
        "seconds": round(time.monotonic() - started, 3),
    }
    if order.get("follow"):
        answer["history"] = [r.status_code for r in response.history]
        answer["url"] = str(response.url)
    if order.get("digest"):
        answer["sha256"] = hashlib.sha256(response.content).hexdigest()
        answer["size"] = len(response.content)
        return answer
    try:
        answer["json"] = response.json()
    except ValueError:
        answer["text"] = response.text[:2000]
    return answer


def main() -> None:
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        for line in sys.stdin:
            if not line.strip():
                continue
            print(json.dumps(handle(client, json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
