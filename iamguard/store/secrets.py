"""Access-key secrets at rest: sealed with a deployment master key, never stored in the clear.

Part of the identity store (``store/``), pure: no database, no network. A copy of the store (a
backup, a dump, a stolen SQLite file) must not let anyone sign requests as its users, so every
secret access key is sealed with AES-256-GCM under a master key the deployment supplies from
outside the store (``IAMGUARD_MASTER_KEY`` or ``IAMGUARD_MASTER_KEY_FILE``).

Sealed text is ``v1:<kid>:<b64url(nonce || ciphertext || tag)>``:

* ``v1`` names this format, so a later format can be introduced beside it;
* ``kid`` names the master key that sealed it, so keys can rotate without a flag day;
* the 96-bit nonce is random per seal (never reuse a nonce under one key: GCM breaks);
* the associated data binds the format, the ``kid`` and a caller ``context`` (the access key
  id), so a sealed secret copied onto another access key's row does not open there.

Rotating the master key
-----------------------
1. Generate a new key: ``SecretBox.generate_key()`` (``iamguard`` CLI operators get the same).
2. Deploy it as the **primary** while keeping the old one for opening, e.g.
   ``IAMGUARD_MASTER_KEY="k2:<new key>,default:<old key>"`` (the first entry is primary; a
   single bare key has the key id ``default``).
3. Run the store's ``rotate-master-key`` operation: for every access key it calls
   :meth:`SecretBox.reseal` (open with whichever key sealed it, seal again with the primary);
   :meth:`SecretBox.needs_rotation` tells which rows still need it.
4. Once nothing needs rotation, drop the old key from the configuration.

A lost master key cannot be recovered from: the sealed secrets are then useless and the
affected access keys must be re-issued.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets as _secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from iamguard.errors import StoreError

__all__ = ["SecretBox", "generate_secret_access_key"]

_log = logging.getLogger(__name__)

_VERSION = "v1"
_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
_DEFAULT_KID = "default"
_DEV_KID = "dev"
_KID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_ENV_KEY = "IAMGUARD_MASTER_KEY"
_ENV_KEY_FILE = "IAMGUARD_MASTER_KEY_FILE"
_ENV_DEV = "IAMGUARD_DEV_MASTER_KEY"


class SecretBox:
    """Seals and opens secrets under a set of named AES-256 master keys, one of them primary.

    New seals always use the primary key; opening accepts any configured key, which is what
    lets a deployment rotate keys (see the module docstring). The key bytes are never shown by
    ``repr`` and never appear in error messages.
    """

    __slots__ = ("_aead", "_primary", "is_dev")

    def __init__(self, keys: Mapping[str, bytes], primary: str) -> None:
        if not keys:
            raise StoreError("SecretBox needs at least one master key")
        aead: dict[str, AESGCM] = {}
        for kid, key in keys.items():
            _check_kid(kid)
            if not isinstance(key, (bytes, bytearray)) or len(key) != _KEY_BYTES:
                raise StoreError(f"master key {kid!r} must be exactly {_KEY_BYTES} bytes (AES-256)")
            aead[kid] = AESGCM(bytes(key))
        if primary not in aead:
            raise StoreError(f"primary master key id {primary!r} is not among the configured keys")
        self._aead = aead
        self._primary = primary
        #: True when the key is a development key (``IAMGUARD_DEV_MASTER_KEY=1``): never in production.
        self.is_dev = False

    def __repr__(self) -> str:
        return f"SecretBox(kids={sorted(self._aead)!r}, primary={self._primary!r})"

    @property
    def primary(self) -> str:
        """The key id new seals use."""
        return self._primary

    @property
    def kids(self) -> frozenset[str]:
        """Every key id this box can open."""
        return frozenset(self._aead)

    # ------------------------------------------------------------ construction

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, dev_key: bytes | None = None) -> SecretBox:
        """The box configured by the environment (``os.environ`` unless ``env`` is given).

        * ``IAMGUARD_MASTER_KEY``: one base64/base64url key of 32 bytes (key id ``default``), or
          ``kid1:key1,kid2:key2`` where the first is the primary.
        * ``IAMGUARD_MASTER_KEY_FILE``: a path to a file holding the same (commas or newlines
          between entries), so the key can come from a secrets mount instead of the process
          environment.

        Setting both is refused rather than guessing which one the operator meant.

        With neither set the store cannot protect secrets, so this raises :class:`StoreError`
        (fail closed) -- unless ``IAMGUARD_DEV_MASTER_KEY=1``.

        **DEVELOPMENT ONLY**: ``IAMGUARD_DEV_MASTER_KEY=1`` is for demos and tests. The key then is
        ``dev_key`` -- a per-store key the store keeps *beside its own data* -- or, when the
        store passes none, a random key that lives only as long as this process (secrets sealed
        with it cannot be opened after a restart). A per-store key sitting next to the data it
        protects gives **no protection** against a copy of the store; that is acceptable only
        because no real credentials should ever be in a dev store. A fixed, well-known key was
        rejected: it would make every dev store's secrets public knowledge, and dev stores have a
        way of becoming production stores. A warning is logged whenever a dev key is used. The
        dev key's id is ``dev``, so moving to a real key is an ordinary rotation
        (``IAMGUARD_MASTER_KEY="k1:<new>,dev:<dev key>"`` then ``rotate-master-key``).
        """
        env = os.environ if env is None else env
        inline = env.get(_ENV_KEY, "").strip()
        path = env.get(_ENV_KEY_FILE, "").strip()
        if inline and path:
            raise StoreError(f"set only one of {_ENV_KEY} and {_ENV_KEY_FILE}, not both")
        if inline:
            return cls._from_spec(inline, source=_ENV_KEY)
        if path:
            return cls._from_spec(_read_key_file(path), source=_ENV_KEY_FILE)
        if env.get(_ENV_DEV, "").strip() == "1":
            return cls._dev(dev_key)
        raise StoreError(
            f"no master key configured: set {_ENV_KEY} (or {_ENV_KEY_FILE}) to a key made by "
            f"SecretBox.generate_key(); {_ENV_DEV}=1 allows an insecure development key"
        )

    @classmethod
    def _from_spec(cls, spec: str, *, source: str) -> SecretBox:
        keys, primary = _parse_key_spec(spec, source=source)
        return cls(keys, primary)

    @classmethod
    def _dev(cls, dev_key: bytes | None) -> SecretBox:
        _log.warning(
            "iamguard is using a DEVELOPMENT master key (%s=1): stored secrets are NOT protected; "
            "never use this with real credentials",
            _ENV_DEV,
        )
        box = cls({_DEV_KID: dev_key if dev_key is not None else os.urandom(_KEY_BYTES)}, _DEV_KID)
        box.is_dev = True
        return box

    @classmethod
    def generate_key(cls) -> str:
        """A new random master key, base64url without padding, for an operator to deploy."""
        return base64.urlsafe_b64encode(os.urandom(_KEY_BYTES)).rstrip(b"=").decode("ascii")

    # ------------------------------------------------------------ sealing

    def seal(self, secret: str, *, context: str, kid: str | None = None) -> str:
        """``secret`` encrypted under the primary key (or the key ``kid``), bound to ``context``."""
        kid = self._primary if kid is None else kid
        if kid not in self._aead:
            raise StoreError(f"no master key {kid!r} is configured")
        nonce = os.urandom(_NONCE_BYTES)
        body = self._aead[kid].encrypt(nonce, secret.encode("utf-8"), _associated_data(kid, context))
        encoded = base64.urlsafe_b64encode(nonce + body).rstrip(b"=").decode("ascii")
        return f"{_VERSION}:{kid}:{encoded}"

    def open(self, sealed: str, *, context: str) -> str:
        """The secret inside ``sealed``; :class:`StoreError` if it was altered, sealed for another
        ``context``, or sealed under a key this box does not hold."""
        kid, raw = self._split(sealed)
        try:
            plain = self._aead[kid].decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _associated_data(kid, context)
            )
        except InvalidTag:
            raise StoreError(
                "sealed secret failed authentication: altered, stored for another access key, "
                "or the master key changed"
            ) from None
        return plain.decode("utf-8")

    def needs_rotation(self, sealed: str) -> bool:
        """Whether ``sealed`` was sealed under a key other than the primary."""
        kid, _ = self._split(sealed)
        return kid != self._primary

    def reseal(self, sealed: str, *, context: str) -> str:
        """``sealed`` opened with whichever key sealed it and sealed again with the primary.

        The input is always opened (so a tampered row is reported, not silently carried over);
        text already under the primary key is returned unchanged, which keeps a rotation run
        idempotent and cheap to repeat after an interruption.
        """
        secret = self.open(sealed, context=context)
        if not self.needs_rotation(sealed):
            return sealed
        return self.seal(secret, context=context)

    def _split(self, sealed: str) -> tuple[str, bytes]:
        """(kid, nonce || ciphertext) of well-formed sealed text under a known key."""
        parts = sealed.split(":", 2) if isinstance(sealed, str) else []
        if len(parts) != 3 or parts[0] != _VERSION:
            raise StoreError("sealed secret is malformed (expected 'v1:<kid>:<data>')")
        kid, encoded = parts[1], parts[2]
        if kid not in self._aead:
            # The kid is a label, not key material, so naming it helps the operator safely.
            shown = kid if _KID.fullmatch(kid) else "<invalid>"
            raise StoreError(f"sealed secret uses unknown master key id {shown!r}")
        raw = _decode_canonical_b64url(encoded)
        if raw is None or len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise StoreError("sealed secret is malformed (bad data encoding)")
        return kid, raw


def generate_secret_access_key() -> str:
    """A new 40-character secret access key over AWS's alphabet ``[A-Za-z0-9/+]`` (240 bits).

    30 random bytes in standard base64 are exactly 40 characters with no padding.
    """
    return base64.b64encode(_secrets.token_bytes(30)).decode("ascii")


# ---------------------------------------------------------------- helpers


def _associated_data(kid: str, context: str) -> bytes:
    # INVARIANT: kid never contains NUL (checked by _KID), so the encoding is unambiguous.
    return (
        b"iamguard-secretbox\x00"
        + _VERSION.encode()
        + b"\x00"
        + kid.encode()
        + b"\x00"
        + context.encode("utf-8")
    )


def _check_kid(kid: str) -> None:
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise StoreError("master key ids must be 1-64 characters of letters, digits, '_', '-', '.'")


def _decode_canonical_b64url(text: str) -> bytes | None:
    """Bytes of unpadded base64url ``text``, or None unless it is the one canonical encoding.

    Python's decoder ignores stray characters and the unused low bits of the last character, so
    two different texts could open to the same secret; sealed text must be byte-for-byte unique.
    """
    if not _B64URL.fullmatch(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != text:
        return None
    return raw


def _decode_key(text: str, *, label: str) -> bytes:
    """32 key bytes from standard or url-safe base64, padded or not."""
    cleaned = text.strip().rstrip("=")
    if not re.fullmatch(r"[A-Za-z0-9+/_-]+", cleaned):
        raise StoreError(f"{label} is not base64")
    try:
        raw = base64.urlsafe_b64decode(
            cleaned.replace("+", "-").replace("/", "_") + "=" * (-len(cleaned) % 4)
        )
    except (binascii.Error, ValueError):
        raise StoreError(f"{label} is not base64") from None
    if len(raw) != _KEY_BYTES:
        raise StoreError(f"{label} must decode to {_KEY_BYTES} bytes, got {len(raw)}")
    return raw


def _parse_key_spec(spec: str, *, source: str) -> tuple[dict[str, bytes], str]:
    """(keys, primary) from ``key`` or ``kid1:key1,kid2:key2`` (commas or newlines)."""
    if ":" not in spec:
        return {_DEFAULT_KID: _decode_key(spec, label=source)}, _DEFAULT_KID
    keys: dict[str, bytes] = {}
    for entry in (e.strip() for e in re.split(r"[,\n]", spec)):
        if not entry:
            continue
        kid, sep, text = entry.partition(":")
        kid = kid.strip()
        if not sep:
            raise StoreError(f"{source}: every entry of a key list needs a key id ('kid:key')")
        _check_kid(kid)
        if kid in keys:
            raise StoreError(f"{source}: master key id {kid!r} appears twice")
        keys[kid] = _decode_key(text, label=f"{source} key {kid!r}")
    if not keys:
        raise StoreError(f"{source} holds no keys")
    return keys, next(iter(keys))


def _read_key_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise StoreError(f"cannot read {_ENV_KEY_FILE} {path!r}: {exc.strerror or exc}") from None
