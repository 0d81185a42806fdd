"""Security state that must hold across every process sharing one store.

Several app processes on one SQLite file or PostgreSQL schema are one deployment: a SAML
assertion, an MFA code or a sign-in guess refused by one of them must be refused by all, and a
role's revoked sessions must stop working everywhere. Each cross-process test starts two real
processes (tests/store/procs/state_worker.py) on one store and drives them with JSON commands;
commands carrying the same ``at`` time run at once in both, so races are real races.

The in-process contract of ``consume_once`` runs on the memory backend too.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from iamguard.errors import InvalidInputError, NoSuchEntityError
from iamguard.store import mfa as totp
from iamguard.store import open_store
from iamguard.store._sessions import REVOKE_POLICY_NAME
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.store.service import IdentityService

from ..sts.test_saml import ATTR, ENTITY_ID, PROVIDER_ARN, ROLE_ARN, T0, make_key, make_response, metadata
from . import _pg

PROCS = Path(__file__).resolve().parent / "procs"
pg_schemas, pg_url = _pg.pg_schemas, _pg.pg_url
MASTER_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
WAIT = 30.0  # the longest any one reply may take before the test fails instead of hanging
GOOD_PASSWORD = "Correct-Horse-9!"


def _box() -> SecretBox:
    return SecretBox.from_env({"IAMGUARD_MASTER_KEY": MASTER_KEY})


def _open(url: str, **options: Any) -> IdentityService:
    """A store at ``url``, created if missing."""
    return open_store(url, account_id=ACCOUNT, secret_box=_box(), create=True, **options)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/state.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store two processes can share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shared.db"
    return str(request.getfixturevalue("pg_url"))


# ---------------------------------------------------------------- consume_once, in one process


def test_consume_once_contract(any_url: str) -> None:
    store = _open(any_url)
    try:
        now = time.time()
        generation = store.generation()
        assert store.consume_once("saml-assertion", "k1", now + 60, now=now) is True
        assert store.consume_once("saml-assertion", "k1", now + 60, now=now) is False
        assert store.consume_once("other", "k1", now + 60, now=now) is True  # namespaces are apart
        assert store.consume_once("saml-assertion", "k2", now + 60, now=now) is True
        # Something already expired is never recorded, and never reported as a first use.
        assert store.consume_once("saml-assertion", "k3", now - 1, now=now) is False
        # After k1's record expires it is pruned; the key may be used again.
        later = now + 120
        assert store.consume_once("saml-assertion", "k1", later + 60, now=later) is True
        assert store.consume_once("saml-assertion", "k1", later + 60, now=later) is False
        # A one-time-use record changes no decision: caches keyed by the generation stay warm.
        assert store.generation() == generation
        with pytest.raises(InvalidInputError):
            store.consume_once("saml-assertion", "", now + 60)
        with pytest.raises(InvalidInputError):
            store.consume_once("saml-assertion", "x" * 513, now + 60)
    finally:
        store.backend.close()


def test_consume_once_inside_atomic_joins_the_transaction(any_url: str) -> None:
    store = _open(any_url)
    try:
        now = time.time()
        with store.atomic():
            assert store.consume_once("ns", "k", now + 60, now=now) is True
            assert store.consume_once("ns", "k", now + 60, now=now) is False
        assert store.consume_once("ns", "k", now + 60, now=now) is False
    finally:
        store.backend.close()


# ---------------------------------------------------------------- two processes


class _Worker:
    """A state_worker.py process; :meth:`ask` sends one command and returns its reply."""

    def __init__(self, url: str, *args: str) -> None:
        env = {**os.environ, "IAMGUARD_MASTER_KEY": MASTER_KEY}
        env.pop("IAMGUARD_MASTER_KEY_FILE", None)
        self.proc = subprocess.Popen(
            [sys.executable, str(PROCS / "state_worker.py"), url, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._next() == "ready"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def _next(self) -> str:
        try:
            return self.lines.get(timeout=WAIT)
        except queue.Empty:
            self.proc.kill()
            assert self.proc.stderr is not None
            raise AssertionError(
                f"state_worker said nothing for {WAIT}s; stderr: {self.proc.stderr.read()[-2000:]}"
            ) from None

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def reply(self) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self._next())
        assert "error" not in answer, answer["error"]
        return answer

    def ask(self, **command: Any) -> dict[str, Any]:
        self.send(**command)
        return self.reply()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def workers() -> Iterator[Callable[..., _Worker]]:
    started: list[_Worker] = []

    def start(url: str, *args: str) -> _Worker:
        worker = _Worker(url, *args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()


def _race(a: _Worker, b: _Worker, **command: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same command in both processes, started at the same instant."""
    at = time.time() + 0.5
    a.send(at=at, **command)
    b.send(at=at, **command)
    return a.reply(), b.reply()


