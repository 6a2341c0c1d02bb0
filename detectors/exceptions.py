"""Exceptions raised by the detectors package."""

from __future__ import annotations


class DistillguardError(Exception):
    """Root of every exception distillguard raises on purpose."""


class DetectorError(DistillguardError):
    """A detector, feature or policy was misused or misconfigured."""


class ConfigError(DetectorError):
    """A configuration value is out of its allowed range."""
