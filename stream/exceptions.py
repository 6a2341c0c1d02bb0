"""Exceptions raised by the stream package."""

from __future__ import annotations

from detectors.exceptions import DistillguardError


class StreamError(DistillguardError):
    """Something went wrong reading, processing or writing a stream."""


class SourceError(StreamError):
    """A source could not be opened or read (missing file, unreadable gzip, ...)."""


class SinkError(StreamError):
    """A sink could not write or flush what it was given."""
