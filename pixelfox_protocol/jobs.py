"""Every job on the queues, its name and its arguments, and the JSON they travel in.

The app enqueues node jobs and the control worker's planner; nodes run them.
Both sides take the names and argument types from here, so a job cannot be
enqueued under a name the worker does not know, nor with arguments its
function does not take. Arguments travel as keyword arguments (a JSON object
whose keys are the job function's parameter names); job ids are in
``keys.RedisKeys``.

Queues carry JSON, never pickle: arq's default serializer is pickle, and a
pickled job is code, run by whoever reads it. :data:`SERIALIZERS` goes to
every arq client (``create_pool``) and worker (``Worker``): :func:`dumps`
writes jobs and results, :func:`loads` reads them and refuses (raises
:class:`UnreadableJob`, and logs) anything that is not a JSON job of a known
shape: a pickled payload, unknown fields, arguments of the wrong type. arq's
worker then records the job as failed without running it and goes on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, fields
from typing import Any, ClassVar, Self, TypedDict

from pydantic import ConfigDict, ValidationError
from pydantic.dataclasses import dataclass

log = logging.getLogger(__name__)

# Node jobs: fresh lane (processing, visibility) and background lane (the rest).
PROCESS_IMAGE = "process_image"
CHANGE_VISIBILITY = "change_visibility"
BACKUP_ORIGINAL = "backup_original"
MOVE_IMAGE = "move_image"
MOVE_BATCH = "move_batch"
TRASH_IMAGE = "trash_image"
PURGE_IMAGE = "purge_image"
REPLICATE_IMAGE = "replicate_image"
PING = "ping"
# Control worker jobs.
PLAN_MOVE = "plan_move"
# Cron jobs, named per queue (:func:`cron_name`); they take no arguments.
SWEEP_TEMP_FILES = "sweep_temp_files"  # node, background lane
SCRUB_POOLS = "scrub_pools"  # node, background lane: a slice of the scheduled scrub
SWEEP_STUCK_IMAGES = "sweep_stuck_images"  # control
CHECK_UPLOAD_APIS = "check_upload_apis"  # control
SYNC_REDIS_USERS = "sync_redis_users"  # control
PURGE_TRASH = "purge_trash"  # control
CHECK_COPIES = "check_copies"  # control
CHECK_CERTIFICATES = "check_certificates"  # control: public hosts' certificate expiry
PUBLISH_BACKUP_STATE = "publish_backup_state"  # control: the last database backup's time
ENFORCE_MOVE_WINDOWS = "enforce_move_windows"  # control: moves paused outside their window
CRON_JOBS = frozenset(
    {
        SWEEP_TEMP_FILES,
        SCRUB_POOLS,
        SWEEP_STUCK_IMAGES,
        CHECK_UPLOAD_APIS,
        SYNC_REDIS_USERS,
        PURGE_TRASH,
        CHECK_COPIES,
        CHECK_CERTIFICATES,
        PUBLISH_BACKUP_STATE,
        ENFORCE_MOVE_WINDOWS,
    }
)

# Strict: 1 is not "1", True is not 1, and a field nobody declared is refused.
_STRICT = ConfigDict(strict=True, extra="forbid")


def cron_name(queue: str, job: str) -> str:
    """A cron job's name on ``queue``: arq derives the cron's job id from its name
    alone, and installations (or nodes) sharing a Redis must not suppress each
    other's runs, so the name carries the queue and with it the Redis prefix."""
    return f"{queue}:{job}"


class JobArgs:
    """Base of the argument types: ``NAME`` is the job, the fields its keyword arguments."""

    NAME: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Parse plain JSON (a dict of the fields); raises :class:`UnreadableJob`."""
        if not isinstance(data, dict):
            raise UnreadableJob(f"{cls.NAME}: arguments are not an object")
        try:
            return cls(**data)
        except (ValidationError, TypeError) as exc:
            raise UnreadableJob(f"{cls.NAME}: {_first_error(exc)}") from exc

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]


@dataclass(frozen=True, config=_STRICT)
class ProcessImage(JobArgs):
    """Make an image's variants (fresh lane; background lane for backfills and restores)."""

    NAME: ClassVar[str] = PROCESS_IMAGE
    image_uuid: str
    pool_id: int
    path: str
    request_id: str
    force: bool = False  # encode again although the variants exist (backfills)


@dataclass(frozen=True, config=_STRICT)
class ChangeVisibility(JobArgs):
    """Move an image's files into the private subtree (or out of it), fresh lane."""

    NAME: ClassVar[str] = CHANGE_VISIBILITY
    image_uuid: str
    pool_id: int
    path: str
    private: bool
    request_id: str


@dataclass(frozen=True, config=_STRICT)
class BackupOriginal(JobArgs):
    """Copy an original to its pool's S3 bucket, background lane."""

    NAME: ClassVar[str] = BACKUP_ORIGINAL
    image_uuid: str
    pool_id: int
    path: str
    sha256: str
    request_id: str


@dataclass(frozen=True, config=_STRICT)
class MoveImage(JobArgs):
    """Move one image of a move to its target, background lane of the source node."""

    NAME: ClassVar[str] = MOVE_IMAGE
    move_id: int
    image_id: int
    source_pool_id: int
    request_id: str = ""


@dataclass(frozen=True, config=_STRICT)
class MoveBatch(JobArgs):
    """Move a batch of a move's images to its target, background lane of the source node."""

    NAME: ClassVar[str] = MOVE_BATCH
    move_id: int
    image_ids: list[int]
    source_pool_id: int
    request_id: str = ""


