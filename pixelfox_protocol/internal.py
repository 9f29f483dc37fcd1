"""Bodies of the internal API between storage nodes and the control app.

Node → app calls carry ``Authorization: Node <node_id>:<credential>`` and the
``X-Request-ID`` of the upload they belong to. Paths are pool-relative.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field

NODE_AUTH_SCHEME = "Node"

# On the app (node → app).
NODE_CONFIG_PATH = "/api/internal/v1/node/config"
HEARTBEAT_PATH = "/api/internal/v1/node/heartbeat"
UPLOAD_COMPLETE_PATH = "/api/internal/v1/uploads/complete"
VARIANTS_PATH = "/api/internal/v1/images/{image_uuid}/variants"
# POST: a node moved an image's files between the public and the private subtree.
VISIBILITY_PATH = "/api/internal/v1/images/{image_uuid}/visibility"
# POST: a node backed the original up (BackupReport); GET: the image's BackupRecord.
BACKUP_PATH = "/api/internal/v1/images/{image_uuid}/backup"
# POST: a node renamed an image's files on one pool into its trash or back (TrashReport).
TRASH_PATH = "/api/internal/v1/images/{image_uuid}/trash"
# POST: a node deleted an image's files on one pool for good (PurgeReport).
PURGED_PATH = "/api/internal/v1/images/{image_uuid}/purged"
# GET: a pool's originals with their SHA-256, a page at a time (BackupManifest).
POOL_BACKUPS_PATH = "/api/internal/v1/pools/{pool_id}/backups"

# GET: a pool's images with their original and variants, size and SHA-256, a page
# at a time (PoolFilesPage): what a scrub compares the disk with.
POOL_FILES_PATH = "/api/internal/v1/pools/{pool_id}/files"

# A move job on the source node: GET what to copy (MoveTicket), POST grant with the
# files it will push to another node (MoveGrantRequest → MoveGrant), POST switch when
# the copies are verified (MoveSwitch), POST outcome when the image is skipped or
# failed, or its pool is on another node now (the app hands the job over).
MOVE_IMAGE_PATH = "/api/internal/v1/moves/{move_id}/images/{image_id}"
MOVE_GRANT_PATH = MOVE_IMAGE_PATH + "/grant"
MOVE_SWITCH_PATH = MOVE_IMAGE_PATH + "/switch"
MOVE_OUTCOME_PATH = MOVE_IMAGE_PATH + "/outcome"
# A batch job of a move asks for the tickets of many images at once (MoveBatchRequest →
# MoveBatchTicket) and switches the verified ones in one transaction (MoveBatchSwitch →
# MoveBatchSwitched).
MOVE_BATCH_PATH = "/api/internal/v1/moves/{move_id}/batch"
MOVE_BATCH_SWITCH_PATH = MOVE_BATCH_PATH + "/switch"
# Replicas: the source node's ticket and grant for one pending copy; the target's report.
COPY_PATH = "/api/internal/v1/copies/{copy_id}"
COPY_GRANT_PATH = COPY_PATH + "/grant"
COPY_VERIFIED_PATH = COPY_PATH + "/verified"
# POST: a scrub repairs files of an image on one of the node's pools (RepairRequest →
# RepairPlan): the image's files as recorded and its verified copies on other nodes,
# each with a read grant for exactly the requested files.
REPAIR_PATH = "/api/internal/v1/images/{image_uuid}/repair"
# POST: after a database restore, a node proposes an original on its pool whose row is
# gone (AdoptProposal → AdoptResult), proven by the upload token the app signed for it.
ADOPT_PATH = "/api/internal/v1/images/adopt"

# On a node. The seed's names, kept: pools store the upload URL and clients use it.
# UPLOAD_PATH is the one browser-facing route among the internal ones: browsers
# (and scripts) post to it with an upload token the app handed out, never with a
# node credential; everything else under /api/internal/ is for nodes and the app.
UPLOAD_PATH = "/api/internal/upload"
# The same uploads over tus 1.0 (resumable): POST here creates one, at TUS_PATH/<id>.
TUS_PATH = UPLOAD_PATH + "/tus"
# Node → node, with a replication grant.
REPLICATE_PATH = "/api/internal/replicate"
# Node → node, with a read grant: GET one file of a verified copy (a scrub's repair).
COPY_FILE_PATH = "/api/internal/copy-file"


def node_authorization(node_id: str, credential: str) -> str:
    return f"{NODE_AUTH_SCHEME} {node_id}:{credential}"


class PoolInfo(BaseModel):
    id: int
    name: str
    base_path: str
    tier: str
    is_active: bool
    capacity_bytes: int = 0
    reserve_bytes: int = 0
    # S3 cold backup of the pool's originals; an empty bucket means no backup.
    backup_bucket: str = ""
    backup_prefix: str = ""


class UploadLimits(BaseModel):
    """The operator's upload knobs a node applies to the bytes (the token carries max_size)."""

    allowed_types: list[str] = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"]
    max_pixels: int = Field(default=100_000_000, ge=1)
    max_frames: int = Field(default=200, ge=1)


