"""Runs typecheck_usage.py for real: the calls pyright checks also work."""

from __future__ import annotations

import typecheck_usage
from conftest import KEY, Sandbox


def test_typecheck_usage_runs(sandbox: Sandbox) -> None:
    typecheck_usage.main(sandbox.url, KEY)
    assert len(sandbox.api_requests("POST", "/order")) >= 5


def test_typecheck_usage_of_the_testing_kit_runs(tmp_path: object) -> None:
    typecheck_usage.testing_kit(str(tmp_path))
