"""The multipart/form-data parse of an upload: its one ``file`` part into a sink, the rest skipped.

One parse for every way a form is read: streamed into an upload (whose
:class:`~.upload.Upload` is the sink), and on a storage host by the nginx-spool
follower while nginx still writes the body (its copy of the part is the sink),
so that both agree on what the form carries.
"""

from __future__ import annotations

from typing import Protocol

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from pixelfox_protocol.errors import APIError

from .limits import MULTIPART_OVERHEAD


class PartSink(Protocol):
    """Where the file part's bytes go."""

    def open(self, filename: str) -> None:
        """The file part begins; ``filename`` as the client sent it (may be empty)."""

    def write(self, data: bytes | memoryview) -> None:
        """More of the file part; ``data`` (a view of the fed chunk) does not change later."""


def form_boundary(content_type: str, field: str = "file") -> bytes:
    """The boundary of a multipart/form-data Content-Type, or BAD_REQUEST."""
    mimetype, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if mimetype != b"multipart/form-data" or not boundary:
        raise APIError(
            "BAD_REQUEST",
            f"Send the file as multipart/form-data field '{field}', or PUT the raw image.",
        )
    return bytes(boundary)


class FormParser:
    """Feed it a form's bytes in pieces; the ``field`` part goes to ``sink``.

    Exactly one ``field`` part is taken (a second is BAD_REQUEST); other fields
    are skipped but may carry no more than :data:`MULTIPART_OVERHEAD` bytes. What
    the sink raises while taking the part (a size or type refusal) comes out of
    :meth:`feed` as it is.
    """

    def __init__(self, boundary: bytes, sink: PartSink, field: str = "file") -> None:
        self.sink = sink
        self.field = field
        self.has_file = False  # the field's part has begun
        self.file_done = False  # ... and ended
        self.ended = False  # the closing boundary came
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._in_file = False
        self._other_bytes = 0
        try:
            self._parser = MultipartParser(boundary, self._callbacks())  # type: ignore[arg-type]
        except (MultipartParseError, ValueError) as exc:
            raise APIError("BAD_REQUEST", "The multipart boundary is not valid.") from exc

    @property
    def complete(self) -> bool:
        """The form ended cleanly, with its file part."""
        return self.ended and self.file_done

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise APIError("BAD_REQUEST", "The multipart body is malformed.") from exc

    def _callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }

    def _on_part_begin(self) -> None:
        self._disposition = b""
        self._in_file = False

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if bytes(self._header_name).strip().lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        _, params = parse_options_header(self._disposition)
        if params.get(b"name", b"").decode("latin-1") != self.field:
            return
        if self.has_file:
            raise APIError("BAD_REQUEST", f"Send exactly one '{self.field}' part.")
        self.has_file = True
        raw_name = params.get(b"filename", b"")
        # Browsers send UTF-8 names; python-multipart hands us the raw bytes.
        self.sink.open(raw_name.decode("utf-8", errors="replace"))
        self._in_file = True

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.sink.write(memoryview(data)[start:end])
            return
        self._other_bytes += end - start
        if self._other_bytes > MULTIPART_OVERHEAD:
            raise APIError("BAD_REQUEST", "The form carries too much besides the file.")

    def _on_part_end(self) -> None:
        if self._in_file:
            self.file_done = True
            self._in_file = False

    def _on_end(self) -> None:
        self.ended = True