class NodeConfig(BaseModel):
    node_id: str
    pools: list[PoolInfo]
    upload_limits: UploadLimits = Field(default_factory=UploadLimits)
    # A digest of everything above (``config_version``): the heartbeat answer carries
    # the config, the node's next beat says which version it holds (``Heartbeat``).
    version: str = Field(default="", description="Digest of this pool map; changes with it")


def config_version(config: NodeConfig) -> str:
    """The digest a node acknowledges: the same for the same pools and limits."""
    body = config.model_dump_json(exclude={"version"})
    return hashlib.sha256(body.encode()).hexdigest()[:16]


class UploadCompletion(BaseModel):
    session_id: str
    image_uuid: str
    pool_id: int
    path: str = Field(description="Pool-relative path of the original")
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    mime: str
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    original_filename: str = ""


class AdoptProposal(BaseModel):
    """An original a node holds without a row: its journal's completion and upload token."""

    token: str = Field(min_length=1, max_length=4096, description="The upload token it came with")
    completion: UploadCompletion


class AdoptResult(BaseModel):
    image_uuid: str
    adopted: bool = Field(description="False: the image had a row already; nothing was made")
    view_url: str


class UploadResult(BaseModel):
    image_uuid: str
    view_url: str
    status_url: str


class VariantInfo(BaseModel):
    kind: str
    format: str
    path: str
    size: int = Field(ge=0)
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")
    width: int = Field(ge=0)
    height: int = Field(ge=0)


class VariantReport(BaseModel):
    state: Literal["ready", "failed"]
    variants: list[VariantInfo] = []
    error: str = ""


class VisibilityReport(BaseModel):
    """A node moved an image's original and variants into one subtree (``private/`` or not)."""

    private: bool = Field(description="True: the files are now under private/")
    path: str = Field(description="Pool-relative path of the original now")
    variants: list[str] = Field(default=[], description="Pool-relative paths of its variants now")


class TrashReport(BaseModel):
    """Where a node put an image's files on one of its pools: in the trash or back in place."""

    pool_id: int
    trashed: bool = Field(description="True: the files are in the pool's trash folder now")
    files: int = Field(ge=0, description="How many files were found (moved or already there)")


class TrashRecorded(BaseModel):
    """The app's answer: what it wants now (a job in the other direction may follow)."""

    image_uuid: str
    deleted: bool


class PurgeReport(BaseModel):
    """A node deleted an image's files on one of its pools, trashed or not, for good."""

    pool_id: int
    removed: int = Field(ge=0, description="Files deleted")
    bytes: int = Field(ge=0, description="Bytes they held")
    backup_deleted: bool = Field(default=False, description="The S3 backup object is gone")


class PurgeRecorded(BaseModel):
    image_uuid: str
    rows_deleted: bool


class PoolHeartbeat(BaseModel):
    pool_id: int
    free_bytes: int
    used_bytes: int
    capacity_bytes: int
    used_pct: float


class QuarantinedUpload(BaseModel):
    """An upload a node stored and the app then refused: kept aside on the node for an operator."""

    image_uuid: str
    pool_id: int | None = None
    code: str = Field(description="The app's error code, or UNREADABLE for a damaged record")
    since: float = Field(default=0.0, description="Unix time it was set aside (node's clock)")


class Heartbeat(BaseModel):
    node_id: str
    version: str
    pools: list[PoolHeartbeat]
    active_uploads: int = 0
    queue_depth: int = 0
    background_queue_depth: int = 0
    errors_per_minute: float = 0.0
    # Beats are begun every heartbeat interval, start to start; the app judges
    # freshness by its own receipt time, this is the node's clock (diagnostics).
    sent_at: float = Field(default=0.0, description="Unix time the node began this beat")
    quarantined_uploads: int = Field(
        default=0, description="Uploads the app refused after the node stored them"
    )
    quarantined: list[QuarantinedUpload] = Field(
        default=[], description="The newest of them (a few at most)"
    )
    pool_map_version: str = Field(
        default="", description="The NodeConfig version the node's storage service works with"
    )


