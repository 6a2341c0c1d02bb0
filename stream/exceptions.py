"""Exceptions raised by the stream package."""

from __future__ import annotations

from detectors.exceptions import DistillguardError


class StreamError(DistillguardError):
    """Something went wrong reading, processing or writing a stream."""


class SourceError(StreamError):
    """A source could not be opened or read (missing file, unreadable gzip, ...)."""


class SinkError(StreamError):
    """A sink could not write or flush what it was given."""


class SettingsError(StreamError):
    """A setting of ``distillguard run`` is unknown, malformed or out of range."""


class SnapshotError(StreamError):
    """Per-account state could not be written to or read back from the snapshot store."""
