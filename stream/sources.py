"""Sources of raw records: replay files (``.jsonl``, ``.jsonl.gz``, standard input).

A source yields ``(position, raw bytes)`` pairs in the order given; the position is
the 1-based line number, so a dead letter says where its record came from. Any
iterable of such pairs is a source, which is how tests feed records from memory.
"""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from stream.exceptions import SourceError

_GZIP_MAGIC = b"\x1f\x8b"


@contextmanager
def open_binary(path: str) -> Iterator[io.BufferedIOBase]:
    """Open ``path`` for reading bytes, ``-`` meaning standard input; gunzip if gzipped.

    Gzip is recognised by its magic bytes, so a ``.gz`` file and gzipped standard
    input both work, and a mis-named file does not.
    """
    try:
        raw: io.BufferedReader = (
            io.BufferedReader(io.FileIO(sys.stdin.fileno(), "rb", closefd=False))
            if path == "-"
            else Path(path).open("rb")  # noqa: SIM115  # closed in the finally below
        )
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from exc
    try:
        if raw.peek(2)[:2] == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                yield gz
        else:
            yield raw
    finally:
        raw.close()


def read_lines(stream: Iterable[bytes], source: str = "input") -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number, line without its newline)`` for every line of ``stream``.

    Blank lines are yielded too (they are bad records, counted, not silently dropped).
    A truncated gzip stream raises ``SourceError`` after the lines read before it.
    """
    n = 0
    try:
        for line in stream:
            n += 1
            yield n, line.rstrip(b"\r\n")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise SourceError(f"{source}: read failed after line {n}: {exc}") from exc
