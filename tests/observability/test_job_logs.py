"""Workers: a job's lines carry its id and the upload's request id; its duration is observed."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from arq import Retry
from prometheus_client import REGISTRY

from pixelfox_common import logs, metrics


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure(service="node-worker", fmt="json", stream=stream, node_id="s01")
    yield stream
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "pixelfox"]:
        root.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _jobs(kind: str, outcome: str) -> float:
    labels = {"kind": kind, "outcome": outcome}
    return REGISTRY.get_sample_value("pixelfox_job_duration_seconds_count", labels) or 0.0


@metrics.observed_job("process")
async def process_image(ctx: dict[str, Any], image_uuid: str, request_id: str) -> str:
    # A plain stdlib logger, as job modules use.
    logging.getLogger("pixelfox_storage.node_worker.jobs").info("variants ready")
    if image_uuid == "retry":
        raise Retry(defer=1)
    if image_uuid == "broken":
        raise ValueError("cannot decode")
    return "ready"


def test_a_jobs_lines_carry_the_uploads_request_id_and_the_job_id(
    log_stream: io.StringIO,
) -> None:
    before = _jobs("process", "ok")
    ctx = {"job_id": "process:1234", "job_try": 1}

    result = asyncio.run(process_image(ctx, "1234", "upload-abcdef123456"))

    assert result == "ready"
    line = _lines(log_stream)[-1]
    assert line["event"] == "variants ready"
    assert line["request_id"] == "upload-abcdef123456"
    assert line["job_id"] == "process:1234"
    assert line["job"] == "process"
    assert line["node_id"] == "s01"
    assert line["service"] == "node-worker"
    assert _jobs("process", "ok") == before + 1


def test_a_request_id_passed_by_keyword_is_bound_too(log_stream: io.StringIO) -> None:
    asyncio.run(process_image({"job_id": "process:kw"}, "kw", request_id="keyword-0123456"))

    assert _lines(log_stream)[-1]["request_id"] == "keyword-0123456"


def test_a_job_without_a_valid_request_id_groups_its_lines_by_job_id(
    log_stream: io.StringIO,
) -> None:
    asyncio.run(process_image({"job_id": "process:5678"}, "5678", "bad id!"))

    assert _lines(log_stream)[-1]["request_id"] == "process:5678"


def test_retries_and_failures_are_observed_by_outcome(log_stream: io.StringIO) -> None:
    retries, errors = _jobs("process", "retry"), _jobs("process", "error")

    with pytest.raises(Retry):
        asyncio.run(process_image({"job_id": "process:r"}, "retry", "upload-retry0001"))
    with pytest.raises(ValueError):
        asyncio.run(process_image({"job_id": "process:b"}, "broken", "upload-broken001"))

    assert _jobs("process", "retry") == retries + 1
    assert _jobs("process", "error") == errors + 1


def test_the_job_context_is_gone_after_the_job(log_stream: io.StringIO) -> None:
    async def scenario() -> None:
        logs.bind(request_id="outer-request-0001")
        await process_image({"job_id": "process:c"}, "c", "inner-request-0001")
        logging.getLogger("after").info("after the job")

    asyncio.run(scenario())

    last = _lines(log_stream)[-1]
    assert last["event"] == "after the job"
    assert last["request_id"] == "outer-request-0001"
    assert "job_id" not in last


def test_exceptions_are_logged_as_text_without_local_variables(log_stream: io.StringIO) -> None:
    secret = "token-that-must-not-leak"

    def fail(token: str) -> None:
        raise RuntimeError("boom")

    try:
        fail(secret)
    except RuntimeError:
        logging.getLogger("pixelfox.test").exception("failed")

    line = _lines(log_stream)[-1]
    assert "RuntimeError: boom" in line["exception"]
    assert secret not in log_stream.getvalue()
