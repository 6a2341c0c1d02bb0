"""File sinks: alerts as JSON Lines, and dead letters with their reasons."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import BinaryIO

import orjson

from detectors.records import Alert
from stream.exceptions import SinkError


class _LineFileSink:
    """Shared buffering of JSON lines into a binary stream."""

    def __init__(self, out: BinaryIO, close_stream: bool) -> None:
        self._out = out
        self._close_stream = close_stream
        self._buf: list[bytes] = []
        self.written = 0

    def _add_line(self, line: bytes) -> None:
        self._buf.append(line)

    def flush(self) -> None:
        """Write buffered lines and flush the stream."""
        if not self._buf:
            return
        try:
            self._out.write(b"".join(self._buf))
            self._out.flush()
        except (OSError, ValueError) as exc:
            raise SinkError(
                f"cannot write to {getattr(self._out, 'name', 'stream')}: {exc}"
            ) from exc
        self.written += len(self._buf)
        self._buf.clear()

    def close(self) -> None:
        """Flush, then close the stream if this sink opened it."""
        self.flush()
        if self._close_stream:
            self._out.close()


class JsonlAlertSink(_LineFileSink):
    """Write alerts as JSON Lines (contract: alert v1), one object per line.

    Args:
        out: a binary stream (a file opened ``"wb"`` or ``sys.stdout.buffer``).
        close_stream: close ``out`` on ``close()`` (for files the sink owns).

    """

    def add(self, item: Alert) -> None:
        """Buffer one alert."""
        self._add_line(orjson.dumps(item.to_dict()) + b"\n")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A bad record with where it came from (line number or offset) and why it was rejected."""

    position: int
    reason: str
    detail: str
    raw: bytes


class DeadLetterFileSink(_LineFileSink):
    """Write dead letters as JSON Lines: line number, reason, detail and the raw record.

    The raw record is kept whole: as text in ``raw`` when it is valid UTF-8, else
    base64 in ``raw_b64``, so nothing is lost.
    """

    def add(self, item: DeadLetter) -> None:
        """Buffer one dead letter."""
        record: dict[str, object] = {
            "line": item.position,
            "reason": item.reason,
            "detail": item.detail,
        }
        try:
            record["raw"] = item.raw.decode("utf-8")
        except UnicodeDecodeError:
            record["raw_b64"] = base64.b64encode(item.raw).decode("ascii")
        self._add_line(orjson.dumps(record) + b"\n")
