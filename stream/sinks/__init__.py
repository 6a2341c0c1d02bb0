"""Sinks: where alerts and dead letters go, each with an ``add``/``flush`` lifecycle."""

from stream.sinks.base import Sink
from stream.sinks.files import DeadLetter, DeadLetterFileSink, JsonlAlertSink
from stream.sinks.memory import MemorySink

__all__ = ["DeadLetter", "DeadLetterFileSink", "JsonlAlertSink", "MemorySink", "Sink"]