def test_one_time_use_is_shared_by_two_processes(shared_url: str, workers: Callable[..., _Worker]) -> None:
    _open(shared_url).backend.close()
    a, b = workers(shared_url), workers(shared_url)
    assert a.ask(op="consume", ns="n", key="k", ttl=60) == {"first": True}
    assert b.ask(op="consume", ns="n", key="k", ttl=60) == {"first": False}
    for i in range(8):
        ra, rb = _race(a, b, op="consume", ns="n", key=f"race-{i}", ttl=60)
        assert sorted([ra["first"], rb["first"]]) == [False, True], (i, ra, rb)


def _saml_store(url: str) -> None:
    store = _open(url)
    try:
        store.create_role(
            ROLE_ARN.rsplit("/", 1)[1],
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": PROVIDER_ARN},
                        "Action": "sts:AssumeRoleWithSAML",
                    }
                ],
            },
        )
    finally:
        store.backend.close()


def test_saml_assertion_used_in_one_process_is_refused_in_another(
    shared_url: str, workers: Callable[..., _Worker]
) -> None:
    """AssumeRoleWithSAML end to end: an assertion is used once, whichever process sees it.
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html"""
    _saml_store(shared_url)
    key = make_key()
    common = {
        "metadata": metadata(ENTITY_ID, key.cert_b64),
        "provider_arn": PROVIDER_ARN,
        "role_arn": ROLE_ARN,
        "clock": T0,
    }
    a, b = workers(shared_url), workers(shared_url)
    response = make_response(key)
    assert a.ask(op="saml", response=response, **common) == {"ok": True, "code": ""}
    assert b.ask(op="saml", response=response, **common) == {"ok": False, "code": "InvalidIdentityToken"}
    assert a.ask(op="saml", response=response, **common)["ok"] is False
    for _ in range(3):
        fresh = make_response(key, {"attributes": {ATTR + "RoleSessionName": ["bob"]}})
        ra, rb = _race(a, b, op="saml", response=fresh, **common)
        assert sorted([ra["ok"], rb["ok"]]) == [False, True], (ra, rb)


def _mfa_store(url: str) -> str:
    """User u with an enabled virtual device (its last used step a minute ago); the seed."""
    now = time.time()
    store = _open(url, clock=lambda: now)
    try:
        store.create_user("u")
        created = store.create_virtual_mfa_device("u-device")
        seed = created.base32_seed
        store.enable_mfa_device(
            "u", created.device.serial_number, totp.totp(seed, now - 90), totp.totp(seed, now - 60)
        )
        return seed
    finally:
        store.backend.close()


def test_mfa_code_used_in_one_process_is_refused_in_another(
    shared_url: str, workers: Callable[..., _Worker]
) -> None:
    seed = _mfa_store(shared_url)
    a, b = workers(shared_url), workers(shared_url)
    code = totp.totp(seed, time.time())
    assert a.ask(op="mfa", user="u", code=code) == {"ok": True}
    assert b.ask(op="mfa", user="u", code=code) == {"ok": False}
    # The next step's code (accepted one step early, for clock drift) raced by both: one wins.
    ra, rb = _race(a, b, op="mfa", user="u", code=totp.totp(seed, time.time() + 30))
    assert sorted([ra["ok"], rb["ok"]]) == [False, True], (ra, rb)


