"""The token service's key material: signing keys with ids that rotate.

Below both ``authn/`` (which verifies session tokens with it) and ``sts/`` (which mints them), so
neither stage imports the other; ``iamguard.sts.keys`` re-exports it. Pure (no network); the
only I/O is reading the keyring from the environment or a file an operator supplies (``IAMGUARD_STS_KEYS`` holds the JSON, ``IAMGUARD_STS_KEYS_FILE``
names a file holding it).

Every key has an id (``kid``, written in each token's JWT header), an algorithm pinned to it
(``EdDSA`` with Ed25519 by default, or ``HS256``), its signing material and a separate
**derivation key**. The signing key makes a session token unforgeable; the derivation key turns
a token's public claims into the session's secret access key (see
:mod:`iamguard.authn.session_token`). Keeping them apart means a verify-only deployment of an
Ed25519 key (public key plus derivation key) cannot mint tokens, and that a signing key leaked
alone does not reveal any session's secret.

Rotation, without a flag day
----------------------------
* :meth:`KeyRing.rotate` adds a new key as **primary** (it signs from now on) and closes the old
  primary for signing (``not_after``); the old key still verifies the tokens it signed until
  they expire, because it stays in the ring.
* A key can be staged ahead: ``not_before`` in the future means every node already knows it (and
  verifies with it) before any node signs with it.
* :meth:`KeyRing.retire` makes a key verify nothing at all (a compromised key: every token it
  signed dies at once). :meth:`KeyRing.prune` drops keys that can no longer have live tokens.

The JSON form holds private material and exists only for the operator's secret store; nothing
here logs it, and ``repr()`` of a key or keyring shows key ids only.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Union

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from iamguard.errors import KeyRingError

__all__ = [
    "ENV_KEYS",
    "ENV_KEYS_FILE",
    "SUPPORTED_ALGORITHMS",
    "KeyRing",
    "KeyRingError",
    "SigningKey",
]

ENV_KEYS = "IAMGUARD_STS_KEYS"
ENV_KEYS_FILE = "IAMGUARD_STS_KEYS_FILE"

#: Algorithms a key may be pinned to. ``none`` and every algorithm not listed are refused.
SUPPORTED_ALGORITHMS: frozenset[str] = frozenset({"EdDSA", "HS256"})

_FORMAT_VERSION = 1
_DERIVATION_KEY_BYTES = 32
_HMAC_KEY_BYTES = 32

SignMaterial = Union[Ed25519PrivateKey, bytes]  # noqa: UP007 (runtime alias on 3.10)
VerifyMaterial = Union[Ed25519PublicKey, bytes]  # noqa: UP007


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise KeyRingError(f"{what} must be a base64url string")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise KeyRingError(f"{what} is not valid base64url") from None


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One key of the ring: id, pinned algorithm, material and validity window.

    ``signing_material`` is ``None`` on a verify-only node (Ed25519 public key alone).
    ``not_before``/``not_after`` bound when the key *signs*; a token it signed is accepted only
    if its ``iat`` falls inside that window. ``retired`` keys verify nothing.
    """

    kid: str
    alg: str
    derivation_key: bytes = field(repr=False)
    signing_material: SignMaterial | None = field(default=None, repr=False)
    verification_material: VerifyMaterial = field(default=b"", repr=False)
    not_before: int = 0
    not_after: int | None = None
    retired: bool = False

    def __post_init__(self) -> None:
        if self.alg not in SUPPORTED_ALGORITHMS:
            raise KeyRingError(f"key {self.kid!r}: algorithm {self.alg!r} is not supported")
        if not self.kid or len(self.kid) > 64:
            raise KeyRingError("a key id must be 1-64 characters")
        if len(self.derivation_key) < _DERIVATION_KEY_BYTES:
            raise KeyRingError(f"key {self.kid!r}: derivation key must be at least 32 bytes")
        if self.alg == "HS256":
            if not isinstance(self.verification_material, bytes) or len(self.verification_material) < 32:
                raise KeyRingError(f"key {self.kid!r}: HS256 secret must be at least 32 bytes")
            if self.signing_material is not None and self.signing_material != self.verification_material:
                raise KeyRingError(f"key {self.kid!r}: HS256 signs and verifies with one secret")
        elif not isinstance(self.verification_material, Ed25519PublicKey):
            raise KeyRingError(f"key {self.kid!r}: EdDSA needs an Ed25519 public key")

    @classmethod
    def generate(cls, kid: str | None = None, *, alg: str = "EdDSA", now: float | None = None) -> SigningKey:
        """A fresh key (random kid unless given), valid for signing from ``now``."""
        kid = kid or "k" + secrets.token_hex(8)
        start = int(time.time() if now is None else now)
        derivation = secrets.token_bytes(_DERIVATION_KEY_BYTES)
        if alg == "HS256":
            secret = secrets.token_bytes(_HMAC_KEY_BYTES)
            return cls(kid, alg, derivation, secret, secret, not_before=start)
        if alg == "EdDSA":
            private = Ed25519PrivateKey.generate()
            return cls(kid, alg, derivation, private, private.public_key(), not_before=start)
        raise KeyRingError(f"algorithm {alg!r} is not supported")

    @property
    def can_sign(self) -> bool:
        """Whether this key holds private material and is not retired."""
        return self.signing_material is not None and not self.retired

    def signs_at(self, now: float) -> bool:
        """Whether this key may sign a token issued at ``now``."""
        return self.can_sign and self.not_before <= now and (self.not_after is None or now < self.not_after)

    def accepts_issue_time(self, iat: int, leeway: int = 0) -> bool:
        """Whether a token issued at ``iat`` may carry this key's signature."""
        if self.retired:
            return False
        if iat < self.not_before - leeway:
            return False
        return self.not_after is None or iat <= self.not_after + leeway

    def to_json(self) -> dict[str, Any]:
        """The JSON form, *including private material*: for the operator's secret store only."""
        data: dict[str, Any] = {
            "kid": self.kid,
            "alg": self.alg,
            "derivation_key": _b64e(self.derivation_key),
            "not_before": self.not_before,
            "not_after": self.not_after,
            "retired": self.retired,
        }
        if self.alg == "HS256":
            assert isinstance(self.verification_material, bytes)
            data["secret"] = _b64e(self.verification_material)
        else:
            assert isinstance(self.verification_material, Ed25519PublicKey)
            data["public_key"] = _b64e(
                self.verification_material.public_bytes(Encoding.Raw, PublicFormat.Raw)
            )
            if isinstance(self.signing_material, Ed25519PrivateKey):
                raw = self.signing_material.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
                data["private_key"] = _b64e(raw)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SigningKey:
        """Load one key; an Ed25519 key with only ``public_key`` is verify-only."""
        kid, alg = data.get("kid"), data.get("alg")
        if not isinstance(kid, str) or not isinstance(alg, str):
            raise KeyRingError("every key needs string 'kid' and 'alg'")
        derivation = _b64d(data.get("derivation_key"), f"key {kid!r} derivation_key")
        window = _window(data, kid)
        if alg == "HS256":
            secret = _b64d(data.get("secret"), f"key {kid!r} secret")
            return cls(kid, alg, derivation, secret, secret, *window)
        if alg != "EdDSA":
            raise KeyRingError(f"key {kid!r}: algorithm {alg!r} is not supported")
        private: Ed25519PrivateKey | None = None
        if data.get("private_key") is not None:
            raw = _b64d(data["private_key"], f"key {kid!r} private_key")
            private = _ed25519_private(raw, kid)
        if data.get("public_key") is not None:
            public = _ed25519_public(_b64d(data["public_key"], f"key {kid!r} public_key"), kid)
            if private is not None and _raw_public(private.public_key()) != _raw_public(public):
                raise KeyRingError(f"key {kid!r}: public_key does not match private_key")
        elif private is not None:
            public = private.public_key()
        else:
            raise KeyRingError(f"key {kid!r}: EdDSA needs private_key or public_key")
        return cls(kid, alg, derivation, private, public, *window)