@dataclass(frozen=True, config=_STRICT)
class TrashImage(JobArgs):
    """Rename an image's files on one pool into its trash folder (or back), fresh lane."""

    NAME: ClassVar[str] = TRASH_IMAGE
    image_uuid: str
    pool_id: int
    path: str  # the original's path as the app knows it (its date files the variants)
    trashed: bool  # True: into the trash; False: back where they were (a restore)
    request_id: str


@dataclass(frozen=True, config=_STRICT)
class PurgeImage(JobArgs):
    """Delete an image's files on one pool for good (and its S3 backup), background lane."""

    NAME: ClassVar[str] = PURGE_IMAGE
    image_uuid: str
    pool_id: int
    path: str
    backup: bool  # also delete the original's object in the pool's backup bucket
    request_id: str


@dataclass(frozen=True, config=_STRICT)
class ReplicateImage(JobArgs):
    """Push one pending copy of an image to its target, background lane of the source node."""

    NAME: ClassVar[str] = REPLICATE_IMAGE
    copy_id: int
    image_uuid: str
    source_pool_id: int
    request_id: str = ""


@dataclass(frozen=True, config=_STRICT)
class Ping(JobArgs):
    """Answer with the node id: proves a lane picks up work."""

    NAME: ClassVar[str] = PING


@dataclass(frozen=True, config=_STRICT)
class PlanMove(JobArgs):
    """Enqueue the next batch of a move's images (control queue)."""

    NAME: ClassVar[str] = PLAN_MOVE
    move_id: int
    cursor: int


@dataclass(frozen=True, config=_STRICT)
class NoArguments(JobArgs):
    """A cron job's (empty) arguments."""

    NAME: ClassVar[str] = "cron"


ARGUMENTS: dict[str, type[JobArgs]] = {
    kind.NAME: kind
    for kind in (
        ProcessImage,
        ChangeVisibility,
        BackupOriginal,
        MoveImage,
        MoveBatch,
        TrashImage,
        PurgeImage,
        ReplicateImage,
        Ping,
    )
}
ARGUMENTS[PlanMove.NAME] = PlanMove


class UnreadableJob(ValueError):
    """A job or result that is not a JSON job of a known shape; it is never run."""


class JobError(Exception):
    """A failed job's exception as a result carries it: its type's name and its message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def describe(self) -> str:
        return f"{self.kind}: {self.message}"


def arguments_of(function: str) -> type[JobArgs]:
    """The argument type of the job named ``function``; cron jobs take none."""
    if function in ARGUMENTS:
        return ARGUMENTS[function]
    if function.rsplit(":", 1)[-1] in CRON_JOBS:
        return NoArguments
    raise UnreadableJob(f"unknown job {function[:80]!r}")


def check(function: Any, args: Any, kwargs: Any) -> dict[str, Any]:
    """The keyword arguments of a job, checked against its type; raises :class:`UnreadableJob`."""
    if not isinstance(function, str):
        raise UnreadableJob("the job has no name")
    if args:
        raise UnreadableJob(f"{function[:80]}: positional arguments (only named ones travel)")
    return arguments_of(function).from_json(kwargs).to_json()


class Serializers(TypedDict):
    job_serializer: Any
    job_deserializer: Any


def dumps(data: dict[str, Any]) -> bytes:
    """arq's job or result record as JSON; a result's exception as ``{"error": …}``."""
    return json.dumps(data, default=_plain, separators=(",", ":")).encode()


def loads(raw: bytes | str) -> dict[str, Any]:
    """arq's job or result record from JSON, checked; raises (and logs) :class:`UnreadableJob`."""
    try:
        return _loads(raw)
    except UnreadableJob as exc:
        log.error("refused a queued job or result: %s", exc)
        raise


SERIALIZERS: Serializers = {"job_serializer": dumps, "job_deserializer": loads}


def _loads(raw: bytes | str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, TypeError) as exc:
        # Pickle's first byte (0x80) is not JSON: a pickled job ends here, unrun.
        raise UnreadableJob("not JSON (a pickled job?)") from exc
    if not isinstance(data, dict) or not isinstance(data.get("f"), str):
        raise UnreadableJob("not an arq job record")
    data["a"] = tuple(data.get("a") or ())
    data["k"] = data.get("k") or {}
    if not isinstance(data.get("et"), int) or not isinstance(data.get("t"), int | None):
        raise UnreadableJob(f"{data['f'][:80]}: bad try count or enqueue time")
    if "s" in data:  # a result: arq writes "<unknown>" for a job it could not read
        failed = data["s"] is False and isinstance(data.get("r"), dict)
        if failed and set(data["r"]) == {"error"}:
            data["r"] = _error(data["r"]["error"])
        if data["f"] == UNKNOWN_FUNCTION:
            return data
    data["k"] = check(data["f"], data["a"], data["k"])
    return data


# What arq writes as the function of a job it could not read.
UNKNOWN_FUNCTION = "<unknown>"


def _plain(value: Any) -> Any:
    if isinstance(value, BaseException):
        message = str(value)
        if value.__cause__ is not None:  # arq wraps our UnreadableJob: keep the reason
            message = f"{message}: {value.__cause__}"
        return {"error": {"type": type(value).__name__, "message": message[:1000]}}
    raise TypeError(f"{type(value).__name__} is not plain JSON")


def _error(data: Any) -> JobError:
    if not isinstance(data, dict):
        return JobError("Error", str(data)[:1000])
    return JobError(str(data.get("type", "Error"))[:100], str(data.get("message", ""))[:1000])


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}"
    return str(exc)
