"""The records that flow through the pipeline: request events in, alerts out.

``RequestEvent`` mirrors ``shared/contracts/request-event.md`` (v1) after validation;
``Alert`` mirrors ``shared/contracts/alert.md`` (v1). Both are plain frozen data so
that detectors can take them without knowing where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["info", "warning", "critical"]
Action = Literal["none", "review", "throttle", "block"]

SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
ACTIONS: tuple[Action, ...] = ("none", "review", "throttle", "block")


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One validated API request (contract: request event v1).

    Timestamps (``ts``, ``account_created_ts``) are Unix seconds as floats, whatever
    format the producer used. Optional fields absent from the record are ``None``.
    """

    ts: float
    account_id: str
    request_id: str | None = None
    org_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None
    endpoint: str | None = None
    prompt: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    asn: int | None = None
    country: str | None = None
    tls_fingerprint: str | None = None
    payment_fingerprint: str | None = None
    account_created_ts: float | None = None
    status: int | None = None
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """What the processor emits when an account looks anomalous (contract: alert v1)."""

    alert_id: str
    ts: float
    account_id: str
    severity: Severity
    action: Action
    score: float
    detectors: tuple[str, ...]
    reasons: tuple[str, ...]
    features: dict[str, float] = field(default_factory=dict)
    related_accounts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Return the alert as the contract's JSON object (field order fixed)."""
        return {
            "alert_id": self.alert_id,
            "ts": self.ts,
            "account_id": self.account_id,
            "severity": self.severity,
            "action": self.action,
            "score": self.score,
            "detectors": list(self.detectors),
            "reasons": list(self.reasons),
            "features": dict(self.features),
            "related_accounts": list(self.related_accounts),
        }

    @property
    def flagged(self) -> bool:
        """Whether this alert flags its account (severity ``warning`` or ``critical``)."""
        return self.severity != "info"