def _window(data: Mapping[str, Any], kid: str) -> tuple[int, int | None, bool]:
    not_before, not_after, retired = (
        data.get("not_before", 0),
        data.get("not_after"),
        data.get("retired", False),
    )
    if not isinstance(not_before, int) or isinstance(not_before, bool):
        raise KeyRingError(f"key {kid!r}: not_before must be an integer (epoch seconds)")
    if not_after is not None and (not isinstance(not_after, int) or isinstance(not_after, bool)):
        raise KeyRingError(f"key {kid!r}: not_after must be an integer or null")
    if not isinstance(retired, bool):
        raise KeyRingError(f"key {kid!r}: retired must be a boolean")
    return not_before, not_after, retired


def _ed25519_private(raw: bytes, kid: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError:
        raise KeyRingError(f"key {kid!r}: private_key is not a raw Ed25519 key") from None


def _ed25519_public(raw: bytes, kid: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise KeyRingError(f"key {kid!r}: public_key is not a raw Ed25519 key") from None


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class KeyRing:
    """The set of keys a token service signs and verifies with; thread-safe, rotates in place.

    The **primary** is the key that signs: of the keys allowed to sign now, the one with the latest
    ``not_before``. Every non-retired key verifies tokens issued inside its window.
    """

    __slots__ = ("_clock", "_keys", "_lock", "_version")

    def __init__(self, keys: Iterable[SigningKey] = (), *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._version = 0
        self._keys: dict[str, SigningKey] = {}
        for key in keys:
            if key.kid in self._keys:
                raise KeyRingError(f"duplicate key id {key.kid!r}")
            self._keys[key.kid] = key

    def __repr__(self) -> str:
        return f"KeyRing(kids={list(self._keys)!r})"

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def generate(cls, *, alg: str = "EdDSA", clock: Callable[[], float] = time.time) -> KeyRing:
        """A ring with one fresh primary key."""
        return cls([SigningKey.generate(alg=alg, now=clock())], clock=clock)

    @property
    def version(self) -> int:
        """A counter bumped by every change (add, rotate, retire, prune): caches of verified tokens
        compare it to drop what they learnt under an older ring."""
        return self._version

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """Every key in the ring, signing and verify-only."""
        return tuple(self._keys.values())

    def get(self, kid: str) -> SigningKey | None:
        """The key named ``kid``, or ``None`` (an unknown kid verifies nothing)."""
        return self._keys.get(kid)

    def primary(self, now: float | None = None) -> SigningKey:
        """The key that signs at ``now``; raises :class:`KeyRingError` when none can."""
        at = self._clock() if now is None else now
        candidates = [key for key in self._keys.values() if key.signs_at(at)]
        if not candidates:
            raise KeyRingError("no key in the keyring can sign now")
        return max(candidates, key=lambda key: key.not_before)

    def add(self, key: SigningKey) -> None:
        """Add a key (e.g. a staged one with a future ``not_before``)."""
        with self._lock:
            if key.kid in self._keys:
                raise KeyRingError(f"duplicate key id {key.kid!r}")
            self._keys = {**self._keys, key.kid: key}
            self._version += 1

    def rotate(self, *, alg: str | None = None, kid: str | None = None) -> SigningKey:
        """Add a new primary and close the current signers for signing; old keys keep verifying."""
        now = int(self._clock())
        with self._lock:
            signers = [key for key in self._keys.values() if key.signs_at(now)]
            chosen_alg = alg or (max(signers, key=lambda k: k.not_before).alg if signers else "EdDSA")
            new = SigningKey.generate(kid, alg=chosen_alg, now=now)
            if new.kid in self._keys:
                raise KeyRingError(f"duplicate key id {new.kid!r}")
            updated = dict(self._keys)
            for key in signers:
                # INVARIANT: not_after >= not_before, so tokens the old key signed stay valid.
                updated[key.kid] = replace(key, not_after=max(now, key.not_before))
            updated[new.kid] = new
            self._keys = updated
            self._version += 1
        return new

    def retire(self, kid: str) -> None:
        """Stop verifying anything signed by ``kid`` (a compromised key)."""
        with self._lock:
            key = self._keys.get(kid)
            if key is None:
                raise KeyRingError(f"no key {kid!r} in the keyring")
            self._keys = {**self._keys, kid: replace(key, retired=True)}
            self._version += 1

    def prune(self, *, max_session_seconds: int, now: float | None = None) -> tuple[str, ...]:
        """Drop retired keys and keys closed so long ago that no token they signed is alive."""
        at = self._clock() if now is None else now
        with self._lock:
            dead = tuple(
                key.kid
                for key in self._keys.values()
                if key.retired or (key.not_after is not None and key.not_after + max_session_seconds < at)
            )
            self._keys = {kid: key for kid, key in self._keys.items() if kid not in dead}
            if dead:
                self._version += 1
        return dead

    # ------------------------------------------------------------ serialization

    def to_json(self) -> str:
        """The JSON text of the ring, *including private material*."""
        body = {"version": _FORMAT_VERSION, "keys": [key.to_json() for key in self._keys.values()]}
        return json.dumps(body, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, *, clock: Callable[[], float] = time.time) -> KeyRing:
        """A ring from its JSON text (as :meth:`to_json` writes it); raises ``KeyRingError`` if invalid."""
        try:
            body = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise KeyRingError("keyring is not valid JSON") from None
        if not isinstance(body, dict) or body.get("version") != _FORMAT_VERSION:
            raise KeyRingError(f"keyring must be an object with version {_FORMAT_VERSION}")
        entries = body.get("keys")
        if not isinstance(entries, list) or not entries:
            raise KeyRingError("keyring needs a non-empty 'keys' list")
        if not all(isinstance(entry, dict) for entry in entries):
            raise KeyRingError("every keyring entry must be an object")
        return cls([SigningKey.from_json(entry) for entry in entries], clock=clock)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the ring to ``path`` readable by the owner only."""
        target = Path(path)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time) -> KeyRing:
        """A ring from the JSON file at ``path`` (see :meth:`save`)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyRingError(f"cannot read keyring file {os.fspath(path)!r}: {exc.strerror}") from None
        return cls.from_json(text, clock=clock)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, clock: Callable[[], float] = time.time
    ) -> KeyRing:
        """Load from ``IAMGUARD_STS_KEYS`` (JSON) or ``IAMGUARD_STS_KEYS_FILE`` (a path); not both."""
        env = os.environ if environ is None else environ
        inline, path = env.get(ENV_KEYS), env.get(ENV_KEYS_FILE)
        if inline and path:
            raise KeyRingError(f"set only one of {ENV_KEYS} and {ENV_KEYS_FILE}")
        if inline:
            return cls.from_json(inline, clock=clock)
        if path:
            return cls.load(path, clock=clock)
        raise KeyRingError(f"no STS keyring: set {ENV_KEYS} or {ENV_KEYS_FILE}")