class BackupReport(BaseModel):
    """A node copied an original to its pool's bucket and read back its SHA-256."""

    bucket: str = Field(min_length=1)
    key: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class BackupRecord(BaseModel):
    """What the app knows of an image's original: enough to restore and verify it."""

    image_uuid: str
    pool_id: int
    path: str = Field(description="Pool-relative path of the original")
    sha256: str
    size: int
    backed_up_at: str | None = Field(default=None, description="ISO 8601, None if never")


class BackupManifest(BaseModel):
    """One page of a pool's originals, in id order; ``next_after`` is None on the last."""

    pool_id: int
    items: list[BackupRecord]
    next_after: int | None = None


class PoolFile(BaseModel):
    """One file a pool should hold: pool-relative path, bytes and SHA-256 ("" if unknown)."""

    path: str
    size: int = Field(ge=0)
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")


class PoolImageFiles(BaseModel):
    """An image's files on one pool: its original and every variant row."""

    image_id: int
    image_uuid: str
    state: str = Field(description="processing, ready or failed")
    created_at: str = Field(description="ISO 8601")
    original: PoolFile
    variants: list[PoolFile] = []
    # (kind, format) of each variant row, in the order of ``variants``.
    kinds: list[str] = Field(default=[], description="'<kind>.<format>' of each variant")


class PoolFilesPage(BaseModel):
    """One page of a pool's images in id order; ``next_after`` is None on the last.

    ``moving_in``: a move into this pool is running or paused, so files without a
    row may be copies on their way in; a scrub does not call them orphans then.
    """

    pool_id: int
    items: list[PoolImageFiles]
    next_after: int | None = None
    moving_in: bool = False
    total: int = Field(default=0, description="Images on the pool now (a progress bar's length)")


class MoveFile(BaseModel):
    """One file of an image being moved: pool-relative path, the same in both pools."""

    path: str
    size: int = Field(ge=0)
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")


class PushTicket(BaseModel):
    """One image's files to push from a source pool to a target pool on another node:
    what a move's ticket and a replica's have in common (one copy engine pushes both)."""

    image_id: int
    image_uuid: str
    source_pool_id: int
    target_pool_id: int
    target_node_id: str
    replicate_url: str = Field(description="The target node's replicate endpoint")
    original: MoveFile
    variants: list[MoveFile] = []


class MoveTicket(PushTicket):
    """What a move job copies for one image, and the grant the target node accepts.

    ``where`` says where the image's rows point now: ``source`` (copy it),
    ``target`` (switched by an earlier run: only the source copies are left to
    delete) or ``elsewhere`` (moved or deleted by someone else: nothing to do).
    """

    move_id: int
    state: str = Field(description="The move's state; a job works only when 'running'")
    where: Literal["source", "target", "elsewhere"]


class MoveGrantRequest(BaseModel):
    """The files a move job will push to the target node, as it read them at the source."""

    files: list[MoveFile] = Field(
        min_length=1, max_length=256, description="The original and the variants to push"
    )


class MoveGrant(BaseModel):
    """A replication grant for exactly the requested files (``pixelfox_protocol.grants``)."""

    grant: str = Field(description="Bearer grant for the target's replicate API")
    max_bytes: int = Field(description="Bytes the grant allows, all files together")


class MoveSwitch(BaseModel):
    """A move job verified every copy at the target: switch the rows to the target pool."""

    original_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0, description="Bytes copied (original and variants)")
    missing_variants: list[str] = Field(
        default=[], description="Variant paths that were missing at the source"
    )


class MoveSwitched(BaseModel):
    switched: bool = Field(description="False: the rows were not on the source any more")
    where: Literal["source", "target", "elsewhere"]


# Images one batch job of a move carries at most.
MOVE_BATCH_MAX = 500


class MoveBatchRequest(BaseModel):
    """The images of one batch job, by id."""

    image_ids: list[int] = Field(min_length=1, max_length=MOVE_BATCH_MAX)


class MoveRefused(BaseModel):
    """An image of a batch the app gives no ticket for, with the single ticket's error code."""

    image_id: int
    code: str = Field(description="NOT_FOUND (deleted since planned) or VISIBILITY_CHANGING")


