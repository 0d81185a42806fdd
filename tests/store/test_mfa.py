"""Tests for iamguard.store.mfa: TOTP (RFC 6238) over HOTP (RFC 4226) and code verification."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.errors import InvalidInputError
from iamguard.store.mfa import generate_totp_secret, provisioning_uri, totp, verify_consecutive, verify_totp

DATA = Path(__file__).resolve().parent.parent / "data" / "mfa"
RFC6238 = json.loads((DATA / "rfc6238_vectors.json").read_text(encoding="utf-8"))
RFC4226 = json.loads((DATA / "rfc4226_vectors.json").read_text(encoding="utf-8"))
SEED = base64.b32encode(b"12345678901234567890").decode()


def _b32(ascii_seed: str) -> str:
    return base64.b32encode(ascii_seed.encode("ascii")).decode()


@pytest.mark.parametrize(
    "row", RFC6238["vectors"], ids=[f"{v['algorithm']}-{v['time']}" for v in RFC6238["vectors"]]
)
def test_rfc6238_appendix_b(row: dict[str, Any]) -> None:
    secret = _b32(RFC6238["seeds"][row["algorithm"]])
    assert int(row["step_hex"], 16) == row["time"] // 30
    assert totp(secret, row["time"], digits=8, algorithm=row["algorithm"]) == row["totp"]


@pytest.mark.parametrize("row", RFC4226["vectors"], ids=[str(v["counter"]) for v in RFC4226["vectors"]])
def test_rfc4226_appendix_d(row: dict[str, Any]) -> None:
    assert totp(_b32(RFC4226["seed"]), row["counter"], step=1) == row["hotp"]


def test_secret_is_160_bit_base32() -> None:
    secret = generate_totp_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert len(base64.b32decode(secret)) == 20
    assert secret != generate_totp_secret()


def test_secret_decoding_forgives_case_spaces_padding() -> None:
    spaced = " ".join(SEED.lower()[i : i + 4] for i in range(0, len(SEED), 4))
    assert totp(spaced, 59) == totp(SEED, 59) == totp(SEED.rstrip("=") + "====", 59)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"secret_b32": "not base32!", "at": 0}, "base32"),
        ({"secret_b32": "", "at": 0}, "empty"),
        ({"secret_b32": SEED, "at": -1}, "non-negative"),
        ({"secret_b32": SEED, "at": float("nan")}, "finite"),
        ({"secret_b32": SEED, "at": 0, "step": 0}, "positive"),
        ({"secret_b32": SEED, "at": 0, "digits": 5}, "6 to 10"),
        ({"secret_b32": SEED, "at": 0, "algorithm": "md5"}, "unsupported"),
    ],
)
def test_bad_inputs(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        totp(**kwargs)


# ---------------------------------------------------------------- verify_totp

NOW = 1_700_000_000.0
STEP_NOW = int(NOW // 30)


def test_accepts_current_and_adjacent_steps_only() -> None:
    for offset in (-1, 0, 1):
        code = totp(SEED, NOW + 30 * offset)
        assert verify_totp(SEED, code, NOW) == STEP_NOW + offset
    for offset in (-3, 3):
        code = totp(SEED, NOW + 30 * offset)
        if code not in {totp(SEED, NOW + 30 * o) for o in (-1, 0, 1)}:
            assert verify_totp(SEED, code, NOW) is None


def test_window_zero_is_exact() -> None:
    assert verify_totp(SEED, totp(SEED, NOW - 30), NOW, window=0) is None
    assert verify_totp(SEED, totp(SEED, NOW), NOW, window=0) == STEP_NOW


def test_replay_is_refused() -> None:
    """RFC 6238 section 5.2: the verifier must not accept the second attempt of the same OTP."""
    code = totp(SEED, NOW)
    used = verify_totp(SEED, code, NOW)
    assert used == STEP_NOW
    assert verify_totp(SEED, code, NOW + 5, last_used_step=used) is None
    # an older step is refused too, a newer one is fine
    assert verify_totp(SEED, totp(SEED, NOW - 30), NOW, last_used_step=used) is None
    assert verify_totp(SEED, totp(SEED, NOW + 30), NOW + 30, last_used_step=used) == STEP_NOW + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", " 12345", "١٢٣٤٥٦", None, 123456])
def test_malformed_codes_are_refused(code: Any) -> None:
    assert verify_totp(SEED, code, NOW) is None


_secrets = st.binary(min_size=10, max_size=40).map(lambda b: base64.b32encode(b).decode())
_times = st.integers(min_value=3600, max_value=2**34)


@settings(max_examples=200)
@given(_secrets, _times, st.integers(0, 29))
def test_current_code_accepted_and_not_reusable(secret: str, at: int, later: int) -> None:
    step = verify_totp(secret, totp(secret, at), at)
    assert step == at // 30
    assert verify_totp(secret, totp(secret, at), at + later, last_used_step=step) is None


@settings(max_examples=100)
@given(_secrets, _times, st.integers(-1, 1))
def test_returned_step_produces_the_code(secret: str, at: int, offset: int) -> None:
    code = totp(secret, at + 30 * offset)
    step = verify_totp(secret, code, at)
    assert step is not None and abs(step - at // 30) <= 1
    assert totp(secret, step * 30) == code


# ---------------------------------------------------------------- consecutive codes


def test_consecutive_codes_at_drift() -> None:
    """EnableMFADevice / ResyncMFADevice take two consecutive codes.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ResyncMFADevice.html"""
    for drift in (-9, -3, 0, 4, 8):
        first, second = totp(SEED, NOW + 30 * drift), totp(SEED, NOW + 30 * (drift + 1))
        assert verify_consecutive(SEED, first, second, NOW) == STEP_NOW + drift + 1


def test_consecutive_codes_out_of_order_or_out_of_window() -> None:
    first, second = totp(SEED, NOW), totp(SEED, NOW + 30)
    assert verify_consecutive(SEED, second, first, NOW) is None
    assert verify_consecutive(SEED, first, first, NOW) is None
    far = NOW + 30 * 11
    assert verify_consecutive(SEED, totp(SEED, far), totp(SEED, far + 30), NOW) is None
    # s + 1 must also be inside the window
    edge = NOW + 30 * 10
    assert verify_consecutive(SEED, totp(SEED, edge), totp(SEED, edge + 30), NOW) is None
    assert verify_consecutive(SEED, first, second, NOW, last_used_step=STEP_NOW) is None
    assert verify_consecutive(SEED, "abcdef", second, NOW) is None


@settings(max_examples=100)
@given(_secrets, _times, st.integers(-5, 4))
def test_consecutive_round_trip(secret: str, at: int, drift: int) -> None:
    s = at // 30 + drift
    result = verify_consecutive(secret, totp(secret, s * 30), totp(secret, (s + 1) * 30), at, window=5)
    assert result is not None and totp(secret, (result - 1) * 30) == totp(secret, s * 30)


# ---------------------------------------------------------------- provisioning URI


def test_provisioning_uri() -> None:
    uri = provisioning_uri(SEED, account_name="alice@123456789012", issuer="Example Corp")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert unquote(parts.path) == "/Example Corp:alice@123456789012"
    query = parse_qs(parts.query)
    assert query == {
        "secret": [SEED.rstrip("=")],
        "issuer": ["Example Corp"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }


@pytest.mark.parametrize(("account", "issuer"), [("a:b", "iamguard"), ("alice", "x:y"), ("", "iamguard")])
def test_provisioning_uri_refuses_ambiguous_labels(account: str, issuer: str) -> None:
    with pytest.raises(InvalidInputError):
        provisioning_uri(SEED, account_name=account, issuer=issuer)