def test_sign_in_failures_from_two_processes_lock_at_the_shared_threshold(
    shared_url: str, workers: Callable[..., _Worker]
) -> None:
    """Ten concurrent wrong guesses, five per process, against a threshold of six: exactly six
    are checked and counted, every later one is refused as locked, and so is the right password."""
    store = _open(shared_url)
    try:
        store.create_user("u")
        store.create_login_profile("u", GOOD_PASSWORD)
    finally:
        store.backend.close()
    a, b = workers(shared_url, "--max-failures", "6"), workers(shared_url, "--max-failures", "6")
    ra, rb = _race(a, b, op="login", user="u", password="wrong-Guess-1", n=5)
    outcomes = ra["outcomes"] + rb["outcomes"]
    assert not any(o["ok"] for o in outcomes)
    # Failures 1-5 answer "not locked"; the sixth locks; the other four are refused unchecked.
    assert sum(not o["locked"] for o in outcomes) == 5, outcomes
    store = _open(shared_url)
    try:
        assert store.get_login_profile("u").failed_attempts == 6
    finally:
        store.backend.close()
    for worker in (a, b):
        assert worker.ask(op="login", user="u", password=GOOD_PASSWORD, n=1)["outcomes"] == [
            {"ok": False, "locked": True}
        ]


def test_sign_in_attempts_leave_the_store_generation_alone(any_url: str) -> None:
    """A failure counter changes no cached decision: counting it (or clearing it on a success)
    must not bump the generation, which would empty every serving process's caches on each
    attempt -- a flood of wrong passwords would otherwise cost the whole fleet its caches."""
    store = _open(any_url)
    try:
        store.create_user("u")
        store.create_login_profile("u", GOOD_PASSWORD)
        before = store.generation()
        assert not store.check_password("u", "wrong-Guess-1").ok
        assert store.get_login_profile("u").failed_attempts == 1
        assert store.check_password("u", GOOD_PASSWORD).ok
        assert store.get_login_profile("u").failed_attempts == 0
        assert store.generation() == before
    finally:
        store.backend.close()


READ_B = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
}


def _revocation_store(url: str) -> None:
    store = _open(url)
    try:
        store.create_user("alice")
        store.put_inline_policy(
            PrincipalKind.USER,
            "alice",
            "assume",
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
            },
        )
        store.create_role(
            "reader",
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"}],
            },
        )
        store.put_inline_policy(PrincipalKind.ROLE, "reader", "read-b", READ_B)
    finally:
        store.backend.close()


def test_revoked_role_sessions_are_denied_in_another_process(
    shared_url: str, workers: Callable[..., _Worker]
) -> None:
    """Process A holds a role session; process B revokes the role's sessions; A's next decision
    denies it, while a session issued after the revocation is allowed.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html"""
    _revocation_store(shared_url)
    a, b = workers(shared_url), workers(shared_url)
    question = {"action": "s3:GetObject", "resource": "arn:aws:s3:::b/k"}
    a.ask(op="assume", caller=ALICE, role="reader", session="before")
    assert a.ask(op="decide", session="before", **question) == {"allowed": True}
    committed = b.ask(op="revoke", role="reader")["committed"]
    assert a.ask(op="decide", session="before", **question) == {"allowed": False}
    # Issue times are whole seconds: a session from the next second on is newer than the revocation.
    time.sleep(max(0.0, int(committed) + 1.05 - time.time()))
    a.ask(op="assume", caller=ALICE, role="reader", session="after")
    assert a.ask(op="decide", session="after", **question) == {"allowed": True}
    assert a.ask(op="decide", session="before", **question) == {"allowed": False}


# ---------------------------------------------------------------- the revocation policy itself


def test_revoke_role_sessions_writes_aws_revoke_older_sessions(any_url: str) -> None:
    """The inline policy AWS's console attaches, with the revocation time; revoking again replaces it."""
    store = _open(any_url)
    try:
        store.create_role(
            "r",
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
        )
        generation = store.generation()
        store.revoke_role_sessions("r", before=datetime(2024, 10, 10, 9, 43, 48, 85000, tzinfo=timezone.utc))
        assert store.generation() > generation
        policy = store.get_inline_policy(PrincipalKind.ROLE, "r", REVOKE_POLICY_NAME)
        assert json.loads(policy.document) == {
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2024-10-10T09:43:48.085Z"}},
            },
        }
        store.revoke_role_sessions("r")
        assert store.list_inline_policies(PrincipalKind.ROLE, "r") == [REVOKE_POLICY_NAME]
        later = json.loads(store.get_inline_policy(PrincipalKind.ROLE, "r", REVOKE_POLICY_NAME).document)
        stamp = later["Statement"]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() > time.time() - 60
        with pytest.raises(NoSuchEntityError):
            store.revoke_role_sessions("missing")
        with pytest.raises(InvalidInputError):
            store.revoke_role_sessions("r", before=datetime(2024, 1, 1))  # no time zone
    finally:
        store.backend.close()
