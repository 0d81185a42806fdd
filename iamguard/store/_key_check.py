"""Key-check values: does the configured master key open this store's secrets? Asked at open.

Part of ``store/``. A store records, per master key id that has sealed something, a known label
sealed under that key (``settings`` row ``key_check:<kid>``; sealed text carries no key
material, so it is as safe at rest as any sealed secret). Opening a store opens those labels
with the configured :class:`~iamguard.store.secrets.SecretBox`, so a missing or different key
fails when a server, guard or CLI command starts, not as a ``500`` on every signed request or as
secrets written under a key the server cannot open.

* At least one recorded key id must be configured, and every configured one that is recorded
  must open its label. A configured key id never recorded is a new primary (a rotation in
  progress) and is recorded when it first seals something.
* Stores from before key checks (sealed secrets, no check yet) are checked by opening one sealed
  secret instead; the key id that opened it is recorded then, on that first open.
* A store that holds no sealed secret and no check needs no key (nothing to protect yet).
* ``rotate-master-key`` re-seals everything under the primary and then keeps only the primary's
  check, so the retired key alone no longer opens the store.

The ``settings`` table (migration 1) already is the store's key/value table, so no migration.
"""

from __future__ import annotations

from collections.abc import Mapping

from iamguard.errors import StoreError
from iamguard.store.protocols import Transaction
from iamguard.store.secrets import SecretBox

__all__ = ["KEY_ADVICE", "record", "recorded", "retain_only", "sample_secret", "verify", "verify_sample"]

_PREFIX = "key_check:"
_CONTEXT = "iamguard-store:key-check"
_LABEL = "iamguard master key check v1"

KEY_ADVICE = (
    "set IAMGUARD_MASTER_KEY (or IAMGUARD_MASTER_KEY_FILE) to the master key this store was "
    "sealed with (IAMGUARD_DEV_MASTER_KEY=1 only for a development store made that way)"
)


def recorded(tx: Transaction) -> dict[str, str]:
    """Key id -> sealed label, for every key id the store has recorded."""
    return {
        str(row["name"])[len(_PREFIX) :]: str(row["value"])
        for row in tx.select("settings")
        if str(row["name"]).startswith(_PREFIX)
    }


def record(tx: Transaction, box: SecretBox, kid: str) -> None:
    """Record ``kid``'s check (inside a write transaction) unless it is there already."""
    name = _PREFIX + kid
    if tx.get("settings", {"name": name}) is None:
        tx.insert("settings", {"name": name, "value": box.seal(_LABEL, context=_CONTEXT, kid=kid)})


def retain_only(tx: Transaction, kid: str) -> None:
    """Forget every check but ``kid``'s: after a rotation nothing is sealed under the others, so
    a process configured with only an old key must fail at start, not on every request."""
    for other in recorded(tx):
        if other != kid:
            tx.delete("settings", {"name": _PREFIX + other})


def sample_secret(tx: Transaction) -> tuple[str, str] | None:
    """One sealed secret and its context (a store from before key checks), or ``None``."""
    for row in tx.select("access_keys")[:1]:
        return str(row["sealed_secret"]), str(row["access_key_id"])
    for row in tx.select("mfa_devices")[:1]:
        return str(row["sealed_seed"]), str(row["serial_number"])
    return None


def verify(box: SecretBox, checks: Mapping[str, str], where: str) -> None:
    """Raise :class:`StoreError` unless ``box`` holds this store's master key (see the module doc)."""
    common = sorted(box.kids & checks.keys())
    if not common:
        raise StoreError(
            f"the configured master key (key ids {sorted(box.kids)}) is not the key of the store "
            f"at {where} (sealed with key ids {sorted(checks)}): {KEY_ADVICE}"
        )
    for kid in common:
        if not _opens(box, checks[kid], _CONTEXT, _LABEL):
            raise StoreError(
                f"the configured master key {kid!r} is not the key of the same id that sealed the "
                f"store at {where}: {KEY_ADVICE}"
            )


def verify_sample(box: SecretBox, sealed: str, context: str, where: str) -> str:
    """The key id that sealed ``sealed`` once ``box`` has opened it; :class:`StoreError` if it cannot."""
    kid = sealed.split(":", 2)[1] if sealed.count(":") >= 2 else ""
    if not _opens(box, sealed, context, None):
        raise StoreError(
            f"the configured master key (key ids {sorted(box.kids)}) cannot open the secrets of "
            f"the store at {where} (sealed with key id {kid!r}): {KEY_ADVICE}"
        )
    return kid


def _opens(box: SecretBox, sealed: str, context: str, expected: str | None) -> bool:
    try:
        plain = box.open(sealed, context=context)
    except StoreError:
        return False
    return expected is None or plain == expected
