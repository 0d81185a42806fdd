"""Tests for iamguard.store.secrets: sealing access-key secrets under a rotating master key."""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.errors import StoreError
from iamguard.store.secrets import SecretBox, generate_secret_access_key

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
B64_A = base64.b64encode(KEY_A).decode()
B64URL_B = base64.urlsafe_b64encode(KEY_B).decode().rstrip("=")
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS documentation's example key


def _box() -> SecretBox:
    return SecretBox({"a": KEY_A}, "a")


# ---------------------------------------------------------------- seal / open


def test_sealed_text_format_and_round_trip() -> None:
    sealed = _box().seal(SECRET, context="AKIAIOSFODNN7EXAMPLE")
    assert re.fullmatch(r"v1:a:[A-Za-z0-9_-]+", sealed)
    assert SECRET not in sealed
    assert _box().open(sealed, context="AKIAIOSFODNN7EXAMPLE") == SECRET


def test_each_seal_uses_a_fresh_nonce() -> None:
    box = _box()
    assert box.seal(SECRET, context="k") != box.seal(SECRET, context="k")


@settings(max_examples=100)
@given(st.text(), st.text())
def test_round_trip_any_text_and_context(secret: str, context: str) -> None:
    box = _box()
    assert box.open(box.seal(secret, context=context), context=context) == secret


@settings(max_examples=100)
@given(st.text(min_size=1), st.text(), st.text())
def test_wrong_context_fails(secret: str, context: str, other: str) -> None:
    box = _box()
    sealed = box.seal(secret, context=context)
    if other != context:
        with pytest.raises(StoreError):
            box.open(sealed, context=other)


@settings(max_examples=300)
@given(st.data())
def test_any_single_byte_change_fails_to_open(data: st.DataObject) -> None:
    box = SecretBox({"a": KEY_A, "b": KEY_B}, "a")
    sealed = box.seal(data.draw(st.text(max_size=50)), context="AKIDEXAMPLE").encode("ascii")
    index = data.draw(st.integers(0, len(sealed) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != sealed[index]))
    altered = sealed[:index] + bytes([replacement]) + sealed[index + 1 :]
    with pytest.raises(StoreError):
        box.open(altered.decode("latin-1"), context="AKIDEXAMPLE")


def test_sealed_row_moved_to_another_access_key_fails() -> None:
    box = _box()
    with pytest.raises(StoreError):
        box.open(box.seal(SECRET, context="AKIAAAAAAAAAAAAAAAAA"), context="AKIABBBBBBBBBBBBBBBB")


@pytest.mark.parametrize(
    "sealed",
    [
        "",
        "v1",
        "v1:a",
        "v2:a:AAAA",
        "v1:a:",
        "v1:a:AAAA",
        "v1:a:not base64!",
        "v1:zz:" + "A" * 40,
        "plain secret",
    ],
)
def test_malformed_sealed_text_is_refused_without_echoing_it(sealed: str) -> None:
    with pytest.raises(StoreError) as info:
        _box().open(sealed, context="k")
    assert "not base64!" not in str(info.value) and "plain secret" not in str(info.value)


def test_error_messages_never_contain_the_secret_or_keys() -> None:
    box = _box()
    sealed = box.seal(SECRET, context="k")
    with pytest.raises(StoreError) as info:
        box.open(sealed, context="other")
    message = str(info.value)
    assert SECRET not in message and B64_A not in message
    assert B64_A not in repr(box) and "kids=['a']" in repr(box)


# ---------------------------------------------------------------- rotation


def test_rotation_path() -> None:
    old = SecretBox({"old": KEY_A}, "old")
    sealed = old.seal(SECRET, context="AKID1")
    rotated = SecretBox({"new": KEY_B, "old": KEY_A}, "new")
    assert rotated.needs_rotation(sealed)
    resealed = rotated.reseal(sealed, context="AKID1")
    assert resealed.startswith("v1:new:")
    assert not rotated.needs_rotation(resealed)
    assert rotated.reseal(resealed, context="AKID1") == resealed  # idempotent
    after = SecretBox({"new": KEY_B}, "new")  # old key dropped once everything is resealed
    assert after.open(resealed, context="AKID1") == SECRET
    with pytest.raises(StoreError, match="unknown master key id 'old'"):
        after.open(sealed, context="AKID1")


def test_reseal_refuses_tampered_input() -> None:
    box = SecretBox({"new": KEY_B, "old": KEY_A}, "new")
    sealed = SecretBox({"old": KEY_A}, "old").seal(SECRET, context="AKID1")
    with pytest.raises(StoreError):
        box.reseal(sealed, context="AKID2")


