#!/usr/bin/env python3
"""Developer commands that need nothing but Python: each sets up .venv on first use.

    python3 tasks.py demo      run the demo on the embedded default store
    python3 tasks.py test      run the whole test suite
    python3 tasks.py bench     run the benchmarks side by side with peer libraries
"""

from __future__ import annotations

import hashlib
import os
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


def test(argv: list[str]) -> int:
    _ensure_venv("test")
    return _run("-m", "pytest", *argv)


def bench(argv: list[str]) -> int:
    _ensure_venv("test,bench")
    return _run(str(ROOT / "benchmarks" / "run.py"), *argv)


COMMANDS = {"demo": demo, "test": test, "bench": bench}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
