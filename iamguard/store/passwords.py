"""Console (login) passwords: hashing, the account password policy, expiry and lockout.

Part of the identity store (``store/``), pure: the store keeps the hashes, timestamps and
failure counts; this module only decides. Passwords are hashed with argon2id (argon2-cffi's
``PasswordHasher`` with its RFC 9106 defaults) and never stored, logged or echoed in messages.

The account password policy follows AWS:
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_PasswordPolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccountPasswordPolicy.html
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from iamguard.errors import InvalidInputError

__all__ = [
    "AWS_SYMBOLS",
    "MAXIMUM_PASSWORD_LENGTH",
    "LockoutPolicy",
    "PasswordPolicy",
    "check_password_policy",
    "hash_password",
    "lockout_state",
    "needs_rehash",
    "password_expired",
    "use_password_hasher",
    "verify_password",
]

#: argon2-cffi's defaults (RFC 9106's low-memory profile: argon2id, t=3, 64 MiB, p=4): what
#: every hash is made with unless :func:`use_password_hasher` says otherwise.
DEFAULT_HASHER = PasswordHasher()
_hasher = DEFAULT_HASHER

#: The symbols ``RequireSymbols`` counts, exactly as the PasswordPolicy API reference lists them.
AWS_SYMBOLS = frozenset("!@#$%^&*()_+-=[]{}|'")

#: Upper bound of every IAM console password (CreateLoginProfile ``Password``: 1-128 characters).
#: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateLoginProfile.html
MAXIMUM_PASSWORD_LENGTH = 128

# CreateLoginProfile ``Password`` pattern: tab, LF, CR and U+0020-U+00FF.
_ALLOWED_CHARACTERS = re.compile(r"[\u0009\u000A\u000D\u0020-\u00FF]*")


# ---------------------------------------------------------------- hashing


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash passwords (and judge :func:`needs_rehash`) with ``hasher`` from now on, in this
    process; returns the hasher it replaces.

    For test suites and development only: a hash with the defaults costs ~0.2 s of CPU and
    64 MiB on purpose, which a test suite that creates hundreds of console passwords pays in
    minutes; ``PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)`` costs ~0.1 ms.
    Verifying needs no setting: a hash carries its own parameters, so hashes made either way
    keep verifying, and a production hasher asks for a rehash of a cheap one at next sign-in.
    """
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


def hash_password(password: str) -> str:
    """An argon2id PHC string for ``password`` (salted; two calls never return the same text)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; False (never an exception) for a wrong
    password or a hash that is malformed or not argon2 -- failing closed."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError, TypeError, ValueError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with weaker parameters than today's (rehash at next login).

    A malformed hash also answers True: it cannot verify, so it must be replaced anyway.
    """
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except (InvalidHashError, TypeError, ValueError):
        return True


# ---------------------------------------------------------------- policy

