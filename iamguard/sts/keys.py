"""Compatibility name of :mod:`iamguard.keyring`, where the keyring lives below ``authn`` and ``sts``.

Import :class:`~iamguard.KeyRing` and friends from ``iamguard`` or ``iamguard.sts`` instead.
"""

from __future__ import annotations

from iamguard.errors import KeyRingError
from iamguard.keyring import ENV_KEYS, ENV_KEYS_FILE, SUPPORTED_ALGORITHMS, KeyRing, SigningKey

__all__ = [
    "ENV_KEYS",
    "ENV_KEYS_FILE",
    "SUPPORTED_ALGORITHMS",
    "KeyRing",
    "KeyRingError",
    "SigningKey",
]
