"""The suite's network guard (tests/conftest.py, tests/_netguard/) and a dry run that sends nothing.

A test must never reach a real network: the guard refuses every non-loopback connection at once,
in this process and in child processes, and fails the test even if the refusal was swallowed.
``examples/client_with_roles.py --dry-run`` promises to send nothing, so its credential chain
must not probe the instance metadata service (169.254.169.254) or the container endpoint.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import netguard
import pytest

from iamguard.credentials.chain import default_credential_chain

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("address", [("10.255.255.1", 80), ("169.254.169.254", 80), ("fd00:ec2::254", 80)])
def test_non_loopback_connect_is_refused_at_once(address: tuple[str, int]) -> None:
    began = time.monotonic()
    with pytest.raises(netguard.NetworkGuardError, match="test network guard"):
        socket.create_connection(address, timeout=5)
    assert time.monotonic() - began < 0.5  # refused, not timed out
    assert netguard.violations, "the refusal is recorded so a swallowed error still fails the test"
    del netguard.violations[:]  # this test wanted it


def test_connect_ex_and_raw_sockets_are_guarded_too() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(netguard.NetworkGuardError):
        sock.connect_ex(("169.254.169.254", 80))
    del netguard.violations[:]


def test_loopback_and_localhost_still_connect() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            socket.create_connection((host, port), timeout=5).close()
    assert not netguard.violations


def test_child_python_processes_get_the_guard() -> None:
    code = "import socket; socket.create_connection(('169.254.169.254', 80), timeout=5)"
    began = time.monotonic()
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=dict(os.environ)
    )
    assert child.returncode != 0
    assert "test network guard" in child.stderr
    assert time.monotonic() - began < 10


def _no_credentials_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def test_offline_chain_names_network_sources_but_never_calls_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_credentials_env(tmp_path, monkeypatch)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials")
    explanation = default_credential_chain(offline=True).explain()
    skipped = {a.provider: a.reason for a in explanation.attempts}
    assert explanation.winner is None
    assert "not contacted" in skipped["imds"] and "not contacted" in skipped["container"]
    assert not netguard.violations


def test_client_with_roles_dry_run_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to probe IMDS (169.254.169.254) while saying it sends nothing."""
    _no_credentials_env(tmp_path, monkeypatch)
    spec = importlib.util.spec_from_file_location(
        "client_with_roles", ROOT / "examples" / "client_with_roles.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing was sent" in out and "authorization: aws4-hmac-sha256" in out.lower()
    assert not netguard.violations, netguard.violations