# (attribute, AWS field) in the order the PasswordPolicy API reference lists them.
_AWS_FIELDS: tuple[tuple[str, str], ...] = (
    ("minimum_password_length", "MinimumPasswordLength"),
    ("require_symbols", "RequireSymbols"),
    ("require_numbers", "RequireNumbers"),
    ("require_uppercase_characters", "RequireUppercaseCharacters"),
    ("require_lowercase_characters", "RequireLowercaseCharacters"),
    ("allow_users_to_change_password", "AllowUsersToChangePassword"),
    ("max_password_age", "MaxPasswordAge"),
    ("password_reuse_prevention", "PasswordReusePrevention"),
    ("hard_expiry", "HardExpiry"),
    ("minimum_character_types", "MinimumCharacterTypes"),
)
_READ_ONLY_FIELDS = frozenset({"ExpirePasswords"})


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """An account password policy.

    ``PasswordPolicy()`` is **AWS's default policy**, the one in force while an account has set
    no custom policy: at least 8 characters (and at most 128), at least three of the four
    character types (uppercase, lowercase, numbers, the AWS symbols), never expires.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html

    A custom policy (``UpdateAccountPasswordPolicy``) has no "three of four" rule and, for
    every parameter left out, the API's defaults: 6 characters, nothing required, no expiry, no
    reuse prevention. Build it with :meth:`from_json` (AWS field names, AWS defaults) or pass
    ``minimum_character_types=0`` explicitly.

    ``minimum_character_types`` is iamguard's name for the default policy's "three of four"
    rule (AWS has no such API field); 0 switches it off. AWS's default policy also refuses a
    password identical to the account name or e-mail; :func:`check_password_policy` refuses
    one identical to the user name under every policy.
    """

    minimum_password_length: int = 8
    require_symbols: bool = False
    require_numbers: bool = False
    require_uppercase_characters: bool = False
    require_lowercase_characters: bool = False
    allow_users_to_change_password: bool = False
    max_password_age: int | None = None
    password_reuse_prevention: int | None = None
    hard_expiry: bool = False
    minimum_character_types: int = 3

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` listing every value outside AWS's valid ranges."""
        problems = [p for p in (_check_types(self), _check_ranges(self)) if p]
        if problems:
            raise InvalidInputError("; ".join(problems))

    @property
    def expire_passwords(self) -> bool:
        """AWS's read-only ``ExpirePasswords``: true when ``MaxPasswordAge`` is set."""
        return self.max_password_age is not None

    def to_json(self) -> dict[str, Any]:
        """The policy in AWS's ``PasswordPolicy`` shape (``GetAccountPasswordPolicy``).

        Unset optional fields are left out, as AWS leaves them out; ``MinimumCharacterTypes``
        (not an AWS field) appears only when non-zero, so a custom policy looks exactly like
        AWS's answer.
        """
        out: dict[str, Any] = {}
        for attr, key in _AWS_FIELDS:
            value = getattr(self, attr)
            if value is None or (attr == "minimum_character_types" and value == 0):
                continue
            out[key] = value
        out["ExpirePasswords"] = self.expire_passwords
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PasswordPolicy:
        """A custom policy from AWS field names, with ``UpdateAccountPasswordPolicy``'s defaults
        for every field left out (0 for ``MaxPasswordAge``/``PasswordReusePrevention`` means
        unset, as the API's default value 0 does). Validated; :class:`InvalidInputError` lists
        unknown fields and every bad value."""
        known = {key for _, key in _AWS_FIELDS} | _READ_ONLY_FIELDS
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise InvalidInputError(f"unknown password policy fields: {', '.join(unknown)}")
        values: dict[str, Any] = {"minimum_password_length": 6, "minimum_character_types": 0}
        for attr, key in _AWS_FIELDS:
            if key in data:
                values[attr] = data[key]
        for attr in ("max_password_age", "password_reuse_prevention"):
            if values.get(attr) == 0 and not isinstance(values.get(attr), bool):
                values[attr] = None
        policy = cls(**values)
        policy.validate()
        return policy


def _check_types(policy: PasswordPolicy) -> str:
    bad = []
    for f in fields(policy):
        value = getattr(policy, f.name)
        if f.name in ("minimum_password_length", "minimum_character_types"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif f.name in ("max_password_age", "password_reuse_prevention"):
            ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
        else:
            ok = isinstance(value, bool)
        if not ok:
            bad.append(f.name)
    return f"wrong type for {', '.join(bad)}" if bad else ""


def _check_ranges(policy: PasswordPolicy) -> str:
    if _check_types(policy):
        return ""
    problems = []
    if not 6 <= policy.minimum_password_length <= MAXIMUM_PASSWORD_LENGTH:
        problems.append("MinimumPasswordLength must be between 6 and 128")
    if policy.max_password_age is not None and not 1 <= policy.max_password_age <= 1095:
        problems.append("MaxPasswordAge must be between 1 and 1095 days")
    if policy.password_reuse_prevention is not None and not 1 <= policy.password_reuse_prevention <= 24:
        problems.append("PasswordReusePrevention must be between 1 and 24")
    if not 0 <= policy.minimum_character_types <= 4:
        problems.append("MinimumCharacterTypes must be between 0 and 4")
    return "; ".join(problems)


# ---------------------------------------------------------------- checking a password


def _character_types(password: str) -> dict[str, bool]:
    """Which of AWS's four character types ``password`` contains (ISO basic Latin only)."""
    return {
        "uppercase": any("A" <= c <= "Z" for c in password),
        "lowercase": any("a" <= c <= "z" for c in password),
        "number": any("0" <= c <= "9" for c in password),
        "symbol": any(c in AWS_SYMBOLS for c in password),
    }


def _length_problems(password: str, policy: PasswordPolicy) -> list[str]:
    problems = []
    if len(password) < policy.minimum_password_length:
        problems.append(f"must be at least {policy.minimum_password_length} characters long")
    if len(password) > MAXIMUM_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAXIMUM_PASSWORD_LENGTH} characters long")
    if not _ALLOWED_CHARACTERS.fullmatch(password):
        problems.append("may contain only printable ISO-8859-1 characters, tab, LF and CR")
    return problems


def _type_problems(password: str, policy: PasswordPolicy) -> list[str]:
    present = _character_types(password)
    required = (
        (policy.require_uppercase_characters, "uppercase", "an uppercase letter (A-Z)"),
        (policy.require_lowercase_characters, "lowercase", "a lowercase letter (a-z)"),
        (policy.require_numbers, "number", "a number (0-9)"),
        (policy.require_symbols, "symbol", "a symbol (! @ # $ % ^ & * ( ) _ + - = [ ] { } | ')"),
    )
    problems = [
        f"must contain at least {text}" for needed, kind, text in required if needed and not present[kind]
    ]
    if sum(present.values()) < policy.minimum_character_types:
        problems.append(
            f"must contain at least {policy.minimum_character_types} of: uppercase letters, "
            "lowercase letters, numbers, symbols"
        )
    return problems


def check_password_policy(
    password: str,
    policy: PasswordPolicy,
    *,
    previous_hashes: Sequence[str] = (),
    user_name: str | None = None,
) -> list[str]:
    """Every way ``password`` breaks ``policy``, as human text (empty when it is acceptable).

    ``previous_hashes`` are the user's earlier password hashes, most recent first; only the
    ``password_reuse_prevention`` most recent are consulted, as AWS counts them. Messages never
    contain the password.
    """
    problems = _length_problems(password, policy) + _type_problems(password, policy)
    if user_name and password.casefold() == user_name.casefold():
        problems.append("must not be the same as the user name")
    reuse = policy.password_reuse_prevention or 0
    if any(verify_password(h, password) for h in previous_hashes[:reuse]):
        problems.append(f"must not be one of the previous {reuse} passwords")
    return [f"Password {p}" for p in problems]


def password_expired(changed_at: datetime, policy: PasswordPolicy, now: datetime) -> bool:
    """Whether a password set at ``changed_at`` is past ``MaxPasswordAge`` days at ``now``.

    It is valid for exactly ``max_password_age`` days and expired from then on; without a
    maximum age passwords never expire.
    """
    if policy.max_password_age is None:
        return False
    return now >= changed_at + timedelta(days=policy.max_password_age)


# ---------------------------------------------------------------- lockout


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """Sign-in throttling after repeated wrong passwords.

    AWS IAM publishes no lockout rule for console users, so this is iamguard's own guard against
    online guessing: after ``max_failures`` consecutive failures the user is locked for
    ``lockout_seconds`` counted from the last failure. The store resets the count on success.
    """

    max_failures: int = 5
    lockout_seconds: int = 900

    def __post_init__(self) -> None:
        for name in ("max_failures", "lockout_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidInputError(f"LockoutPolicy.{name} must be an integer")
        if self.max_failures < 1:
            raise InvalidInputError("LockoutPolicy.max_failures must be at least 1")
        if self.lockout_seconds < 0:
            raise InvalidInputError("LockoutPolicy.lockout_seconds must not be negative")


def lockout_state(
    failures: int, last_failure_at: datetime | None, policy: LockoutPolicy, now: datetime
) -> tuple[bool, int]:
    """``(locked, seconds remaining)`` for a user with ``failures`` consecutive failed sign-ins.

    Remaining seconds round up, so a caller told "0" may really retry. Fails closed: enough
    failures without a recorded time locks for the full period, and a clock that went backwards
    never shortens nor lengthens the lock beyond ``lockout_seconds``.
    """
    if failures < policy.max_failures or policy.lockout_seconds == 0:
        return False, 0
    if last_failure_at is None:
        return True, policy.lockout_seconds
    elapsed = (now - last_failure_at).total_seconds()
    remaining = policy.lockout_seconds - max(elapsed, 0.0)
    if remaining <= 0:
        return False, 0
    return True, min(policy.lockout_seconds, math.ceil(remaining))
