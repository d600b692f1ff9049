"""Runs typecheck_usage.py for real: the calls pyright checks also work."""

from __future__ import annotations

import typecheck_usage
from conftest import KEY, Sandbox


def test_typecheck_usage_runs(sandbox: Sandbox) -> None:
    typecheck_usage.main(sandbox.url, KEY)
    assert len(sandbox.api_requests("POST", "/order")) >= 5
