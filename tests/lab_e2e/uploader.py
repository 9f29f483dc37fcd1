"""A script using the seed's upload flow against the lab: the e2e tests' uploading client."""

from __future__ import annotations

import time
from typing import Any

from tests.app import images
from tests.lab_e2e.conftest import NODES, Client
from tests.lab_e2e.stack import LabStack

# Node-level failures after which a client asks for a session elsewhere.
NODE_FAILED = {0, 502, 503, 504}


class Uploader:
    """A session with an API token, then multipart to the node the session names."""

    def __init__(self, client: Client, stack: LabStack, tokens: dict[str, str]) -> None:
        self.client = client
        self.stack = stack
        self.user = {"Authorization": f"Bearer {tokens['ada']}"}
        self.admin = {"Authorization": f"Bearer {tokens['root']}"}
        self.data = images.jpeg(96, 64)

    def session(self, size: int | None = None, **body: Any) -> dict[str, Any]:
        answer = self.client.request(
            "POST",
            f"{self.stack.app_url}/api/v1/upload/sessions",
            headers=self.user,
            json={"file_size": size or len(self.data), "filename": "cat.jpg", **body},
        )
        assert answer["status"] == 201, answer
        session: dict[str, Any] = answer["json"]
        return session

    def upload(self, data: bytes | None = None) -> tuple[str, dict[str, Any], list[str]]:
        """Upload one file; on a node-level failure ask again avoiding that node.

        Returns (node it landed on, the node's answer, nodes that failed first).
        """
        data = data or self.data
        failed: list[str] = []
        for _ in range(len(NODES)):
            session = self.session(len(data), avoid_nodes=failed)
            answer = self.client.upload(session, data)
            if answer["status"] in NODE_FAILED:
                failed.append(session["node_id"])
                continue
            # 202: stored and fsynced, the node's report to the app still on its way
            # (the node's outbox delivers it): the upload is answered all the same.
            assert answer["status"] in (201, 202), answer
            return session["node_id"], answer["json"], failed
        raise AssertionError(f"every node failed: {failed}")

    def explain(self) -> dict[str, Any]:
        """The admin's view of the next placement (asks for a one-byte session)."""
        answer = self.client.request(
            "POST",
            f"{self.stack.app_url}/api/v1/upload/sessions",
            headers=self.admin,
            params={"explain": "1"},
            json={"file_size": 1, "filename": "probe.jpg"},
        )
        body = answer["json"]
        if answer["status"] == 201:
            placement: dict[str, Any] = body["placement"]
        else:
            placement = body["error"]["details"]["placement"]
        return placement

    def reason(self, node_id: str) -> str:
        """Why the explanation skipped ``node_id``'s pool ("" when it was a candidate)."""
        pool_id = self.stack.nodes[node_id].pool_id
        placement = self.explain()
        return next((v["reason"] for v in placement["skipped"] if v["pool_id"] == pool_id), "")

    def ready_status(self, result: dict[str, Any], seconds: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            status = self.client.request("GET", result["status_url"], headers=self.user)
            # 404 until a 202's report has reached the app.
            state = status["json"].get("state") if status["status"] != 404 else "processing"
            if state != "processing" or time.monotonic() > deadline:
                body: dict[str, Any] = status["json"]
                return body
            time.sleep(0.5)
