"""Tests for iamguard.sts.keyring_source: a keyring file rotated by an admin reaches the processes
that verify session tokens within one re-read interval, and a retired key stops verifying.

The "worker" here is a :class:`SessionTokenService` over a :class:`FollowingKeyRing` (what a
serving process holds); the "admin" edits the file with :func:`update_keyring_file` and mints
with the ring it wrote. Time is injected: ``Clock`` for the wall clock the keys' windows use,
``Ticker`` for the monotonic clock that paces re-reads. tests/soak/ runs the same across real
gunicorn worker processes.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from iamguard.authn.session_token import IssuedCredentials, SessionTokenService
from iamguard.errors import InvalidAccessKeyError
from iamguard.sts import keyring_source
from iamguard.sts.keyring_source import (
    FollowingKeyRing,
    keyring_from_env,
    update_keyring_file,
    write_keyring_file,
)
from iamguard.sts.keys import ENV_KEYS, ENV_KEYS_FILE, KeyRing, KeyRingError, SigningKey

ACCOUNT = "123456789012"
T0 = 1_770_000_000
INTERVAL = 1.0


class Clock:
    """A settable clock (wall or monotonic)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> Clock:
    return Clock(T0)


@pytest.fixture
def ticker() -> Clock:
    return Clock(100.0)


@pytest.fixture
def path(tmp_path: Path, wall: Clock) -> Path:
    target = tmp_path / "keyring.json"
    write_keyring_file(KeyRing.generate(clock=wall), target)
    return target


def _follower(path: Path, wall: Clock, ticker: Clock) -> FollowingKeyRing:
    return FollowingKeyRing(path, interval=INTERVAL, clock=wall, monotonic=ticker)


def _mint(path: Path, wall: Clock) -> IssuedCredentials:
    """Credentials the admin issues with the ring as the file holds it now."""
    service = SessionTokenService(KeyRing.load(path, clock=wall), clock=wall)
    credentials, _ = service.issue(
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/s1",
        account=ACCOUNT,
        principal_type="AssumedRole",
        user_id="AROA3XFRBF535PLBIFPI4:s1",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/Reader",
        session_name="s1",
        duration_seconds=3600,
    )
    return credentials


def _kid(credentials: IssuedCredentials) -> str:
    import jwt

    return str(jwt.get_unverified_header(credentials.session_token)["kid"])


def _accepts(worker: SessionTokenService, credentials: IssuedCredentials) -> bool:
    try:
        worker.verify(credentials.session_token, access_key_id=credentials.access_key_id)
    except InvalidAccessKeyError:
        return False
    return True


# ---------------------------------------------------------------- rotation and retirement


def test_a_token_of_the_new_primary_is_accepted_once_the_worker_re_reads(
    path: Path, wall: Clock, ticker: Clock
) -> None:
    worker = SessionTokenService(_follower(path, wall, ticker), clock=wall)
    old = update_keyring_file(path, lambda ring: ring.primary())
    wall.now += 5
    new = update_keyring_file(path, lambda ring: ring.rotate(), clock=wall)
    token = _mint(path, wall)
    assert _kid(token) == new.kid != old.kid
    # Inside the interval the worker still holds the ring it read: the bound, not a bug. A
    # fleet stages new keys ahead (next test) so that this never refuses anyone.
    assert not _accepts(worker, token)
    ticker.now += INTERVAL
    assert _accepts(worker, token)
    assert worker.keyring.primary().kid == new.kid


def test_a_token_of_a_retired_key_is_refused_after_retirement_even_when_cached(
    path: Path, wall: Clock, ticker: Clock
) -> None:
    worker = SessionTokenService(_follower(path, wall, ticker), clock=wall)
    token = _mint(path, wall)
    assert _accepts(worker, token)  # now in the worker's verified-token cache
    update_keyring_file(path, lambda ring: ring.retire(_kid(token)))
    ticker.now += INTERVAL - 0.001
    assert _accepts(worker, token)  # not yet re-read
    ticker.now += 0.001
    assert not _accepts(worker, token)
    ticker.now += 10 * INTERVAL
    assert not _accepts(worker, token)  # and never again


def test_a_staged_key_rotates_a_fleet_without_refusing_anyone(path: Path, wall: Clock, ticker: Clock) -> None:
    workers = [SessionTokenService(_follower(path, wall, ticker), clock=wall) for _ in range(3)]
    before = _mint(path, wall)
    staged = SigningKey.generate(now=wall.now + 2 * INTERVAL)
    update_keyring_file(path, lambda ring: ring.add(staged))
    ticker.now += INTERVAL  # every worker re-reads once: they know the staged key
    assert all(_accepts(worker, before) for worker in workers)
    wall.now += 2 * INTERVAL  # the staged key becomes the primary everywhere, with no re-read
    after = _mint(path, wall)
    assert _kid(after) == staged.kid
    assert all(_accepts(worker, after) and _accepts(worker, before) for worker in workers)
    assert {worker.keyring.primary().kid for worker in workers} == {staged.kid}


