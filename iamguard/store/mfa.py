"""Virtual MFA devices: TOTP codes (RFC 6238) built on HOTP (RFC 4226).

Part of the identity store (``store/``), pure: the store keeps each device's seed and the last
time step it accepted; this module computes and checks codes. Times are Unix seconds passed in
by the caller (never read from a clock here), which keeps every function deterministic.

AWS virtual MFA devices use 160-bit base32 seeds, 6 digits, 30-second steps and HMAC-SHA1;
``EnableMFADevice`` and ``ResyncMFADevice`` take two consecutive codes.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_VirtualMFADevice.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html
https://www.rfc-editor.org/rfc/rfc6238  https://www.rfc-editor.org/rfc/rfc4226
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import os
from urllib.parse import quote, urlencode

from iamguard.errors import InvalidInputError

__all__ = ["generate_totp_secret", "provisioning_uri", "totp", "verify_consecutive", "verify_totp"]

_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
_SEED_BYTES = 20  # 160 bits, RFC 4226 section 4 recommends >= 160 and AWS issues 160


def generate_totp_secret() -> str:
    """A new random 160-bit seed in base32 without padding (AWS's ``Base32StringSeed`` form)."""
    return base64.b32encode(os.urandom(_SEED_BYTES)).decode("ascii").rstrip("=")


def totp(secret_b32: str, at: float, *, step: int = 30, digits: int = 6, algorithm: str = "sha1") -> str:
    """The TOTP code of ``secret_b32`` at Unix time ``at`` (RFC 6238 section 4)."""
    _check_step(step)
    return _hotp(_decode_secret(secret_b32), _time_step(at, step), digits=digits, algorithm=algorithm)


def verify_totp(
    secret_b32: str,
    code: str,
    at: float,
    *,
    window: int = 1,
    last_used_step: int | None = None,
    step: int = 30,
    digits: int = 6,
    algorithm: str = "sha1",
) -> int | None:
    """The time step ``code`` belongs to, within ``window`` steps of ``at``, or None.

    Steps at or before ``last_used_step`` are refused, so an accepted code (or an older one)
    cannot be replayed (RFC 6238 section 5.2); the caller stores the returned step as the new
    ``last_used_step``. All candidate steps are computed and compared in constant time, and the
    step nearest to ``at`` wins should two share a code.
    """
    key, current = _prepare(secret_b32, at, step, window)
    if not _well_formed(code, digits):
        return None
    matched: int | None = None
    for candidate in _nearest_first(current, window):
        if candidate < 0 or (last_used_step is not None and candidate <= last_used_step):
            continue
        expected = _hotp(key, candidate, digits=digits, algorithm=algorithm)
        if hmac.compare_digest(expected, code) and matched is None:
            matched = candidate
    return matched


def verify_consecutive(
    secret_b32: str,
    code1: str,
    code2: str,
    at: float,
    *,
    window: int = 10,
    last_used_step: int | None = None,
    step: int = 30,
    digits: int = 6,
    algorithm: str = "sha1",
) -> int | None:
    """The step of ``code2`` when ``code1`` and ``code2`` are the codes of two consecutive steps
    ``s`` and ``s + 1``, both within ``window`` steps of ``at``; None otherwise.

    This is how ``EnableMFADevice`` and ``ResyncMFADevice`` prove possession of the device and
    learn its clock drift; the wider default window is what makes resynchronising useful. The
    returned ``s + 1`` becomes the device's ``last_used_step``. Steps at or before
    ``last_used_step`` are refused as in :func:`verify_totp`.
    """
    key, current = _prepare(secret_b32, at, step, window)
    if not (_well_formed(code1, digits) and _well_formed(code2, digits)):
        return None
    codes = {
        s: _hotp(key, s, digits=digits, algorithm=algorithm)
        for s in range(max(current - window, 0), current + window + 1)
    }
    matched: int | None = None
    for first in _nearest_first(current, window):
        second = first + 1
        if first not in codes or second not in codes:
            continue
        if last_used_step is not None and first <= last_used_step:
            continue
        both = hmac.compare_digest(codes[first], code1) & hmac.compare_digest(codes[second], code2)
        if both and matched is None:
            matched = second
    return matched


def provisioning_uri(secret_b32: str, *, account_name: str, issuer: str = "iamguard") -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from a QR code.

    Follows the Key Uri Format: label ``issuer:account_name`` plus the ``issuer`` parameter, and
    the parameters iamguard's codes use (SHA1, 6 digits, 30 s). A colon inside either name would
    make the label ambiguous, so it is refused.
    https://github.com/google/google-authenticator/wiki/Key-Uri-Format
    """
    secret = base64.b32encode(_decode_secret(secret_b32)).decode("ascii").rstrip("=")
    for label, value in (("account_name", account_name), ("issuer", issuer)):
        if not value or ":" in value:
            raise InvalidInputError(f"MFA {label} must be non-empty and contain no ':'")
    path = f"{quote(issuer, safe='')}:{quote(account_name, safe='')}"
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": "6", "period": "30"},
        quote_via=quote,
    )
    return f"otpauth://totp/{path}?{query}"


# ---------------------------------------------------------------- RFC 4226 / 6238 steps


def _hotp(key: bytes, counter: int, *, digits: int, algorithm: str) -> str:
    """HOTP value of ``counter`` (RFC 4226 section 5.3: HMAC, dynamic truncation, modulo)."""
    digest = _algorithm(algorithm)
    if not 6 <= digits <= 10 or isinstance(digits, bool):
        raise InvalidInputError("TOTP codes have 6 to 10 digits")
    mac = hmac.new(key, counter.to_bytes(8, "big"), digest).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def _time_step(at: float, step: int) -> int:
    """T = floor((at - T0) / X) with T0 = 0 (RFC 6238 section 4.2)."""
    if not math.isfinite(at) or at < 0:
        raise InvalidInputError("TOTP time must be a finite, non-negative Unix time")
    return int(at // step)


def _decode_secret(secret_b32: str) -> bytes:
    """Seed bytes from base32 (case, spaces and padding forgiven, as apps display it)."""
    cleaned = secret_b32.replace(" ", "").upper().rstrip("=") if isinstance(secret_b32, str) else ""
    try:
        key = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise InvalidInputError("MFA seed is not valid base32") from None
    if not key:
        raise InvalidInputError("MFA seed is empty")
    return key


def _algorithm(name: str) -> str:
    if name.lower() not in _ALGORITHMS:
        raise InvalidInputError(f"unsupported TOTP algorithm {name!r} (sha1, sha256, sha512)")
    return name.lower()


def _check_step(step: int) -> None:
    if not isinstance(step, int) or isinstance(step, bool) or step < 1:
        raise InvalidInputError("TOTP step must be a positive number of seconds")


def _prepare(secret_b32: str, at: float, step: int, window: int) -> tuple[bytes, int]:
    _check_step(step)
    if not isinstance(window, int) or isinstance(window, bool) or window < 0:
        raise InvalidInputError("TOTP window must be a non-negative number of steps")
    return _decode_secret(secret_b32), _time_step(at, step)


def _well_formed(code: str, digits: int) -> bool:
    return isinstance(code, str) and len(code) == digits and code.isascii() and code.isdigit()


def _nearest_first(current: int, window: int) -> list[int]:
    """current, current-1, current+1, current-2, ... out to ``window`` steps each way."""
    order = [current]
    for distance in range(1, window + 1):
        order += [current - distance, current + distance]
    return order
