"""Schemathesis hooks for scripts/test-spec, loaded through spec/schemathesis.toml.

`positive_data_acceptance` is told (in the toml) that a schema-valid request to GET /services,
GET /price and POST /order may get 400 or 402: contract.md's domain refusals, which no schema
can rule out (a well-formed but unknown catalogue id, a wallet too low). A status is all that
check sees, so this one makes that allowance exact: such an answer must be the NexOTP envelope
with the domain code, never a WordPress validation error (`rest_invalid_param`, ...), which
would mean the spec allows what the server rejects.
"""

from __future__ import annotations

import schemathesis

# (method, path) -> status -> the envelope codes contract.md documents for it.
DOMAIN_REFUSALS: dict[tuple[str, str], dict[int, frozenset[str]]] = {
    ("GET", "/services"): {400: frozenset({"invalid_parameter"})},
    ("GET", "/price"): {400: frozenset({"invalid_parameter"})},
    ("POST", "/order"): {
        400: frozenset({"invalid_parameter"}),
        402: frozenset({"insufficient_balance"}),
    },
}


@schemathesis.check
def domain_refusal_codes(ctx, response, case):  # type: ignore[no-untyped-def]
    """A schema-valid request's 400 / 402 is one of contract.md's domain refusals."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    refusals = DOMAIN_REFUSALS.get((case.operation.method.upper(), case.operation.path), {})
    allowed = refusals.get(response.status_code)
    if allowed is None:
        return None
    try:
        body = response.json()
        code = body["error"]["code"] if body.get("success") is False else None
    except Exception:  # not JSON, not an envelope
        code = None
    if code not in allowed:
        raise AssertionError(
            f"a schema-valid request got {response.status_code} with code {code!r}; only "
            f"{', '.join(sorted(allowed))} (a domain refusal in contract.md) may answer it"
        )
    return None