def test_same_kid_with_a_different_key_fails() -> None:
    sealed = SecretBox({"a": KEY_A}, "a").seal(SECRET, context="k")
    with pytest.raises(StoreError, match="failed authentication"):
        SecretBox({"a": KEY_B}, "a").open(sealed, context="k")


# ---------------------------------------------------------------- construction


@pytest.mark.parametrize(
    ("keys", "primary"),
    [({}, "a"), ({"a": b"short"}, "a"), ({"a": KEY_A}, "b"), ({"a:b": KEY_A}, "a:b"), ({"": KEY_A}, "")],
)
def test_bad_key_configuration(keys: dict[str, bytes], primary: str) -> None:
    with pytest.raises(StoreError):
        SecretBox(keys, primary)


def test_from_env_single_key_has_kid_default() -> None:
    box = SecretBox.from_env({"IAMGUARD_MASTER_KEY": B64_A})
    assert box.primary == "default" and box.kids == {"default"} and not box.is_dev
    assert box.open(SecretBox({"default": KEY_A}, "default").seal("s", context="c"), context="c") == "s"


def test_from_env_key_list_first_is_primary() -> None:
    box = SecretBox.from_env({"IAMGUARD_MASTER_KEY": f"k2:{B64URL_B}, default:{B64_A}"})
    assert box.primary == "k2" and box.kids == {"k2", "default"}


def test_from_env_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text(f"k2:{B64URL_B}\nk1:{B64_A}\n")
    box = SecretBox.from_env({"IAMGUARD_MASTER_KEY_FILE": str(path)})
    assert box.primary == "k2" and box.kids == {"k1", "k2"}


def test_generated_key_is_accepted() -> None:
    key = SecretBox.generate_key()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key)
    assert SecretBox.from_env({"IAMGUARD_MASTER_KEY": key}).primary == "default"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "IAMGUARD_MASTER_KEY_FILE"),
        ({"IAMGUARD_DEV_MASTER_KEY": "true"}, "IAMGUARD_MASTER_KEY"),
        ({"IAMGUARD_MASTER_KEY": B64_A, "IAMGUARD_MASTER_KEY_FILE": "/x"}, "not both"),
        ({"IAMGUARD_MASTER_KEY": base64.b64encode(b"x" * 16).decode()}, "32 bytes"),
        ({"IAMGUARD_MASTER_KEY": "not*base64"}, "not base64"),
        ({"IAMGUARD_MASTER_KEY": f"a:{B64_A},a:{B64URL_B}"}, "appears twice"),
        ({"IAMGUARD_MASTER_KEY_FILE": "/nonexistent/iamguard/master.key"}, "cannot read"),
    ],
)
def test_from_env_refusals(env: dict[str, str], message: str) -> None:
    with pytest.raises(StoreError, match=message) as info:
        SecretBox.from_env(env)
    assert B64_A not in str(info.value)


def test_missing_key_message_names_both_variables() -> None:
    with pytest.raises(StoreError) as info:
        SecretBox.from_env({})
    assert re.search(r"IAMGUARD_MASTER_KEY(?!_)", str(info.value))
    assert "IAMGUARD_MASTER_KEY_FILE" in str(info.value)


def test_dev_key_is_opt_in_and_loud(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="iamguard.store.secrets"):
        box = SecretBox.from_env({"IAMGUARD_DEV_MASTER_KEY": "1"}, dev_key=KEY_A)
    assert box.is_dev and box.primary == "dev"
    assert "DEVELOPMENT" in caplog.text
    # the per-store key opens what the same store sealed before a restart
    again = SecretBox.from_env({"IAMGUARD_DEV_MASTER_KEY": "1"}, dev_key=KEY_A)
    assert again.open(box.seal(SECRET, context="k"), context="k") == SECRET


def test_dev_key_without_store_key_is_ephemeral() -> None:
    one = SecretBox.from_env({"IAMGUARD_DEV_MASTER_KEY": "1"})
    two = SecretBox.from_env({"IAMGUARD_DEV_MASTER_KEY": "1"})
    with pytest.raises(StoreError):
        two.open(one.seal(SECRET, context="k"), context="k")


def test_real_key_wins_over_dev_flag() -> None:
    box = SecretBox.from_env({"IAMGUARD_MASTER_KEY": B64_A, "IAMGUARD_DEV_MASTER_KEY": "1"})
    assert not box.is_dev and box.primary == "default"


# ---------------------------------------------------------------- access key secrets


def test_generate_secret_access_key_shape() -> None:
    keys = {generate_secret_access_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert re.fullmatch(r"[A-Za-z0-9/+]{40}", key)
