"""The layers of STYLE.md §1 hold: import-linter's contracts (``[tool.importlinter]`` in
pyproject.toml) pass, and the rules the issue named are checked on the import graph directly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - import-linter depends on tomli there
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("iamguard", cache_dir=None)


def _imports_from(graph: grimp.ImportGraph, package: str, target: str) -> list[str]:
    """Direct imports from ``package`` (or its modules) into ``target`` (or its modules)."""
    found = []
    for module in sorted(graph.find_descendants(package) | {package}):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported == target or imported.startswith(target + "."):
                found.append(f"{module} -> {imported}")
    return found


def test_import_linter_contracts_are_kept() -> None:
    """``lint-imports`` (what CI runs) finds every contract kept."""
    script = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    run = subprocess.run(
        [sys.executable, "-c", script, "--no-cache"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_contracts_name_the_issue_rules() -> None:
    """The config keeps the rules the issue asked for (a contract cannot be dropped silently)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    contracts = {c["id"]: c for c in config["contracts"]}
    layers = contracts["request-path-layers"]["layers"]
    assert layers.index("enforce") < layers.index("sts | credentials") < layers.index("resolve | simulate")
    assert layers.index("authn | evaluate | store") < layers.index("keyring | lookups")
    authn = contracts["authn-below-sts-and-store"]
    assert authn["source_modules"] == ["iamguard.authn"]
    assert {"iamguard.sts", "iamguard.resolve", "iamguard.store"} <= set(authn["forbidden_modules"])


@pytest.mark.parametrize("target", ["iamguard.sts", "iamguard.resolve", "iamguard.store", "iamguard.enforce"])
def test_authn_imports_nothing_above_it(graph: grimp.ImportGraph, target: str) -> None:
    assert _imports_from(graph, "iamguard.authn", target) == []


def test_keyring_and_lookups_sit_below_authn_and_store(graph: grimp.ImportGraph) -> None:
    for low in ("iamguard.keyring", "iamguard.lookups"):
        for high in ("iamguard.authn", "iamguard.sts", "iamguard.store", "iamguard.resolve"):
            assert _imports_from(graph, low, high) == [], (low, high)
    assert _imports_from(graph, "iamguard.authn.session_token", "iamguard.keyring")