class MoveThrottle(BaseModel):
    """A move's rates now: a batch job takes at least as long as they allow (0: no limit)."""

    bytes_per_second: int = Field(default=0, ge=0)
    images_per_second: float = Field(default=0, ge=0)
    parallel: int = Field(default=0, ge=0, description="Files copied at once; 0: the default")


class MoveBatchTicket(BaseModel):
    """The tickets of a batch's images (each as ``MoveTicket``) and those refused."""

    move_id: int
    state: str = Field(description="The move's state; a job works only when 'running'")
    throttle: MoveThrottle = MoveThrottle()
    tickets: list[MoveTicket] = []
    refused: list[MoveRefused] = []


class MoveBatchItem(MoveSwitch):
    image_id: int


class MoveBatchSwitch(BaseModel):
    """The images of a batch whose copies are verified at the target: switch them all."""

    items: list[MoveBatchItem] = Field(min_length=1, max_length=MOVE_BATCH_MAX)


class MoveBatchSwitched(BaseModel):
    """Where each image's rows point after the switch (``MoveSwitched`` per image id)."""

    where: dict[int, Literal["source", "target", "elsewhere", "gone"]]


class MoveOutcome(BaseModel):
    """An image a move job did not move: skipped (deleted, moved by someone else),
    quarantined (its source original is missing or fails its hash) or failed.

    ``wrong-node``: the image's source pool is on another node now; the app puts
    the job on that node's lane (a node never writes into another node's queue).
    """

    state: Literal["skipped", "failed", "quarantined", "wrong-node"]
    error: str = Field(default="", max_length=2000)


class CopyTicket(PushTicket):
    """What a replica job pushes for one copy of an image, from which pool to which.

    ``state`` is the copy's: the job pushes only while it is ``pending``;
    ``verified`` (done, by this job's earlier run or another), ``lost`` or
    ``gone`` (the copy or its image was removed) end it.
    """

    copy_id: int
    state: Literal["pending", "verified", "lost", "gone"]


class CopyReport(BaseModel):
    """The target node verified every file of a copy as it wrote (or found) it."""

    files: list[MoveFile] = Field(
        min_length=1, max_length=256, description="Each file's path, size and SHA-256"
    )


class CopyRecorded(BaseModel):
    state: Literal["pending", "verified", "lost", "gone"]


class ReplicateQuery(BaseModel):
    """Where a replicated file goes on the target node, and what it must be."""

    pool_id: int
    path: str = Field(description="Pool-relative path, the same as at the source")
    size: int = Field(ge=0)
    sha256: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")


class ReplicateResult(BaseModel):
    pool_id: int
    path: str
    size: int
    sha256: str
    stored: bool = Field(description="False: the same file was already there")
    copy_state: str = Field(
        default="",
        description="For a replica grant: 'verified' once the app recorded the whole copy",
    )


class RepairRequest(BaseModel):
    """The files of an image a scrub found missing or damaged on one of the node's pools."""

    pool_id: int = Field(description="The asking node's pool, which must hold a copy")
    paths: list[str] = Field(
        default=[], max_length=256, description="Pool-relative paths of the files to bring back"
    )


class PeerCopy(BaseModel):
    """A verified copy of the image on another node, and a read grant for its files there."""

    node_id: str
    pool_id: int
    copy_file_url: str = Field(description="The peer's copy-file endpoint")
    grant: str = Field(description="Bearer read grant for exactly the requested files")


class RepairPlan(BaseModel):
    """Where a repair may fetch an image's files from, as the app knows them now.

    ``files`` are the requested files with their recorded size and SHA-256 ("" for a
    variant made before hashes were recorded: no source can be verified for it, and
    no grant names it). ``peers``: verified copies on other nodes whose heartbeat is
    fresh, the primary first. ``backup_*``: where the original's S3 backup lies (the
    primary pool's bucket and prefix), empty when that pool has no backup.
    """

    image_uuid: str
    pool_id: int
    primary: bool = Field(description="The pool holds the image's primary copy")
    original: MoveFile
    files: list[MoveFile] = []
    peers: list[PeerCopy] = []
    backup_bucket: str = ""
    backup_prefix: str = ""


class CopyFileQuery(BaseModel):
    """Which file of a verified copy a repairing node reads from this node."""

    pool_id: int
    path: str = Field(description="Pool-relative path, the same on every copy")
