"""Options you can see: ``Guard``, ``AsyncGuard`` and ``open_store`` spell out every option, so a
misspelt one fails at once (TypeError) and in the type checker, and ``help()`` lists them all."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from iamguard import AsyncGuard, Guard, open_store

ROOT = Path(__file__).resolve().parent.parent

GUARD_OPTIONS = {
    "sessions",
    "service",
    "region",
    "bearer",
    "anonymous",
    "authenticators",
    "evaluator",
    "context",
    "trusted_proxies",
    "audit",
    "tracker",
    "messages",
    "clock",
}
STORE_OPTIONS = {
    "create",
    "account_id",
    "partition",
    "secret_box",
    "quotas",
    "lockout",
    "clock",
    "cache_size",
}


@pytest.mark.parametrize(
    ("callable_", "expected"),
    [(Guard, GUARD_OPTIONS), (AsyncGuard, GUARD_OPTIONS), (open_store, STORE_OPTIONS)],
    ids=["Guard", "AsyncGuard", "open_store"],
)
def test_every_option_is_a_named_keyword(callable_: Callable[..., Any], expected: set[str]) -> None:
    parameters = inspect.signature(callable_).parameters.values()
    assert not [p.name for p in parameters if p.kind is inspect.Parameter.VAR_KEYWORD]
    keywords = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keywords == expected


@pytest.mark.parametrize("guard_class", [Guard, AsyncGuard])
def test_a_misspelt_guard_option_fails_at_once(guard_class: Callable[..., Any]) -> None:
    store = open_store("memory://")
    with pytest.raises(TypeError, match="sesions"):
        guard_class(store, sesions=None)


def test_a_misspelt_store_option_fails_at_once() -> None:
    with pytest.raises(TypeError, match="acount_id"):
        open_store("memory://", acount_id="123456789012")  # type: ignore[call-arg]


def test_the_options_reach_the_store_and_the_guard() -> None:
    store = open_store("memory://", account_id="210987654321")
    assert store.account().account_id == "210987654321"
    guard = Guard(store, service="s3", anonymous=True)
    assert guard.service == "s3"
    assert type(guard.authenticators[-1]).__name__ == "AnonymousAuthenticator"


def test_the_type_checker_refuses_a_misspelt_option(tmp_path: Path) -> None:
    """``Guard(store, sesions=None)`` is a mypy error, not only a run-time one."""
    sample = tmp_path / "misspelt.py"
    sample.write_text(
        "from iamguard import AsyncGuard, Guard, open_store\n"
        "store = open_store('memory://')\n"
        "Guard(store, sesions=None)\n"
        "AsyncGuard(store, regoin='eu-west-1')\n"
        "open_store('memory://', acount_id='1')\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--follow-imports=silent",
            str(sample),
        ],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    for name in ("sesions", "regoin", "acount_id"):
        assert f'Unexpected keyword argument "{name}"' in run.stdout, run.stdout
