"""Keeps the release in step with scripts/dist: checks that .github/workflows/release.yml parses
and builds exactly the targets of scripts/dist-targets (wheels and npm packages, with the same
wheel tags and npm platform names), that package.json's napi.targets are the node rows, and
that every node row has its npm/<platform>/package.json. Run by scripts/test-dist.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def rows(kind: str) -> list[list[str]]:
    out = []
    for line in (ROOT / "scripts" / "dist-targets").read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and fields[0] == kind:
            out.append(fields[1:])
    return out


def matrix(workflow: dict[str, Any], job: str) -> list[dict[str, str]]:
    return list(workflow["jobs"][job]["strategy"]["matrix"]["include"])


def main() -> int:
    errors: list[str] = []
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    # PyYAML reads the key `on` as True.
    triggers = workflow.get("on", workflow.get(True)) or {}
    if "tags" not in (triggers.get("push") or {}):
        errors.append("release.yml: not triggered by a tag push")

    python, node = rows("python"), rows("node")
    wheels = {m["target"]: m for m in matrix(workflow, "wheels")}
    for target, tag, _where in python:
        if target not in wheels:
            errors.append(f"release.yml: no wheel job for {target}")
        elif tag.startswith(("manylinux", "musllinux")) and wheels[target].get("manylinux") != tag:
            errors.append(f"release.yml: wheel {target} is built as {wheels[target].get('manylinux')}, not {tag}")
    errors += [f"release.yml builds a wheel for {t}, not in scripts/dist-targets" for t in set(wheels) - {r[0] for r in python}]

    npm = {m["target"]: m for m in matrix(workflow, "npm")}
    for target, platform, _where in node:
        if target not in npm:
            errors.append(f"release.yml: no npm job for {target}")
        elif npm[target].get("platform") != platform:
            errors.append(f"release.yml: npm {target} is packaged as {npm[target].get('platform')}, not {platform}")
        if not (ROOT / "npm" / platform / "package.json").is_file():
            errors.append(f"npm/{platform}/package.json is missing")
    errors += [f"release.yml builds npm {t}, not in scripts/dist-targets" for t in set(npm) - {r[0] for r in node}]

    pkg = json.loads((ROOT / "package.json").read_text())
    if pkg["napi"]["targets"] != [r[0] for r in node]:
        errors.append(f"package.json napi.targets {pkg['napi']['targets']} != node rows of scripts/dist-targets")
    for key in ("os", "cpu"):
        if key in pkg:
            errors.append(f"package.json restricts `{key}`: the main package must install everywhere")

    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    for needed in ("scripts/smoke/run python", "scripts/smoke/run node", "scripts/smoke/smoke.py",
                   "scripts/smoke/smoke.js", "gh-action-pypi-publish", "npm publish"):
        if needed not in text:
            errors.append(f"release.yml does not run `{needed}`")

    for e in errors:
        print(f"check-dist: {e}", file=sys.stderr)
    if not errors:
        print(f"check-dist: release.yml builds all {len(python)} wheel and {len(node)} npm targets of scripts/dist-targets")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
