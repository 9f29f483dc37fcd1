"""Ingest one uploaded image into a pool: stream, hash, judge, commit — or leave nothing.

Shared by the storage node's upload endpoint and the app's proxy mode, which
both call :func:`receive`, so both apply the very same checks and error codes.

Usage::

    from pixelfox_common import ingest

    limits = ingest.IngestLimits(max_size=token_max_size)       # plus operator knobs
    multipart = ingest.is_form_upload(request.method)
    ingest.check_declared_length(request.content_length, limits, multipart=multipart)
    result = await ingest.receive(
        request, pool_base=Path(pool.base_path), image_uuid=claims.image_uuid, limits=limits,
    )
    result.path      # pool-relative: original/YYYY/MM/DD/<uuid>.<ext>
                     # (private=True: private/original/…, the signed-links-only subtree)
    result.sha256, result.size, result.mime, result.width, result.height, result.filename

``before_commit=async fn(result)`` is called once the file passed every check,
right before it is linked into place (the storage node writes its durable
outbox record there, so no committed file is ever unaccounted for).

The modules, in the order an upload meets them:

- :mod:`.limits` — what an upload may be (:class:`IngestLimits`) and the
  declared-length check that needs no byte of the body;
- :mod:`.receive` — :func:`receive` for a request, or :func:`ingest_raw` and
  :func:`ingest_multipart` for a body (any async iterator of byte chunks, e.g.
  a :class:`~pixelfox_common.streambody.StreamBody`, or a
  :class:`~.written.WrittenBody` a front server wrote to disk);
- :mod:`.form` — the multipart parse (:class:`FormParser`), public so that the
  node's nginx-spool follower parses a form exactly as ingest does;
- :mod:`.upload` — one upload's pending file, the checks while it fills, the
  shielded commit; :mod:`.incoming` — the temporary file in
  ``<pool>/.incoming/`` and :func:`sweep_incoming` for those of killed
  processes (the caller schedules it);
- :mod:`.result` — what the upload became (:class:`IngestResult`).

Errors are :class:`~pixelfox_protocol.errors.APIError`; the codes are in
``pixelfox_protocol/errors.py``. Every failure, including the caller being
cancelled (client gone), deletes the temporary file; a cancellation during the
final commit undoes the commit.
"""

from .form import FormParser, PartSink, form_boundary
from .incoming import BlockingIncomingFile, IncomingFile, sweep_folder, sweep_incoming
from .limits import DEFAULT_TYPES, MULTIPART_OVERHEAD, IngestLimits, check_declared_length
from .receive import (
    check_declared_type,
    ingest_multipart,
    ingest_raw,
    is_form_upload,
    raw_filename,
    receive,
)
from .result import BeforeCommit, IngestResult
from .upload import PendingFile
from .written import FollowedPart, WrittenBody

__all__ = [
    "DEFAULT_TYPES",
    "MULTIPART_OVERHEAD",
    "BeforeCommit",
    "BlockingIncomingFile",
    "FollowedPart",
    "FormParser",
    "IncomingFile",
    "IngestLimits",
    "IngestResult",
    "PartSink",
    "PendingFile",
    "WrittenBody",
    "check_declared_length",
    "check_declared_type",
    "form_boundary",
    "ingest_multipart",
    "ingest_raw",
    "is_form_upload",
    "raw_filename",
    "receive",
    "sweep_folder",
    "sweep_incoming",
]
