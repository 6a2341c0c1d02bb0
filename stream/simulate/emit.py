"""Build one request-event object (contract: request event v1) for an account."""

from __future__ import annotations

import random
from dataclasses import dataclass

from stream.simulate import infra
from stream.simulate.models import serve, truncate_prompt
from stream.simulate.roster import Account

#: What population generators yield: (event time, generator id, event object).
Item = tuple[float, int, dict[str, object]]


@dataclass(frozen=True, slots=True)
class Context:
    """Simulation-wide values every population generator needs."""

    start: float
    end: float
    release_ts: float | None
    ipv6_share: float
    volume_scale: float


def make_event(
    a: Account,
    r: random.Random,
    ctx: Context,
    ts: float,
    model: str,
    prompt: str,
    input_tokens: int,
    wanted_output: int,
    max_tokens: int,
    temperature: float | None,
    p_429: float,
) -> dict[str, object]:
    """Return the event object of one request ``a`` sends at ``ts`` (rounded to the ms)."""
    status, output_tokens, latency_ms = serve(
        r, model, input_tokens, wanted_output, max_tokens, p_429
    )
    locs = a.locations
    loc = locs[r.randrange(len(locs))] if locs else infra.random_end_user(r, ctx.ipv6_share)
    keys = a.api_keys
    ev: dict[str, object] = {
        "ts": round(ts, 3),
        "request_id": f"req_{r.getrandbits(96):024x}",
        "account_id": a.account_id,
        "org_id": a.org_id,
        "api_key_id": keys[0] if len(keys) == 1 or r.random() < 0.7 else r.choice(keys),
        "model": model,
        "endpoint": a.endpoint,
        "prompt": truncate_prompt(prompt),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "client_ip": loc.ip,
        "user_agent": a.user_agent,
        "asn": loc.asn,
        "country": loc.country,
        "tls_fingerprint": a.tls[0] if len(a.tls) == 1 else r.choice(a.tls),
        "payment_fingerprint": a.payment,
        "account_created_ts": a.created_field,
        "status": status,
        "latency_ms": latency_ms,
    }
    if temperature is None:
        del ev["temperature"]
    if a.payment is None:
        del ev["payment_fingerprint"]
    return ev
