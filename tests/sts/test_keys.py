"""Tests for iamguard.sts.keys: key generation, windows, rotation, (de)serialization, env loading."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from iamguard.sts.keys import ENV_KEYS, ENV_KEYS_FILE, KeyRing, KeyRingError, SigningKey

DATA = Path(__file__).parent.parent / "data" / "sts"
KEYRING_FILE = DATA / "keyring.json"
T0 = 1_770_000_000  # 2026-02-02, after the EdDSA test key became primary


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_generate_defaults_to_eddsa() -> None:
    ring = KeyRing.generate(clock=Clock(T0))
    primary = ring.primary()
    assert primary.alg == "EdDSA"
    assert primary.can_sign
    assert primary.not_before == T0


@pytest.mark.parametrize("alg", ["EdDSA", "HS256"])
def test_json_round_trip_keeps_material(alg: str) -> None:
    ring = KeyRing.generate(alg=alg, clock=Clock(T0))
    again = KeyRing.from_json(ring.to_json(), clock=Clock(T0))
    assert [k.to_json() for k in again.keys] == [k.to_json() for k in ring.keys]


def test_repr_shows_no_material() -> None:
    ring = KeyRing.generate(alg="HS256", clock=Clock(T0))
    key = ring.primary()
    text = repr(ring) + repr(key)
    for secret_field in ("derivation_key", "secret"):
        assert key.to_json()[secret_field] not in text
    assert "derivation_key" not in repr(key)
    assert key.kid in repr(ring)


def test_load_fixture_file_picks_primary_by_window() -> None:
    ring = KeyRing.load(KEYRING_FILE, clock=Clock(T0))
    assert [k.kid for k in ring.keys] == ["hs-2025-07", "ed-2026-01"]
    assert ring.primary().kid == "ed-2026-01"
    # Before 2026-01-01 the HS256 key was the one signing.
    assert ring.primary(1_760_000_000).kid == "hs-2025-07"
    with pytest.raises(KeyRingError):
        ring.primary(1_700_000_000)  # before any key's not_before


def test_rotate_adds_primary_and_closes_old_for_signing() -> None:
    clock = Clock(T0)
    ring = KeyRing.generate(clock=clock)
    old = ring.primary()
    clock.now = T0 + 100
    new = ring.rotate()
    assert ring.primary().kid == new.kid != old.kid
    closed = ring.get(old.kid)
    assert closed is not None and closed.not_after == T0 + 100
    assert not closed.signs_at(T0 + 101)
    # The old key still accepts what it signed before the rotation.
    assert closed.accepts_issue_time(T0 + 50)
    assert not closed.accepts_issue_time(T0 + 500)
    assert new.alg == old.alg


def test_rotate_can_switch_algorithm() -> None:
    ring = KeyRing.generate(clock=Clock(T0))
    assert ring.rotate(alg="HS256").alg == "HS256"


def test_staged_key_does_not_sign_before_not_before() -> None:
    ring = KeyRing.generate(clock=Clock(T0))
    staged = SigningKey.generate("staged", now=T0 + 3600)
    ring.add(staged)
    assert ring.primary(T0 + 10).kid != "staged"
    assert ring.primary(T0 + 3600).kid == "staged"
    assert not staged.accepts_issue_time(T0 + 10)


def test_retire_and_prune() -> None:
    clock = Clock(T0)
    ring = KeyRing.generate(clock=clock)
    first = ring.primary().kid
    ring.rotate()
    second = ring.primary().kid
    ring.rotate()
    ring.retire(second)
    retired = ring.get(second)
    assert retired is not None and not retired.accepts_issue_time(T0)
    clock.now = T0 + 3600
    # first closed at T0: tokens up to 1800 s long are all expired by T0 + 3600.
    assert set(ring.prune(max_session_seconds=1800)) == {first, second}
    assert len(ring) == 1


def test_duplicate_kid_rejected() -> None:
    key = SigningKey.generate("same", now=T0)
    with pytest.raises(KeyRingError):
        KeyRing([key, key])
    ring = KeyRing([key])
    with pytest.raises(KeyRingError):
        ring.add(SigningKey.generate("same", now=T0))


def test_verify_only_eddsa_key() -> None:
    entry = json.loads(KEYRING_FILE.read_text())["keys"][1]
    del entry["private_key"]
    key = SigningKey.from_json(entry)
    assert not key.can_sign
    ring = KeyRing([key], clock=Clock(T0))
    with pytest.raises(KeyRingError):
        ring.primary()


def _bad_rows() -> list[Any]:
    rows = json.loads((DATA / "bad_keyrings.json").read_text())
    return [pytest.param(row["keyring"], row["error"], id=row["id"]) for row in rows]


@pytest.mark.parametrize(("keyring", "error"), _bad_rows())
def test_bad_keyrings_rejected_without_leaking(keyring: Any, error: str) -> None:
    text = keyring if isinstance(keyring, str) else json.dumps(keyring)
    with pytest.raises(KeyRingError) as info:
        KeyRing.from_json(text)
    assert error in str(info.value)
    # No base64 material from the input may appear in the message.
    for entry in keyring.get("keys", []) if isinstance(keyring, dict) else []:
        for name in ("secret", "private_key", "derivation_key"):
            value = entry.get(name) if isinstance(entry, dict) else None
            if isinstance(value, str) and len(value) > 8:
                assert value not in str(info.value)


def test_from_env_inline_and_file(tmp_path: Path) -> None:
    ring = KeyRing.generate(clock=Clock(T0))
    inline = KeyRing.from_env({ENV_KEYS: ring.to_json()}, clock=Clock(T0))
    assert inline.primary().kid == ring.primary().kid
    path = tmp_path / "keys.json"
    ring.save(path)
    assert (os.stat(path).st_mode & 0o777) == 0o600
    from_file = KeyRing.from_env({ENV_KEYS_FILE: str(path)}, clock=Clock(T0))
    assert from_file.primary().kid == ring.primary().kid


def test_from_env_refuses_ambiguous_or_missing(tmp_path: Path) -> None:
    with pytest.raises(KeyRingError, match="only one"):
        KeyRing.from_env({ENV_KEYS: "{}", ENV_KEYS_FILE: "x"})
    with pytest.raises(KeyRingError, match="no STS keyring"):
        KeyRing.from_env({})
    with pytest.raises(KeyRingError, match="cannot read"):
        KeyRing.from_env({ENV_KEYS_FILE: str(tmp_path / "missing.json")})


def test_regression_unsupported_algorithms_cannot_be_pinned() -> None:
    for alg in ("none", "RS256", "HS512", "eddsa"):
        with pytest.raises(KeyRingError):
            SigningKey.generate("k", alg=alg)