def test_the_file_is_read_at_most_once_per_interval(
    path: Path, wall: Clock, ticker: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = SessionTokenService(_follower(path, wall, ticker), clock=wall, cache_size=0)
    token = _mint(path, wall)
    reads: list[Path] = []
    real_read = keyring_source._read

    def counting(target: Path) -> str:
        reads.append(target)
        return real_read(target)

    monkeypatch.setattr(keyring_source, "_read", counting)
    for _ in range(200):
        assert _accepts(worker, token)
    assert reads == []
    ticker.now += INTERVAL
    for _ in range(200):
        assert _accepts(worker, token)
    assert reads == [path]


def test_reload_reads_at_once(path: Path, wall: Clock, ticker: Clock) -> None:
    ring = _follower(path, wall, ticker)
    new = update_keyring_file(path, lambda r: r.rotate(), clock=wall)
    ring.reload()
    assert ring.primary().kid == new.kid


def test_version_moves_only_when_the_file_changes(path: Path, wall: Clock, ticker: Clock) -> None:
    ring = _follower(path, wall, ticker)
    first = ring.version
    ticker.now += INTERVAL
    assert ring.version == first
    update_keyring_file(path, lambda r: r.rotate(), clock=wall)
    ticker.now += INTERVAL
    assert ring.version > first


# ---------------------------------------------------------------- failing closed


def test_an_unusable_file_refuses_every_token_until_it_is_fixed(
    path: Path, wall: Clock, ticker: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    good = path.read_text(encoding="utf-8")
    worker = SessionTokenService(_follower(path, wall, ticker), clock=wall)
    token = _mint(path, wall)
    assert _accepts(worker, token)
    path.write_text("{not json", encoding="utf-8")
    ticker.now += INTERVAL
    with caplog.at_level(logging.ERROR, logger="iamguard.sts.keys"):
        assert not _accepts(worker, token)
    with pytest.raises(KeyRingError):
        worker.keyring.primary()
    assert "unusable" in caplog.text
    key = json.loads(good)["keys"][0]
    assert key["private_key"] not in caplog.text and key["derivation_key"] not in caplog.text
    path.unlink()
    ticker.now += INTERVAL
    assert not _accepts(worker, token)
    path.write_text(good, encoding="utf-8")
    ticker.now += INTERVAL
    assert _accepts(worker, token)


@pytest.mark.parametrize("content", [None, "", "{}", '{"version": 1, "keys": []}'])
def test_a_process_does_not_start_on_an_unusable_file(tmp_path: Path, content: str | None) -> None:
    target = tmp_path / "keyring.json"
    if content is not None:
        target.write_text(content, encoding="utf-8")
    with pytest.raises(KeyRingError):
        FollowingKeyRing(target)


@pytest.mark.parametrize("change", ["add", "rotate", "retire", "prune"])
def test_changing_a_following_ring_in_place_is_refused(path: Path, change: str) -> None:
    ring = FollowingKeyRing(path)
    calls: dict[str, Callable[[], object]] = {
        "add": lambda: ring.add(SigningKey.generate()),
        "rotate": lambda: ring.rotate(),
        "retire": lambda: ring.retire(ring.primary().kid),
        "prune": lambda: ring.prune(max_session_seconds=0),
    }
    with pytest.raises(KeyRingError, match="follows"):
        calls[change]()


# ---------------------------------------------------------------- writing the file


def test_writes_are_atomic_owner_only_and_leave_no_temporary_files(path: Path, wall: Clock) -> None:
    seen: list[str] = []
    stop = threading.Event()

    def read_continuously() -> None:
        while not stop.is_set():
            text = path.read_text(encoding="utf-8")
            KeyRing.from_json(text)  # a torn file would raise here
            seen.append(text)

    reader = threading.Thread(target=read_continuously)
    reader.start()
    try:
        for _ in range(100):
            update_keyring_file(path, lambda ring: ring.add(SigningKey.generate(now=wall.now)))
    finally:
        stop.set()
        reader.join()
    assert len(KeyRing.load(path)) == 101
    assert len(set(seen)) > 1
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["keyring.json", "keyring.json.lock"]


def test_concurrent_updates_lose_nothing(path: Path, wall: Clock) -> None:
    def add_many() -> None:
        for _ in range(15):
            update_keyring_file(path, lambda ring: ring.add(SigningKey.generate(now=wall.now)))

    threads = [threading.Thread(target=add_many) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(KeyRing.load(path)) == 1 + 3 * 15


# ---------------------------------------------------------------- configuration


def test_keyring_from_env_follows_the_file_and_keeps_inline_keys_fixed(path: Path) -> None:
    following = keyring_from_env({ENV_KEYS_FILE: str(path)})
    assert isinstance(following, FollowingKeyRing)
    assert following.path == path
    inline = keyring_from_env({ENV_KEYS: path.read_text(encoding="utf-8")})
    assert type(inline) is KeyRing
    with pytest.raises(KeyRingError, match="only one"):
        keyring_from_env({ENV_KEYS: path.read_text(encoding="utf-8"), ENV_KEYS_FILE: str(path)})
    with pytest.raises(KeyRingError):
        keyring_from_env({})


def test_repr_names_key_ids_only(path: Path) -> None:
    ring = FollowingKeyRing(path)
    text = repr(ring)
    assert ring.primary().kid in text
    assert "derivation" not in text and "private" not in text


@pytest.mark.parametrize("via", ["--keys-file", ENV_KEYS_FILE])
def test_serve_sts_follows_its_keyring_file(path: Path, via: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse
    import io

    from iamguard.cli.serve_sts import build_token_service

    monkeypatch.delenv(ENV_KEYS, raising=False)
    monkeypatch.setenv("IAMGUARD_DEV_MASTER_KEY", "1")
    if via == ENV_KEYS_FILE:
        monkeypatch.setenv(ENV_KEYS_FILE, str(path))
    args = argparse.Namespace(
        store="memory://",
        keys_file=str(path) if via == "--keys-file" else None,
        oidc_provider=[],
        saml_provider=[],
    )
    ring = build_token_service(args, io.StringIO()).tokens.keyring
    assert isinstance(ring, FollowingKeyRing)
    new = update_keyring_file(path, lambda r: r.rotate())
    ring.reload()
    assert ring.primary().kid == new.kid
