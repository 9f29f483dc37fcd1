"""The job contract: names and arguments written once, and queues that carry JSON only."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from typing import Any

import pytest
from arq.jobs import deserialize_result, serialize_job, serialize_result
from arq.worker import Function

from pixelfox_app.control_worker.worker import CONTROL_FUNCTIONS
from pixelfox_protocol import jobs
from pixelfox_protocol.keys import RedisKeys
from pixelfox_storage.node_worker.lanes import BACKGROUND_FUNCTIONS, FRESH_FUNCTIONS

NOW = 1_700_000_000_000  # fixed: test ids are made of the records


def _registered() -> list[Function]:
    return [*FRESH_FUNCTIONS, *BACKGROUND_FUNCTIONS, *CONTROL_FUNCTIONS]


@pytest.mark.parametrize("function", _registered(), ids=lambda f: f.name)
def test_every_worker_function_takes_exactly_its_contract_arguments(function: Function) -> None:
    kind = jobs.ARGUMENTS[function.name]
    params = list(inspect.signature(function.coroutine).parameters.values())[1:]  # after ctx
    defaults = {f.name: f.default for f in dataclasses.fields(kind)}  # type: ignore[arg-type]

    assert [p.name for p in params] == kind.field_names()
    for param in params:
        expected = param.default if param.default is not param.empty else dataclasses.MISSING
        assert defaults[param.name] == expected, param.name


def test_every_contract_job_has_a_worker() -> None:
    assert {f.name for f in _registered()} == set(jobs.ARGUMENTS)


def _job(function: str, kwargs: dict[str, Any], args: tuple[Any, ...] = ()) -> bytes:
    return serialize_job(function, args, kwargs, None, NOW, serializer=jobs.dumps)


def test_a_job_travels_as_json_with_named_arguments() -> None:
    args = jobs.MoveImage(move_id=3, image_id=7, source_pool_id=1, request_id="r")

    raw = _job(args.NAME, args.to_json())

    assert raw.startswith(b"{") and b'"move_id":3' in raw
    assert jobs.loads(raw)["k"] == args.to_json()
    assert jobs.MoveImage.from_json(jobs.loads(raw)["k"]) == args


class _Anything:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (print, ("unpickled",))


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (pickle.dumps({"f": "ping", "a": (_Anything(),), "k": {}, "t": None, "et": NOW}), "JSON"),
        (b"[1, 2]", "not an arq job"),
        (_job("os.system", {"command": "true"}), "unknown job"),
        (_job(jobs.PING, {}, ("positional",)), "positional"),
        (_job(jobs.PLAN_MOVE, {"move_id": "1", "cursor": 0}), "move_id"),
        (_job(jobs.PLAN_MOVE, {"move_id": True, "cursor": 0}), "move_id"),
        (_job(jobs.PLAN_MOVE, {"move_id": 1}), "cursor"),
        (_job(jobs.PLAN_MOVE, {"move_id": 1, "cursor": 0, "shell": "rm"}), "shell"),
        (_job(f"pf:node:s01:{jobs.SWEEP_TEMP_FILES}", {"older_than": 1}), "older_than"),
    ],
    ids=["pickle", "list", "unknown", "positional", "str-for-int", "bool-for-int", "missing",
         "extra", "cron-args"],
)  # fmt: skip
def test_anything_but_a_json_job_of_the_contract_is_refused_and_logged(
    raw: bytes, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(jobs.UnreadableJob, match=why):
        jobs.loads(raw)
    assert "refused a queued job or result" in caplog.text


def test_a_cron_job_of_any_queue_needs_no_arguments() -> None:
    name = jobs.cron_name("pf:control", jobs.SWEEP_STUCK_IMAGES)
    assert jobs.loads(_job(name, {}))["f"] == name


def test_a_failed_jobs_exception_comes_back_as_a_job_error() -> None:
    raw = serialize_result(
        jobs.PING, (), {}, 2, NOW, False, RuntimeError("no"), NOW, NOW, "ref", "q", "pf:ping:1",
        serializer=jobs.dumps,
    )  # fmt: skip
    assert raw is not None

    result = deserialize_result(raw, deserializer=jobs.loads)

    assert isinstance(result.result, jobs.JobError)
    assert result.result.describe() == "RuntimeError: no"


def test_a_result_that_is_not_json_is_not_turned_into_an_exception() -> None:
    raw = serialize_result(
        jobs.PING, (), {}, 1, NOW, True, {"error": "a job's own field"}, NOW, NOW, "ref", "q",
        "pf:ping:2", serializer=jobs.dumps,
    )  # fmt: skip
    assert raw is not None
    assert deserialize_result(raw, deserializer=jobs.loads).result == {"error": "a job's own field"}


def test_every_job_id_carries_the_installation_prefix() -> None:
    keys = RedisKeys("install-a")
    ids = [
        keys.process_job("s01", "u"),
        keys.backup_job("s01", "u"),
        keys.visibility_job("s01", "u", True),
        keys.restore_job("s01", "u"),
        keys.move_job("s01", 1, 2),
        keys.move_plan_job(1, 0),
    ]
    assert all(i.startswith("install-a:") for i in ids)
    assert len(set(ids)) == len(ids)
    assert RedisKeys("install-b").process_job("s01", "u") != keys.process_job("s01", "u")


def test_every_key_and_job_id_a_node_writes_starts_with_its_scope() -> None:
    keys = RedisKeys("install-a")
    scope = keys.node_scope("s01") + ":"
    written = [
        keys.node_token_jti("s01", "j"),
        keys.image_lock("s01", "u"),
        keys.node_background_queue("s01"),
        keys.process_job("s01", "u"),
        keys.backup_job("s01", "u"),
        keys.visibility_job("s01", "u", False),
        keys.restore_job("s01", "u"),
        keys.move_job("s01", 1, 2),
    ]
    assert all(name.startswith(scope) for name in written)
    # One node's scope is never a prefix of another's ("s1" and "s10").
    assert not keys.process_job("s10", "u").startswith(keys.node_scope("s1") + ":")
