#!/usr/bin/env python3
"""Developer commands that need nothing but Python: each sets up .venv on first use.

    python3 tasks.py demo        run the demo on the embedded default store
    python3 tasks.py console     serve the IAM console over a seeded demo account (prints sign-ins)
    python3 tasks.py test        run the test suite but the tests marked slow (a few minutes)
    python3 tasks.py test-slow   run the tests marked slow: benchmark smoke tests, fuzz jobs, soak
    python3 tasks.py check       ruff format --check, ruff check, mypy --strict, import-linter
    python3 tasks.py bench       run the benchmarks side by side with peer libraries
    python3 tasks.py docs        build the documentation site into site/ (warnings are errors)

Arguments after ``test`` / ``test-slow`` go to pytest (a later ``-m`` replaces the default one).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("IAMGUARD_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def _ensure_venv(extras: str) -> None:
    """Create .venv and install the project with ``extras`` unless pyproject.toml is unchanged."""
    stamp = VENV / f".installed-{extras.replace(',', '-')}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    if not PYTHON.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-e", f"{ROOT}[{extras}]"], check=True)
    stamp.write_text(digest)


def _run(*args: str) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT).returncode


def demo(argv: list[str]) -> int:
    _ensure_venv("test")
    return _run(str(ROOT / "examples" / "demo.py"), *argv)


def console(argv: list[str]) -> int:
    _ensure_venv("test")
    return _run("-m", "iamguard.console", *argv)


def test(argv: list[str]) -> int:
    _ensure_venv("test")
    # one pytest-xdist worker per core (``-n 0`` or ``-p no:xdist`` in argv runs in one process)
    workers = [] if any(a.startswith("-n") or a == "no:xdist" for a in argv) else ["-n", "auto"]
    return _run("-m", "pytest", "-m", "not slow", *workers, *argv)


def test_slow(argv: list[str]) -> int:
    _ensure_venv("test")
    return _run("-m", "pytest", "-m", "slow", *argv)


#: (what, command): each runs even when an earlier one failed, so one run lists every finding
CHECKS = [
    ("ruff format", ["-m", "ruff", "format", "--check", "."]),
    ("ruff check", ["-m", "ruff", "check", "."]),
    ("mypy", ["-m", "mypy"]),  # --strict over the files named in pyproject.toml's [tool.mypy]
]


def check(_argv: list[str]) -> int:
    _ensure_venv("test")
    steps = list(CHECKS)
    if "[tool.importlinter]" in (ROOT / "pyproject.toml").read_text(encoding="utf-8"):
        lint_imports = shutil.which("lint-imports", path=str(BIN)) or "lint-imports"
        steps.append(("import-linter", [lint_imports]))
    failed = []
    for name, command in steps:
        print(f"== {name}", flush=True)
        args = [str(PYTHON), *command] if command[0] == "-m" else command
        if subprocess.run(args, cwd=ROOT).returncode != 0:
            failed.append(name)
    print("check: " + (f"failed: {', '.join(failed)}" if failed else "all passed"), flush=True)
    return 1 if failed else 0


def bench(argv: list[str]) -> int:
    _ensure_venv("test,bench")
    return _run(str(ROOT / "benchmarks" / "run.py"), *argv)


def docs(argv: list[str]) -> int:
    _ensure_venv("docs")
    # MkDocs and Material print a banner about a future MkDocs 2 on every build; it is not a
    # finding about these docs (the docs extra pins mkdocs<2)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    command = [str(PYTHON), "-m", "mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"), *argv]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


COMMANDS = {
    "demo": demo,
    "console": console,
    "test": test,
    "test-slow": test_slow,
    "check": check,
    "bench": bench,
    "docs": docs,
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
