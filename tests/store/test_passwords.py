"""Tests for iamguard.store.passwords: hashing, AWS password policy, expiry and lockout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, Type, profiles
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.errors import InvalidInputError
from iamguard.store.passwords import (
    AWS_SYMBOLS,
    DEFAULT_HASHER,
    LockoutPolicy,
    PasswordPolicy,
    check_password_policy,
    hash_password,
    lockout_state,
    needs_rehash,
    password_expired,
    use_password_hasher,
    verify_password,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "passwords"


def _cases(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((DATA / name).read_text(encoding="utf-8"))["cases"]
    return cases


def _ids(name: str) -> list[str]:
    return [c["id"] for c in _cases(name)]


# ---------------------------------------------------------------- hashing


@pytest.fixture
def production_hasher() -> Iterator[None]:
    """The hasher production uses (the suite's conftest installs a cheap one)."""
    previous = use_password_hasher(DEFAULT_HASHER)
    yield
    use_password_hasher(previous)


def test_the_default_hasher_is_argon2ids_rfc_9106_low_memory_profile() -> None:
    assert DEFAULT_HASHER.type is Type.ID
    assert (DEFAULT_HASHER.time_cost, DEFAULT_HASHER.memory_cost, DEFAULT_HASHER.parallelism) == (
        profiles.RFC_9106_LOW_MEMORY.time_cost,
        profiles.RFC_9106_LOW_MEMORY.memory_cost,
        profiles.RFC_9106_LOW_MEMORY.parallelism,
    )


@pytest.mark.usefixtures("production_hasher")
def test_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert verify_password(first, "correct horse") and verify_password(second, "correct horse")
    assert not verify_password(first, "correct horsE")
    assert not needs_rehash(first)


@pytest.mark.parametrize(
    "stored", ["", "plaintext", "$argon2id$v=19$garbage", "$2b$12$abcdefghijklmnopqrstuv"]
)
def test_malformed_hash_never_verifies_and_never_raises(stored: str) -> None:
    assert verify_password(stored, "plaintext") is False
    assert needs_rehash(stored) is True


@pytest.mark.usefixtures("production_hasher")
def test_weaker_parameters_need_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    assert verify_password(weak, "pw")
    assert needs_rehash(weak)


# ---------------------------------------------------------------- policy rows


def _policy(spec: str | dict[str, Any]) -> PasswordPolicy:
    if isinstance(spec, str):
        assert spec == "aws-default"
        return PasswordPolicy()
    return PasswordPolicy.from_json(spec)


@pytest.mark.parametrize("case", _cases("policy_cases.json"), ids=_ids("policy_cases.json"))
def test_check_password_policy_rows(case: dict[str, Any]) -> None:
    password = case["password"] if "password" in case else case["repeat"][0] * case["repeat"][1]
    problems = check_password_policy(password, _policy(case["policy"]), user_name=case.get("user_name"))
    assert len(problems) == len(case["problems"]), problems
    for text, expected in zip(problems, case["problems"], strict=False):
        assert expected in text
        assert password not in text  # never echo the password


@pytest.mark.parametrize("case", _cases("policy_validation.json"), ids=_ids("policy_validation.json"))
def test_policy_validation_rows(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(InvalidInputError) as info:
            PasswordPolicy.from_json(case["json"])
        for expected in case["error"]:
            assert expected in str(info.value)
        return
    policy = PasswordPolicy.from_json(case["json"])
    for attr, value in case["expect"].items():
        assert getattr(policy, attr) == value


def test_default_policy_is_awss_default() -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html"""
    policy = PasswordPolicy()
    policy.validate()
    assert policy.minimum_password_length == 8
    assert policy.minimum_character_types == 3
    assert policy.max_password_age is None and not policy.expire_passwords


def test_validate_rejects_directly_built_bad_values() -> None:
    with pytest.raises(InvalidInputError, match="between 1 and 24"):
        PasswordPolicy(password_reuse_prevention=0).validate()
    with pytest.raises(InvalidInputError, match="MinimumCharacterTypes"):
        PasswordPolicy(minimum_character_types=5).validate()


def test_to_json_is_awss_shape() -> None:
    policy = PasswordPolicy.from_json(
        {"MinimumPasswordLength": 12, "MaxPasswordAge": 90, "RequireNumbers": True}
    )
    assert policy.to_json() == {
        "MinimumPasswordLength": 12,
        "RequireSymbols": False,
        "RequireNumbers": True,
        "RequireUppercaseCharacters": False,
        "RequireLowercaseCharacters": False,
        "AllowUsersToChangePassword": False,
        "MaxPasswordAge": 90,
        "HardExpiry": False,
        "ExpirePasswords": True,
    }


_policies = st.builds(
    PasswordPolicy,
    minimum_password_length=st.integers(6, 128),
    require_symbols=st.booleans(),
    require_numbers=st.booleans(),
    require_uppercase_characters=st.booleans(),
    require_lowercase_characters=st.booleans(),
    allow_users_to_change_password=st.booleans(),
    max_password_age=st.none() | st.integers(1, 1095),
    password_reuse_prevention=st.none() | st.integers(1, 24),
    hard_expiry=st.booleans(),
    minimum_character_types=st.integers(0, 4),
)


@given(_policies)
def test_json_round_trip(policy: PasswordPolicy) -> None:
    assert PasswordPolicy.from_json(json.loads(json.dumps(policy.to_json()))) == policy


_latin1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF)


@given(st.text(_latin1, max_size=40), _policies)
def test_problems_exactly_when_a_rule_is_broken(password: str, policy: PasswordPolicy) -> None:
    """An independent restatement of the rules agrees with check_password_policy."""
    kinds = [
        any(c.isascii() and c.isupper() for c in password),
        any(c.isascii() and c.islower() for c in password),
        any(c.isascii() and c.isdigit() for c in password),
        any(c in AWS_SYMBOLS for c in password),
    ]
    broken = (
        len(password) < policy.minimum_password_length
        or (policy.require_uppercase_characters and not kinds[0])
        or (policy.require_lowercase_characters and not kinds[1])
        or (policy.require_numbers and not kinds[2])
        or (policy.require_symbols and not kinds[3])
        or sum(kinds) < policy.minimum_character_types
    )
    assert bool(check_password_policy(password, policy)) == broken


# ---------------------------------------------------------------- reuse prevention


def test_reuse_prevention_counts_only_the_most_recent() -> None:
    """PasswordReusePrevention: the number of previous passwords users are prevented from reusing.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_PasswordPolicy.html"""
    history = [hash_password(p) for p in ("Third-3!", "Second-2!", "First-1!")]  # most recent first
    policy = PasswordPolicy.from_json({"PasswordReusePrevention": 2})
    assert any(
        "previous 2 passwords" in p
        for p in check_password_policy("Second-2!", policy, previous_hashes=history)
    )
    assert check_password_policy("First-1!", policy, previous_hashes=history) == []
    assert check_password_policy("Second-2!", PasswordPolicy.from_json({}), previous_hashes=history) == []


# ---------------------------------------------------------------- expiry and lockout


@pytest.mark.parametrize("case", _cases("expiry_cases.json"), ids=_ids("expiry_cases.json"))
def test_password_expired_rows(case: dict[str, Any]) -> None:
    policy = PasswordPolicy.from_json({"MaxPasswordAge": case["max_password_age"] or 0})
    changed = datetime.fromisoformat(case["changed_at"])
    assert password_expired(changed, policy, datetime.fromisoformat(case["now"])) is case["expired"]


_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("case", _cases("lockout_cases.json"), ids=_ids("lockout_cases.json"))
def test_lockout_rows(case: dict[str, Any]) -> None:
    policy = LockoutPolicy(max_failures=case["max_failures"], lockout_seconds=case["lockout_seconds"])
    last = None if case["last_failure"] is None else _EPOCH + timedelta(seconds=case["last_failure"])
    now = _EPOCH + timedelta(seconds=case["now"])
    assert lockout_state(case["failures"], last, policy, now) == (case["locked"], case["remaining"])


@pytest.mark.parametrize("kwargs", [{"max_failures": 0}, {"lockout_seconds": -1}, {"max_failures": True}])
def test_lockout_policy_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        LockoutPolicy(**kwargs)


@settings(max_examples=200)
@given(st.integers(0, 100), st.integers(0, 10_000), st.integers(1, 10), st.integers(0, 3600))
def test_lockout_never_exceeds_the_period(
    failures: int, elapsed: int, max_failures: int, seconds: int
) -> None:
    policy = LockoutPolicy(max_failures=max_failures, lockout_seconds=seconds)
    locked, remaining = lockout_state(failures, _EPOCH, policy, _EPOCH + timedelta(seconds=elapsed))
    assert 0 <= remaining <= seconds
    assert locked == (remaining > 0)
    assert locked == (failures >= max_failures and elapsed < seconds)
