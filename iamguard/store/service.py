"""IAM's rules over any storage backend: :class:`IdentityService`.

Part of ``store/``; what ``open_store`` returns. Everything AWS IAM decides about identities is
here once — name and path rules, ARNs and unique ids, quotas, managed-policy versions,
attachments, inline policies, trust policies, boundaries, tags, access keys, console passwords,
MFA devices, delete conflicts — while a :class:`~iamguard.store.protocols.StoreBackend` only
stores rows. The service is also the :class:`~iamguard.store.protocols.PolicySource` the request
path reads (``resolve_principal``), with parsed policies cached per (policy id, version).

Every public write runs in one backend transaction (so it bumps the store generation exactly
once and either happens completely or not at all); :meth:`IdentityService.atomic` groups several
writes into one such transaction.

IAM API reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html
Quotas and name rules: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from cachetools import LRUCache

from iamguard.errors import (
    ConcurrentModificationError,
    DeleteConflictError,
    EntityAlreadyExistsError,
    InvalidInputError,
    LimitExceededError,
    NoSuchEntityError,
)
from iamguard.policy.limits import PolicyLimits, policy_size
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.store import built_in, mfa, passwords
from iamguard.store._sql import TABLES
from iamguard.store.protocols import Row, StoreBackend, Transaction
from iamguard.store.records import (
    AccessKey,
    AccessKeyCreated,
    AccessKeyStatus,
    Account,
    Group,
    InlinePolicy,
    LoginOutcome,
    LoginProfile,
    ManagedPolicy,
    MfaDevice,
    MfaDeviceCreated,
    PasswordPolicy,
    PolicyVersion,
    PrincipalKind,
    ResolvedPrincipal,
    Role,
    Tags,
    User,
)
from iamguard.store.secrets import SecretBox, generate_secret_access_key

__all__ = ["DEFAULT_ACCOUNT_ID", "AccessActivity", "IdentityService", "Quotas", "ServiceLastAccessed"]

#: The account id a new store gets when none is given (AWS's documentation example id).
DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True, slots=True)
class Quotas:
    """IAM quotas, AWS's defaults unless a deployment raises them.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entities
    """

    users: int = 5000
    groups: int = 300
    roles: int = 1000
    customer_managed_policies: int = 1500
    groups_per_user: int = 10
    managed_policies_per_user: int = 10
    managed_policies_per_group: int = 10
    managed_policies_per_role: int = 10
    versions_per_policy: int = 5
    access_keys_per_user: int = 2
    mfa_devices_per_user: int = 8
    tags_per_entity: int = 50
    managed_policy_size: PolicyLimits = PolicyLimits.MANAGED
    user_inline_size: PolicyLimits = PolicyLimits.USER_INLINE
    group_inline_size: PolicyLimits = PolicyLimits.GROUP_INLINE
    role_inline_size: PolicyLimits = PolicyLimits.ROLE_INLINE
    trust_policy_size: PolicyLimits = PolicyLimits.TRUST
    #: MaxSessionDuration bounds (seconds), https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
    min_session_duration: int = 3600
    max_session_duration: int = 43200

    def attached_limit(self, kind: PrincipalKind) -> int:
        return {
            PrincipalKind.USER: self.managed_policies_per_user,
            PrincipalKind.GROUP: self.managed_policies_per_group,
            PrincipalKind.ROLE: self.managed_policies_per_role,
        }[kind]

    def inline_limit(self, kind: PrincipalKind) -> PolicyLimits:
        return {
            PrincipalKind.USER: self.user_inline_size,
            PrincipalKind.GROUP: self.group_inline_size,
            PrincipalKind.ROLE: self.role_inline_size,
        }[kind]


_ENTITY_TABLE = {PrincipalKind.USER: "users", PrincipalKind.GROUP: "groups", PrincipalKind.ROLE: "roles"}
_ENTITY_WORD = {PrincipalKind.USER: "user", PrincipalKind.GROUP: "group", PrincipalKind.ROLE: "role"}
_DEV_KEY_SETTING = "dev_master_key"
_MFA_ENABLE_WINDOW = 10  # steps each way EnableMFADevice/ResyncMFADevice search (clock drift)


@dataclass(frozen=True, slots=True)
class AccessActivity:
    """One authenticated, authorized use, as the enforcement layer's ``AccessTracker`` batches it.

    ``count`` is how many requests the item stands for (the tracker folds repeats together).
    """

    at: datetime
    entity_arn: str  # the stored user or role the request was governed by
    service_namespace: str  # "s3", from the action's prefix
    action: str
    region: str = ""
    access_key_id: str | None = None  # long-term keys only; session keys are not stored
    authenticated_entity: str = ""  # the caller's own ARN (a role session's, for roles)
    count: int = 1


@dataclass(frozen=True, slots=True)
class ServiceLastAccessed:
    """Access-advisor data for one service: when an entity last used it, and how.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ServiceLastAccessed.html
    """

    service_namespace: str
    last_authenticated: datetime
    last_authenticated_entity: str
    last_authenticated_region: str
    last_action: str
    total_requests: int


# ---------------------------------------------------------------- row <-> value helpers


def _ts(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


def _dt(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def _opt_dt(value: object) -> datetime | None:
    return None if value is None else _dt(value)


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _tags_json(tags: Tags) -> str:
    return json.dumps([list(t) for t in tags])


def _tags(value: object) -> Tags:
    return tuple((str(k), str(v)) for k, v in json.loads(str(value or "[]")))


def _key(name: str) -> str:
    """The case-insensitive identity of an IAM name (names are ASCII, see ``_rules``)."""
    return name.lower()


def _document_text(document: str | bytes | Mapping[str, Any]) -> str:
    if isinstance(document, Mapping):
        return json.dumps(document, separators=(",", ":"))
    if isinstance(document, bytes):
        return document.decode("utf-8")
    return document


# ---------------------------------------------------------------- IAM name, path, id and tag rules
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names

_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
_PATH_CHARS = re.compile(r"[\u0021-\u007E]*")
_DESCRIPTION = re.compile(r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*")
#: CreateAccountAlias pattern, https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html
_ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")
_TAG_SYMBOLS = frozenset("_.:/=+-@")
#: Unique ids are a 4-letter type prefix and upper-case base32 characters (AIDA..., AKIA...).
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def check_name(name: object, word: str, max_length: int) -> None:
    """IAM names: 1..max_length of ASCII letters, digits and ``+=,.@_-``."""
    if not isinstance(name, str) or not 1 <= len(name) <= max_length or not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"{word} name must be 1-{max_length} characters of letters, digits and +=,.@_-",
            code="ValidationError",
        )


def check_path(path: object) -> None:
    """Paths: ``/`` or ``/a/b/``, 1-512 printable ASCII characters."""
    ok = (
        isinstance(path, str)
        and 1 <= len(path) <= 512
        and path.startswith("/")
        and path.endswith("/")
        and "//" not in path
        and _PATH_CHARS.fullmatch(path) is not None
    )
    if not ok:
        raise InvalidInputError(
            "path must be '/' or start and end with '/' (1-512 printable ASCII characters)",
            code="ValidationError",
        )


def check_description(text: object) -> None:
    if not isinstance(text, str) or len(text) > 1000 or not _DESCRIPTION.fullmatch(text):
        raise InvalidInputError(
            "description must be at most 1000 printable characters", code="ValidationError"
        )


def _tag_text_ok(text: str) -> bool:
    return all(c.isalpha() or c.isnumeric() or c.isspace() or c in _TAG_SYMBOLS for c in text)


def check_tags(tags: Mapping[str, str] | None, limit: int) -> Tags:
    """Tags as sorted pairs, after AWS's rules: key 1-128 and value 0-256 characters of letters,
    digits, spaces and ``_.:/=+-@``; keys starting ``aws:`` are reserved; at most ``limit``.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html#id_tags_rules_creating"""
    pairs = sorted((tags or {}).items())
    if len(pairs) > limit:
        raise LimitExceededError(f"at most {limit} tags per entity")
    for key, value in pairs:
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not _tag_text_ok(key):
            raise InvalidInputError(f"invalid tag key {key!r}", code="ValidationError")
        if key.lower().startswith("aws:"):
            raise InvalidInputError(
                "tag keys starting with 'aws:' are reserved for AWS", code="ValidationError"
            )
        if not isinstance(value, str) or len(value) > 256 or not _tag_text_ok(value):
            raise InvalidInputError(f"invalid value for tag {key!r}", code="ValidationError")
    return tuple(pairs)


def valid_account_alias(alias: object) -> bool:
    return isinstance(alias, str) and _ALIAS.fullmatch(alias) is not None


def new_unique_id(prefix: str, *, length: int = 17) -> str:
    """``prefix`` + ``length`` random base32 characters: 21 characters for entity ids
    (``AIDA``/``AGPA``/``AROA``/``ANPA``), 20 for access key ids (``AKIA``), as AWS issues them."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


class IdentityService:
    """The identity store: the IAM API over a backend, plus the read path.

    ``secret_box`` seals access-key secrets and MFA seeds (``SecretBox.from_env()`` when not
    given). ``clock`` returns Unix seconds and exists so tests can drive MFA and lockout time.
    """

    def __init__(
        self,
        backend: StoreBackend,
        *,
        account_id: str | None = None,
        partition: str = "aws",
        secret_box: SecretBox | None = None,
        quotas: Quotas | None = None,
        lockout: passwords.LockoutPolicy | None = None,
        clock: Callable[[], float] = time.time,
        cache_size: int = 4096,
    ) -> None:
        self.backend = backend
        self.quotas = quotas or Quotas()
        self.lockout = lockout or passwords.LockoutPolicy()
        self._clock = clock
        self._box = secret_box
        self._local = threading.local()
        self._cache_lock = threading.Lock()
        self._parsed: LRUCache[tuple[str, ...], Policy] = LRUCache(maxsize=cache_size)
        self._resolved: LRUCache[str, ResolvedPrincipal] = LRUCache(maxsize=cache_size)
        self._account = self._init_account(account_id, partition)

    # ------------------------------------------------------------ plumbing

    def _init_account(self, account_id: str | None, partition: str) -> Account:
        with self.backend.read() as tx:
            rows = tx.select("account")
        if rows:
            account = self._account_from_row(rows[0])
            if account_id is not None and account_id != account.account_id:
                raise InvalidInputError(f"this store holds account {account.account_id}, not {account_id}")
            return account
        account_id = account_id or DEFAULT_ACCOUNT_ID
        if not (len(account_id) == 12 and account_id.isascii() and account_id.isdigit()):
            raise InvalidInputError("an AWS account id is 12 digits")
        with self.backend.write() as tx:
            rows = tx.select("account")
            if not rows:  # INVARIANT: checked again under the write lock (two openers may race)
                tx.insert(
                    "account",
                    {
                        "account_id": account_id,
                        "aws_partition": partition,
                        "alias": None,
                        "password_policy": None,
                        "create_date": _ts(self._now()),
                    },
                )
                return Account(account_id, partition)
        return self._init_account(account_id, partition)

    @property
    def secret_box(self) -> SecretBox:
        """The box sealing secrets; built from the environment on first use."""
        if self._box is None:
            self._box = SecretBox.from_env(dev_key=self._dev_key())
        return self._box

    def _dev_key(self) -> bytes | None:
        """The store's own development master key, made on first use, when (and only when) the
        environment asks for development mode (``IAMGUARD_DEV_MASTER_KEY=1``) and names no real
        key. It lives beside the data, so it protects nothing against a copy of the store; see
        :meth:`SecretBox.from_env` for why that is tolerated in development only."""
        env = os.environ
        if env.get("IAMGUARD_MASTER_KEY") or env.get("IAMGUARD_MASTER_KEY_FILE"):
            return None
        if env.get("IAMGUARD_DEV_MASTER_KEY", "").strip() != "1":
            return None
        with self._write() as tx:
            row = tx.get("settings", {"name": _DEV_KEY_SETTING})
            if row is None:
                row = {"name": _DEV_KEY_SETTING, "value": base64.b64encode(os.urandom(32)).decode("ascii")}
                tx.insert("settings", row)
        return base64.b64decode(str(row["value"]))

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), timezone.utc)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Group several writes into one transaction: all of them happen, or none.

        Nested calls join the outer transaction; the generation bumps once, at the end.
        """
        with self._write():
            yield

    @contextmanager
    def _write(self) -> Iterator[Transaction]:
        current: Transaction | None = getattr(self._local, "tx", None)
        if current is not None:
            yield current
            return
        with self.backend.write() as tx:
            self._local.tx = tx
            try:
                yield tx
            finally:
                self._local.tx = None
        self._account = self._reload_account()

    @contextmanager
    def _read(self) -> Iterator[Transaction]:
        current: Transaction | None = getattr(self._local, "tx", None)
        if current is not None:
            yield current
            return
        with self.backend.read() as tx:
            yield tx

    def _reload_account(self) -> Account:
        with self._read() as tx:
            return self._account_from_row(tx.select("account")[0])

    def _account_from_row(self, row: Row) -> Account:
        policy = row["password_policy"]
        return Account(
            account_id=str(row["account_id"]),
            partition=str(row["aws_partition"]),
            alias=None if row["alias"] is None else str(row["alias"]),
            password_policy=None if policy is None else PasswordPolicy(**json.loads(str(policy))),
        )

    def _arn(self, service_resource: str) -> str:
        return f"arn:{self._account.partition}:iam::{self._account.account_id}:{service_resource}"

    def _entity_arn(self, kind: str, path: str, name: str) -> str:
        return self._arn(f"{kind}{path}{name}")

    # ------------------------------------------------------------ PolicySource

    def generation(self) -> int:
        return self.backend.generation()

    def resolve_principal(self, arn: str) -> ResolvedPrincipal | None:
        """The user, role or root named by ``arn`` with every policy parsed; ``None`` if unknown.

        Role ARNs without a path (``role/Name``, as STS session ARNs name them) match the role
        whatever its path; user and role ARNs with a path must match it exactly, and names are
        compared case-sensitively (an ARN is case-sensitive even though names are unique
        without regard to case).
        """
        with self._cache_lock:
            cached = self._resolved.get(arn)
        if cached is not None and cached.generation == self.backend.generation():
            return cached
        with self._read() as tx:
            resolved = self._resolve_in(tx, arn)
        if resolved is not None:
            with self._cache_lock:
                self._resolved[arn] = resolved
        return resolved

    def parsed(self, cache_key: tuple[str, ...], document: str, *, name: str, kind: PolicyKind) -> Policy:
        """``document`` parsed once per ``cache_key`` (managed: policy id + version id)."""
        with self._cache_lock:
            found = self._parsed.get(cache_key)
        if found is None:
            found = parse_policy(document, name=name, kind=kind)
            with self._cache_lock:
                self._parsed[cache_key] = found
        return found

    def get_access_key(self, access_key_id: str) -> tuple[AccessKey, str] | None:
        """Metadata and plaintext secret of an access key, for signature verification."""
        with self._read() as tx:
            row = tx.get("access_keys", {"access_key_id": access_key_id})
            if row is None:
                return None
            key = self._access_key(tx, row)
        secret = self.secret_box.open(str(row["sealed_secret"]), context=access_key_id)
        return key, secret

    # ------------------------------------------------------------ access activity

    def record_access_activity(self, batch: Iterable[AccessActivity]) -> None:
        """Record access-key last-used and per-service last-accessed data, in one transaction.

        Activity changes no decision, so this write leaves the generation alone: bumping it
        would empty every decision cache on each flush. Keys that no longer exist are skipped;
        times only ever move forward. Backends that cannot write without announcing a new
        generation (see :meth:`_activity_write`) fall back to an ordinary write.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccessKeyLastUsed.html
        """
        items = list(batch)
        if not items:
            return
        with self._activity_write() as tx:
            for item in items:
                if item.access_key_id is not None:
                    self._record_key_use(tx, item)
                self._record_service_use(tx, item)

    def get_service_last_accessed(self, arn: str) -> list[ServiceLastAccessed]:
        """Access-advisor data of the user or role ``arn``, one entry per service used, by name."""
        with self._read() as tx:
            rows = tx.select("service_last_accessed", {"entity_arn": arn})
        return [
            ServiceLastAccessed(
                service_namespace=str(r["service_namespace"]),
                last_authenticated=_dt(r["last_authenticated"]),
                last_authenticated_entity=str(r["last_authenticated_entity"]),
                last_authenticated_region=str(r["last_authenticated_region"]),
                last_action=str(r["last_action"]),
                total_requests=int(str(r["total_requests"])),
            )
            for r in rows
        ]

    @contextmanager
    def _activity_write(self) -> Iterator[Transaction]:
        """A write transaction that leaves the generation as it found it.

        A backend may offer ``write_unversioned()``. Otherwise, for the memory and SQLite
        backends, the bump ``write()`` makes first is undone before commit, inside the same
        serialized transaction, so no reader or polling feed ever sees it. A backend that
        announces bumps to other processes (PostgreSQL's NOTIFY) cannot take the bump back, so
        it gets an ordinary, generation-bumping write: correct, only less cache-friendly.
        """
        from iamguard.store.memory import MemoryBackend
        from iamguard.store.sqlite import SQLiteBackend

        unversioned = getattr(self.backend, "write_unversioned", None)
        if callable(unversioned):
            with unversioned() as tx:
                yield tx
            return
        if not isinstance(self.backend, (MemoryBackend, SQLiteBackend)):
            with self.backend.write() as tx:
                yield tx
            return
        with self.backend.write() as tx:
            row = tx.get("generation", {"id": 1})
            yield tx
            if row is not None:
                tx.update("generation", {"id": 1}, {"value": int(row["value"] or 0) - 1})

    def _record_key_use(self, tx: Transaction, item: AccessActivity) -> None:
        assert item.access_key_id is not None
        if tx.get("access_keys", {"access_key_id": item.access_key_id}) is None:
            return
        key = {"access_key_id": item.access_key_id}
        row = tx.get("access_key_activity", key)
        if row is not None and _dt(row["last_used_date"]) >= item.at:
            return
        values: Row = {"last_used_date": _ts(item.at), "service_name": item.service_namespace, "region": item.region}
        if row is None:
            tx.insert("access_key_activity", {**key, **values})
        else:
            tx.update("access_key_activity", key, values)
        tx.update("access_keys", key, {"last_used_date": _ts(item.at)})

    def _record_service_use(self, tx: Transaction, item: AccessActivity) -> None:
        key = {"entity_arn": item.entity_arn, "service_namespace": item.service_namespace}
        row = tx.get("service_last_accessed", key)
        total = item.count + (0 if row is None else int(str(row["total_requests"])))
        if row is not None and _dt(row["last_authenticated"]) >= item.at:
            tx.update("service_last_accessed", key, {"total_requests": total})
            return
        values: Row = {
            "last_authenticated": _ts(item.at),
            "last_authenticated_entity": item.authenticated_entity or item.entity_arn,
            "last_authenticated_region": item.region,
            "last_action": item.action,
            "total_requests": total,
        }
        if row is None:
            tx.insert("service_last_accessed", {**key, **values})
        else:
            tx.update("service_last_accessed", key, values)

    # ------------------------------------------------------------ resolution (read path)

    def _resolve_in(self, tx: Transaction, arn: str) -> ResolvedPrincipal | None:
        parts = arn.split(":", 5) if isinstance(arn, str) else []
        account = self._account
        if len(parts) != 6 or parts[0] != "arn" or parts[1] != account.partition or parts[2] != "iam":
            return None
        if parts[3] != "" or parts[4] != account.account_id:
            return None
        generation_row = tx.get("generation", {"id": 1})
        generation = int(generation_row["value"] or 0) if generation_row else 0
        resource = parts[5]
        if resource == "root":
            return ResolvedPrincipal(
                arn, "root", "root", account.account_id, account.account_id, (), None, generation
            )
        kind, _, rest = resource.partition("/")
        if kind not in ("user", "role") or not rest:
            return None
        path, _, name = ("/" + rest).rpartition("/")
        path += "/"
        table = "users" if kind == "user" else "roles"
        row = tx.get(table, {"name_key": _key(name)})
        if row is None or row["name"] != name:
            return None
        # STS session ARNs name roles without their path, so a path-less role ARN matches.
        if row["path"] != path and not (kind == "role" and path == "/"):
            return None
        if kind == "user":
            return self._resolve_user(tx, arn, row, generation)
        policies = self._owner_policies(tx, PrincipalKind.ROLE, row)
        return ResolvedPrincipal(
            self._entity_arn("role", str(row["path"]), name),
            "role",
            name,
            str(row["role_id"]),
            account.account_id,
            tuple(policies),
            self._boundary(tx, row),
            generation,
            _tags(row["tags"]),
        )

    def _resolve_user(self, tx: Transaction, arn: str, row: Row, generation: int) -> ResolvedPrincipal:
        policies = self._owner_policies(tx, PrincipalKind.USER, row)
        group_names = []
        for member in tx.select("group_members", {"user_key": row["name_key"]}):
            group = tx.get("groups", {"name_key": member["group_key"]})
            if group is not None:
                group_names.append(str(group["name"]))
                policies += self._owner_policies(tx, PrincipalKind.GROUP, group)
        return ResolvedPrincipal(
            arn,
            "user",
            str(row["name"]),
            str(row["user_id"]),
            self._account.account_id,
            tuple(policies),
            self._boundary(tx, row),
            generation,
            _tags(row["tags"]),
            tuple(group_names),
        )

    def _owner_policies(self, tx: Transaction, kind: PrincipalKind, owner: Row) -> list[Policy]:
        """The owner's inline policies, then its attached managed policies."""
        where = {"owner_kind": kind.value, "owner_key": owner["name_key"]}
        unique_id = str(owner[{"user": "user_id", "group": "group_id", "role": "role_id"}[kind.value]])
        found = []
        for row in tx.select("inline_policies", where):
            document = str(row["document"])
            digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
            label = f"{kind.value}/{owner['name']}/inline/{row['name']}"
            found.append(
                self.parsed(
                    ("inline", unique_id, str(row["name"]), digest),
                    document,
                    name=label,
                    kind=PolicyKind.IDENTITY,
                )
            )
        for link in tx.select("attachments", where):
            found.append(self._managed_policy_object(tx, str(link["policy_arn"])))
        return found

    def _boundary(self, tx: Transaction, row: Row) -> Policy | None:
        arn = row["boundary_arn"]
        return None if arn is None else self._managed_policy_object(tx, str(arn))

    def _managed_policy_object(self, tx: Transaction, arn: str) -> Policy:
        """The parsed default version of a managed policy, cached per (policy id, version)."""
        static = built_in.get_built_in(arn)
        if static is not None:
            version = static.version(self._account.partition)
            return self.parsed(
                ("built-in", static.name, version.version_id),
                static.document,
                name=arn,
                kind=PolicyKind.IDENTITY,
            )
        rows = tx.select("policies", {"arn": arn})
        if not rows:
            # INVARIANT: writes never leave an attachment to a missing policy; refuse loudly
            # rather than silently dropping a policy (which could drop a Deny).
            raise NoSuchEntityError(f"attached policy {arn} does not exist")
        policy = rows[0]
        version_row = tx.get(
            "policy_versions", {"policy_key": policy["name_key"], "version_id": policy["default_version"]}
        )
        assert version_row is not None
        return self.parsed(
            ("managed", str(policy["policy_id"]), str(policy["default_version"])),
            str(version_row["document"]),
            name=arn,
            kind=PolicyKind.IDENTITY,
        )

    # ------------------------------------------------------------ account

    def account(self) -> Account:
        return self._reload_account()

    def create_account_alias(self, alias: str) -> None:
        """Set the account alias (an account has at most one; a new one replaces it).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccountAlias.html"""
        if not valid_account_alias(alias):
            raise InvalidInputError(
                "account alias must be 3-63 lowercase letters, digits and single hyphens, "
                "not starting or ending with a hyphen"
            )
        with self._write() as tx:
            tx.update("account", {"account_id": self._account.account_id}, {"alias": alias})

    def delete_account_alias(self, alias: str) -> None:
        with self._write() as tx:
            if self._account_from_row(tx.select("account")[0]).alias != alias:
                raise NoSuchEntityError(f"the account has no alias {alias!r}")
            tx.update("account", {"account_id": self._account.account_id}, {"alias": None})

    def update_account_password_policy(self, policy: PasswordPolicy) -> None:
        policy.validate()
        with self._write() as tx:
            tx.update(
                "account",
                {"account_id": self._account.account_id},
                {"password_policy": json.dumps(asdict(policy))},
            )

    def get_account_password_policy(self) -> PasswordPolicy:
        """The custom policy; ``NoSuchEntityError`` when none is set (as AWS answers)."""
        policy = self.account().password_policy
        if policy is None:
            raise NoSuchEntityError("the account has no custom password policy", code="NoSuchEntity")
        return policy

    def delete_account_password_policy(self) -> None:
        with self._write() as tx:
            if self._account_from_row(tx.select("account")[0]).password_policy is None:
                raise NoSuchEntityError("the account has no custom password policy")
            tx.update("account", {"account_id": self._account.account_id}, {"password_policy": None})

    def effective_password_policy(self) -> PasswordPolicy:
        """The custom policy, or AWS's default policy when none is set."""
        return self.account().password_policy or PasswordPolicy()

    # ------------------------------------------------------------ users

    def create_user(
        self,
        name: str,
        *,
        path: str = "/",
        tags: Mapping[str, str] | None = None,
        permissions_boundary: str | None = None,
    ) -> User:
        check_name(name, "user", 64)
        check_path(path)
        tag_pairs = check_tags(tags, self.quotas.tags_per_entity)
        with self._write() as tx:
            self._require_absent(tx, "users", name, "user")
            self._check_count(tx, "users", self.quotas.users, "users")
            if permissions_boundary is not None:
                self._managed(tx, permissions_boundary)
            tx.insert(
                "users",
                {
                    "name_key": _key(name),
                    "name": name,
                    "user_id": new_unique_id("AIDA"),
                    "path": path,
                    "create_date": _ts(self._now()),
                    "tags": _tags_json(tag_pairs),
                    "boundary_arn": permissions_boundary,
                },
            )
            return self._user(self._row(tx, "users", name, "user"))

    def get_user(self, name: str) -> User:
        with self._read() as tx:
            return self._user(self._row(tx, "users", name, "user"))

    def list_users(self, *, path_prefix: str = "/") -> list[User]:
        with self._read() as tx:
            users = [self._user(r) for r in tx.select("users")]
        return [u for u in users if u.path.startswith(path_prefix)]

    def update_user(self, name: str, *, new_name: str | None = None, new_path: str | None = None) -> User:
        """Rename and/or move a user; keys, groups and policies follow it (AWS UpdateUser)."""
        if new_path is not None:
            check_path(new_path)
        with self._write() as tx:
            row = self._row(tx, "users", name, "user")
            if new_path is not None:
                tx.update("users", {"name_key": row["name_key"]}, {"path": new_path})
            if new_name is not None and new_name != row["name"]:
                check_name(new_name, "user", 64)
                self._rename(tx, PrincipalKind.USER, str(row["name_key"]), new_name)
                name = new_name
            return self._user(self._row(tx, "users", name, "user"))

    def delete_user(self, name: str, *, force: bool = False) -> None:
        """Delete a user; ``DeleteConflictError`` while it still has access keys, a login
        profile, MFA devices, policies or group memberships, unless ``force`` removes them too.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html"""
        with self._write() as tx:
            key = str(self._row(tx, "users", name, "user")["name_key"])
            blockers = {
                "access keys": tx.select("access_keys", {"user_key": key}),
                "a login profile": tx.select("login_profiles", {"user_key": key}),
                "MFA devices": tx.select("mfa_devices", {"user_key": key}),
                "inline policies": tx.select("inline_policies", {"owner_kind": "user", "owner_key": key}),
                "attached policies": tx.select("attachments", {"owner_kind": "user", "owner_key": key}),
                "group memberships": tx.select("group_members", {"user_key": key}),
            }
            in_use = [what for what, rows in blockers.items() if rows]
            if in_use and not force:
                raise DeleteConflictError(f"user {name!r} still has {', '.join(in_use)}")
            tx.delete("access_keys", {"user_key": key})
            tx.delete("login_profiles", {"user_key": key})
            for device in blockers["MFA devices"]:
                tx.update(
                    "mfa_devices",
                    {"serial_number": device["serial_number"]},
                    {"user_key": None, "enable_date": None, "last_used_step": None},
                )
            self._drop_policies(tx, PrincipalKind.USER, key)
            tx.delete("group_members", {"user_key": key})
            tx.delete("users", {"name_key": key})

    def tag_user(self, name: str, tags: Mapping[str, str]) -> User:
        return self._tag(PrincipalKind.USER, name, tags, ())  # type: ignore[return-value]

    def untag_user(self, name: str, keys: Sequence[str]) -> User:
        return self._tag(PrincipalKind.USER, name, {}, keys)  # type: ignore[return-value]

    def put_user_permissions_boundary(self, name: str, policy_arn: str) -> None:
        self._set_boundary(PrincipalKind.USER, name, policy_arn)

    def delete_user_permissions_boundary(self, name: str) -> None:
        self._set_boundary(PrincipalKind.USER, name, None)

    # ------------------------------------------------------------ groups

    def create_group(self, name: str, *, path: str = "/") -> Group:
        check_name(name, "group", 128)
        check_path(path)
        with self._write() as tx:
            self._require_absent(tx, "groups", name, "group")
            self._check_count(tx, "groups", self.quotas.groups, "groups")
            tx.insert(
                "groups",
                {
                    "name_key": _key(name),
                    "name": name,
                    "group_id": new_unique_id("AGPA"),
                    "path": path,
                    "create_date": _ts(self._now()),
                },
            )
            return self._group(self._row(tx, "groups", name, "group"))

    def get_group(self, name: str) -> Group:
        with self._read() as tx:
            return self._group(self._row(tx, "groups", name, "group"))

    def list_groups(self, *, path_prefix: str = "/") -> list[Group]:
        with self._read() as tx:
            groups = [self._group(r) for r in tx.select("groups")]
        return [g for g in groups if g.path.startswith(path_prefix)]

    def delete_group(self, name: str, *, force: bool = False) -> None:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteGroup.html"""
        with self._write() as tx:
            key = str(self._row(tx, "groups", name, "group")["name_key"])
            in_use = [
                what
                for what, rows in (
                    ("members", tx.select("group_members", {"group_key": key})),
                    (
                        "inline policies",
                        tx.select("inline_policies", {"owner_kind": "group", "owner_key": key}),
                    ),
                    (
                        "attached policies",
                        tx.select("attachments", {"owner_kind": "group", "owner_key": key}),
                    ),
                )
                if rows
            ]
            if in_use and not force:
                raise DeleteConflictError(f"group {name!r} still has {', '.join(in_use)}")
            tx.delete("group_members", {"group_key": key})
            self._drop_policies(tx, PrincipalKind.GROUP, key)
            tx.delete("groups", {"name_key": key})

    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        with self._write() as tx:
            group = self._row(tx, "groups", group_name, "group")
            user = self._row(tx, "users", user_name, "user")
            member = {"group_key": group["name_key"], "user_key": user["name_key"]}
            if tx.get("group_members", member) is not None:
                return  # AWS: adding an existing member succeeds and changes nothing
            if len(tx.select("group_members", {"user_key": user["name_key"]})) >= self.quotas.groups_per_user:
                raise LimitExceededError(
                    f"user {user_name!r} is already in {self.quotas.groups_per_user} groups (GroupsPerUser quota)"
                )
            tx.insert("group_members", member)

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        with self._write() as tx:
            group = self._row(tx, "groups", group_name, "group")
            user = self._row(tx, "users", user_name, "user")
            if not tx.delete("group_members", {"group_key": group["name_key"], "user_key": user["name_key"]}):
                raise NoSuchEntityError(f"user {user_name!r} is not in group {group_name!r}")

    def list_groups_for_user(self, user_name: str) -> list[Group]:
        with self._read() as tx:
            user = self._row(tx, "users", user_name, "user")
            keys = [m["group_key"] for m in tx.select("group_members", {"user_key": user["name_key"]})]
            return [self._group(r) for k in keys if (r := tx.get("groups", {"name_key": k})) is not None]

    def get_group_members(self, group_name: str) -> list[User]:
        with self._read() as tx:
            group = self._row(tx, "groups", group_name, "group")
            keys = [m["user_key"] for m in tx.select("group_members", {"group_key": group["name_key"]})]
            return [self._user(r) for k in keys if (r := tx.get("users", {"name_key": k})) is not None]

    # ------------------------------------------------------------ roles

    def create_role(
        self,
        name: str,
        assume_role_policy: str | Mapping[str, Any],
        *,
        path: str = "/",
        description: str = "",
        max_session_duration: int = 3600,
        tags: Mapping[str, str] | None = None,
        permissions_boundary: str | None = None,
    ) -> Role:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html"""
        check_name(name, "role", 64)
        check_path(path)
        check_description(description)
        self._check_session_duration(max_session_duration)
        tag_pairs = check_tags(tags, self.quotas.tags_per_entity)
        trust = self._check_trust(assume_role_policy)
        with self._write() as tx:
            self._require_absent(tx, "roles", name, "role")
            self._check_count(tx, "roles", self.quotas.roles, "roles")
            if permissions_boundary is not None:
                self._managed(tx, permissions_boundary)
            tx.insert(
                "roles",
                {
                    "name_key": _key(name),
                    "name": name,
                    "role_id": new_unique_id("AROA"),
                    "path": path,
                    "create_date": _ts(self._now()),
                    "trust_policy": trust,
                    "description": description,
                    "max_session_duration": max_session_duration,
                    "tags": _tags_json(tag_pairs),
                    "boundary_arn": permissions_boundary,
                },
            )
            return self._role(self._row(tx, "roles", name, "role"))

    def get_role(self, name: str) -> Role:
        with self._read() as tx:
            return self._role(self._row(tx, "roles", name, "role"))

    def list_roles(self, *, path_prefix: str = "/") -> list[Role]:
        with self._read() as tx:
            roles = [self._role(r) for r in tx.select("roles")]
        return [r for r in roles if r.path.startswith(path_prefix)]

    def update_role(
        self, name: str, *, description: str | None = None, max_session_duration: int | None = None
    ) -> Role:
        changes: Row = {}
        if description is not None:
            check_description(description)
            changes["description"] = description
        if max_session_duration is not None:
            self._check_session_duration(max_session_duration)
            changes["max_session_duration"] = max_session_duration
        with self._write() as tx:
            row = self._row(tx, "roles", name, "role")
            if changes:
                tx.update("roles", {"name_key": row["name_key"]}, changes)
            return self._role(self._row(tx, "roles", name, "role"))

    def update_assume_role_policy(self, name: str, document: str | Mapping[str, Any]) -> Role:
        trust = self._check_trust(document)
        with self._write() as tx:
            row = self._row(tx, "roles", name, "role")
            tx.update("roles", {"name_key": row["name_key"]}, {"trust_policy": trust})
            return self._role(self._row(tx, "roles", name, "role"))

    def delete_role(self, name: str, *, force: bool = False) -> None:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html"""
        with self._write() as tx:
            key = str(self._row(tx, "roles", name, "role")["name_key"])
            in_use = [
                what
                for what, rows in (
                    (
                        "inline policies",
                        tx.select("inline_policies", {"owner_kind": "role", "owner_key": key}),
                    ),
                    ("attached policies", tx.select("attachments", {"owner_kind": "role", "owner_key": key})),
                )
                if rows
            ]
            if in_use and not force:
                raise DeleteConflictError(f"role {name!r} still has {', '.join(in_use)}")
            self._drop_policies(tx, PrincipalKind.ROLE, key)
            tx.delete("roles", {"name_key": key})

    def tag_role(self, name: str, tags: Mapping[str, str]) -> Role:
        return self._tag(PrincipalKind.ROLE, name, tags, ())  # type: ignore[return-value]

    def untag_role(self, name: str, keys: Sequence[str]) -> Role:
        return self._tag(PrincipalKind.ROLE, name, {}, keys)  # type: ignore[return-value]

    def put_role_permissions_boundary(self, name: str, policy_arn: str) -> None:
        self._set_boundary(PrincipalKind.ROLE, name, policy_arn)

    def delete_role_permissions_boundary(self, name: str) -> None:
        self._set_boundary(PrincipalKind.ROLE, name, None)

    def _check_session_duration(self, seconds: int) -> None:
        low, high = self.quotas.min_session_duration, self.quotas.max_session_duration
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not low <= seconds <= high:
            raise InvalidInputError(f"MaxSessionDuration must be between {low} and {high} seconds")

    def _check_trust(self, document: str | Mapping[str, Any]) -> str:
        text = _document_text(document)
        parse_policy(
            text, name="trust policy", kind=PolicyKind.RESOURCE, limits=self.quotas.trust_policy_size
        )
        return text

    # ------------------------------------------------------------ managed policies

    def create_policy(
        self,
        name: str,
        document: str | Mapping[str, Any],
        *,
        path: str = "/",
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> ManagedPolicy:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html"""
        check_name(name, "policy", 128)
        check_path(path)
        check_description(description)
        tag_pairs = check_tags(tags, self.quotas.tags_per_entity)
        text = self._check_identity_document(document, self.quotas.managed_policy_size, name)
        with self._write() as tx:
            self._require_absent(tx, "policies", name, "policy")
            self._check_count(
                tx, "policies", self.quotas.customer_managed_policies, "customer managed policies"
            )
            now = _ts(self._now())
            tx.insert(
                "policies",
                {
                    "name_key": _key(name),
                    "name": name,
                    "policy_id": new_unique_id("ANPA"),
                    "arn": self._entity_arn("policy", path, name),
                    "path": path,
                    "default_version": "v1",
                    "next_version": 2,
                    "description": description,
                    "create_date": now,
                    "update_date": now,
                    "revision": 1,
                    "tags": _tags_json(tag_pairs),
                },
            )
            tx.insert(
                "policy_versions",
                {"policy_key": _key(name), "version_id": "v1", "document": text, "create_date": now},
            )
            return self._policy_record(tx, self._row(tx, "policies", name, "policy"))

    def get_policy(self, arn: str) -> ManagedPolicy:
        with self._read() as tx:
            return self._managed(tx, arn)

    def list_policies(self, *, scope: str = "all", only_attached: bool = False) -> list[ManagedPolicy]:
        """``scope``: ``"all"``, ``"local"`` (customer managed) or ``"built-in"`` (AWS: Scope)."""
        if scope not in ("all", "local", "built-in"):
            raise InvalidInputError("scope must be 'all', 'local' or 'built-in'")
        with self._read() as tx:
            found: list[ManagedPolicy] = []
            if scope in ("all", "built-in"):
                found += [
                    self._managed(tx, p.arn(self._account.partition))
                    for p in built_in.built_in_policies().values()
                ]
            if scope in ("all", "local"):
                found += [self._policy_record(tx, r) for r in tx.select("policies")]
        return [p for p in found if p.attachment_count or not only_attached]

    def get_policy_version(self, arn: str, version_id: str) -> PolicyVersion:
        with self._read() as tx:
            for version in self._versions(tx, arn):
                if version.version_id == version_id:
                    return version
        raise NoSuchEntityError(f"policy {arn} has no version {version_id!r}")

    def list_policy_versions(self, arn: str) -> list[PolicyVersion]:
        with self._read() as tx:
            return self._versions(tx, arn)

    def create_policy_version(
        self,
        arn: str,
        document: str | Mapping[str, Any],
        *,
        set_as_default: bool = False,
        expected_revision: int | None = None,
    ) -> PolicyVersion:
        """A new version (``LimitExceededError`` at 5: delete one first).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicyVersion.html"""
        with self._write() as tx:
            row = self._customer_policy_row(tx, arn, expected_revision)
            text = self._check_identity_document(document, self.quotas.managed_policy_size, str(row["name"]))
            key = row["name_key"]
            if len(tx.select("policy_versions", {"policy_key": key})) >= self.quotas.versions_per_policy:
                raise LimitExceededError(
                    f"policy {arn} already has {self.quotas.versions_per_policy} versions; delete one first"
                )
            version_id = f"v{row['next_version']}"
            now = _ts(self._now())
            tx.insert(
                "policy_versions",
                {"policy_key": key, "version_id": version_id, "document": text, "create_date": now},
            )
            changes: Row = {
                "next_version": int(row["next_version"] or 0) + 1,
                "update_date": now,
                "revision": int(row["revision"] or 0) + 1,
            }
            if set_as_default:
                changes["default_version"] = version_id
            tx.update("policies", {"name_key": key}, changes)
            return next(v for v in self._versions(tx, arn) if v.version_id == version_id)

    def set_default_policy_version(
        self, arn: str, version_id: str, *, expected_revision: int | None = None
    ) -> None:
        with self._write() as tx:
            row = self._customer_policy_row(tx, arn, expected_revision)
            if tx.get("policy_versions", {"policy_key": row["name_key"], "version_id": version_id}) is None:
                raise NoSuchEntityError(f"policy {arn} has no version {version_id!r}")
            tx.update(
                "policies",
                {"name_key": row["name_key"]},
                {
                    "default_version": version_id,
                    "update_date": _ts(self._now()),
                    "revision": int(row["revision"] or 0) + 1,
                },
            )

    def delete_policy_version(
        self, arn: str, version_id: str, *, expected_revision: int | None = None
    ) -> None:
        """Only a non-default version can be deleted.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicyVersion.html"""
        with self._write() as tx:
            row = self._customer_policy_row(tx, arn, expected_revision)
            if row["default_version"] == version_id:
                raise DeleteConflictError(
                    f"{version_id} is the default version of {arn}; make another version the default first"
                )
            if not tx.delete("policy_versions", {"policy_key": row["name_key"], "version_id": version_id}):
                raise NoSuchEntityError(f"policy {arn} has no version {version_id!r}")
            tx.update("policies", {"name_key": row["name_key"]}, {"revision": int(row["revision"] or 0) + 1})

    def delete_policy(self, arn: str, *, force: bool = False) -> None:
        """``DeleteConflictError`` while attached, used as a boundary or holding non-default
        versions, unless ``force`` detaches it and drops them.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html"""
        with self._write() as tx:
            row = self._customer_policy_row(tx, arn, None)
            key = row["name_key"]
            users_bounded = tx.select("users", {"boundary_arn": arn})
            roles_bounded = tx.select("roles", {"boundary_arn": arn})
            extra_versions = [
                v
                for v in tx.select("policy_versions", {"policy_key": key})
                if v["version_id"] != row["default_version"]
            ]
            in_use = [
                what
                for what, rows in (
                    ("attachments", tx.select("attachments", {"policy_arn": arn})),
                    ("permissions boundary uses", users_bounded + roles_bounded),
                    ("non-default versions", extra_versions),
                )
                if rows
            ]
            if in_use and not force:
                raise DeleteConflictError(f"policy {arn} still has {', '.join(in_use)}")
            tx.delete("attachments", {"policy_arn": arn})
            for table, rows in (("users", users_bounded), ("roles", roles_bounded)):
                for bounded in rows:
                    tx.update(table, {"name_key": bounded["name_key"]}, {"boundary_arn": None})
            tx.delete("policy_versions", {"policy_key": key})
            tx.delete("policies", {"name_key": key})

    def _check_identity_document(
        self, document: str | Mapping[str, Any], limits: PolicyLimits, name: str
    ) -> str:
        text = _document_text(document)
        parse_policy(text, name=name, kind=PolicyKind.IDENTITY, limits=limits)
        return text

    # ------------------------------------------------------------ attachments

    def attach_policy(self, kind: PrincipalKind, name: str, policy_arn: str) -> None:
        """Attach a managed policy to a user, group or role (at most 10 each by default)."""
        kind = PrincipalKind(kind)
        with self._write() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], name, _ENTITY_WORD[kind])
            self._managed(tx, policy_arn)
            link = {"owner_kind": kind.value, "owner_key": owner["name_key"], "policy_arn": policy_arn}
            if tx.get("attachments", link) is not None:
                return  # attaching twice changes nothing, as in AWS
            attached = tx.select("attachments", {"owner_kind": kind.value, "owner_key": owner["name_key"]})
            if len(attached) >= self.quotas.attached_limit(kind):
                raise LimitExceededError(
                    f"{_ENTITY_WORD[kind]} {name!r} already has {self.quotas.attached_limit(kind)} managed policies attached"
                )
            tx.insert("attachments", link)

    def detach_policy(self, kind: PrincipalKind, name: str, policy_arn: str) -> None:
        kind = PrincipalKind(kind)
        with self._write() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], name, _ENTITY_WORD[kind])
            link = {"owner_kind": kind.value, "owner_key": owner["name_key"], "policy_arn": policy_arn}
            if not tx.delete("attachments", link):
                raise NoSuchEntityError(
                    f"policy {policy_arn} is not attached to {_ENTITY_WORD[kind]} {name!r}"
                )

    def list_attached_policies(self, kind: PrincipalKind, name: str) -> list[ManagedPolicy]:
        kind = PrincipalKind(kind)
        with self._read() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], name, _ENTITY_WORD[kind])
            links = tx.select("attachments", {"owner_kind": kind.value, "owner_key": owner["name_key"]})
            return [self._managed(tx, str(link["policy_arn"])) for link in links]

    def list_entities_for_policy(self, policy_arn: str) -> list[tuple[PrincipalKind, str]]:
        """(kind, name) of every user, group and role the policy is attached to."""
        with self._read() as tx:
            self._managed(tx, policy_arn)
            found = []
            for link in tx.select("attachments", {"policy_arn": policy_arn}):
                kind = PrincipalKind(str(link["owner_kind"]))
                row = tx.get(_ENTITY_TABLE[kind], {"name_key": link["owner_key"]})
                if row is not None:
                    found.append((kind, str(row["name"])))
            return found

    def attach_user_policy(self, user_name: str, policy_arn: str) -> None:
        self.attach_policy(PrincipalKind.USER, user_name, policy_arn)

    def attach_group_policy(self, group_name: str, policy_arn: str) -> None:
        self.attach_policy(PrincipalKind.GROUP, group_name, policy_arn)

    def attach_role_policy(self, role_name: str, policy_arn: str) -> None:
        self.attach_policy(PrincipalKind.ROLE, role_name, policy_arn)

    # ------------------------------------------------------------ inline policies

    def put_inline_policy(
        self, kind: PrincipalKind, owner_name: str, policy_name: str, document: str | Mapping[str, Any]
    ) -> InlinePolicy:
        """Add or replace an inline policy; the owner's inline policies together must stay
        within its aggregate size quota (user 2048, group 5120, role 10240 characters).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html"""
        kind = PrincipalKind(kind)
        check_name(policy_name, "policy", 128)
        limits = self.quotas.inline_limit(kind)
        text = self._check_identity_document(document, limits, policy_name)
        with self._write() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], owner_name, _ENTITY_WORD[kind])
            where = {"owner_kind": kind.value, "owner_key": owner["name_key"]}
            others = [r for r in tx.select("inline_policies", where) if r["name_key"] != _key(policy_name)]
            problem = limits.problem(sum(policy_size(str(r["document"])) for r in others) + policy_size(text))
            if problem:
                raise LimitExceededError(f"inline policies of {_ENTITY_WORD[kind]} {owner_name!r}: {problem}")
            key = {**where, "name_key": _key(policy_name)}
            if tx.get("inline_policies", key) is not None:
                tx.update("inline_policies", key, {"name": policy_name, "document": text})
            else:
                tx.insert("inline_policies", {**key, "name": policy_name, "document": text})
            return InlinePolicy(kind, str(owner["name"]), policy_name, text)

    def get_inline_policy(self, kind: PrincipalKind, owner_name: str, policy_name: str) -> InlinePolicy:
        kind = PrincipalKind(kind)
        with self._read() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], owner_name, _ENTITY_WORD[kind])
            row = tx.get(
                "inline_policies",
                {"owner_kind": kind.value, "owner_key": owner["name_key"], "name_key": _key(policy_name)},
            )
            if row is None:
                raise NoSuchEntityError(
                    f"{_ENTITY_WORD[kind]} {owner_name!r} has no inline policy {policy_name!r}"
                )
            return InlinePolicy(kind, str(owner["name"]), str(row["name"]), str(row["document"]))

    def list_inline_policies(self, kind: PrincipalKind, owner_name: str) -> list[str]:
        kind = PrincipalKind(kind)
        with self._read() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], owner_name, _ENTITY_WORD[kind])
            rows = tx.select("inline_policies", {"owner_kind": kind.value, "owner_key": owner["name_key"]})
            return [str(r["name"]) for r in rows]

    def delete_inline_policy(self, kind: PrincipalKind, owner_name: str, policy_name: str) -> None:
        kind = PrincipalKind(kind)
        with self._write() as tx:
            owner = self._row(tx, _ENTITY_TABLE[kind], owner_name, _ENTITY_WORD[kind])
            if not tx.delete(
                "inline_policies",
                {"owner_kind": kind.value, "owner_key": owner["name_key"], "name_key": _key(policy_name)},
            ):
                raise NoSuchEntityError(
                    f"{_ENTITY_WORD[kind]} {owner_name!r} has no inline policy {policy_name!r}"
                )

    # ------------------------------------------------------------ access keys

    def create_access_key(self, user_name: str | None = None) -> AccessKeyCreated:
        """A new key (at most 2 per user); the secret is returned here once and stored sealed.
        ``user_name=None`` makes a root user key (AWS discourages them; see ``root_warnings``).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html"""
        with self._write() as tx:
            user_key = None if user_name is None else self._row(tx, "users", user_name, "user")["name_key"]
            if len(tx.select("access_keys", {"user_key": user_key})) >= self.quotas.access_keys_per_user:
                raise LimitExceededError(f"at most {self.quotas.access_keys_per_user} access keys per user")
            access_key_id = new_unique_id("AKIA", length=16)
            secret = generate_secret_access_key()
            tx.insert(
                "access_keys",
                {
                    "access_key_id": access_key_id,
                    "user_key": user_key,
                    "status": AccessKeyStatus.ACTIVE.value,
                    "sealed_secret": self.secret_box.seal(secret, context=access_key_id),
                    "create_date": _ts(self._now()),
                    "last_used_date": None,
                },
            )
            row = tx.get("access_keys", {"access_key_id": access_key_id})
            assert row is not None
            return AccessKeyCreated(self._access_key(tx, row), secret)

    def list_access_keys(self, user_name: str | None = None) -> list[AccessKey]:
        """A user's keys; ``None``: the root user's keys."""
        with self._read() as tx:
            user_key = None if user_name is None else self._row(tx, "users", user_name, "user")["name_key"]
            return [self._access_key(tx, r) for r in tx.select("access_keys", {"user_key": user_key})]

    def update_access_key(self, access_key_id: str, status: AccessKeyStatus | str) -> AccessKey:
        status = AccessKeyStatus(status)
        with self._write() as tx:
            self._access_key_row(tx, access_key_id)
            tx.update("access_keys", {"access_key_id": access_key_id}, {"status": status.value})
            return self._access_key(tx, self._access_key_row(tx, access_key_id))

    def delete_access_key(self, access_key_id: str) -> None:
        with self._write() as tx:
            self._access_key_row(tx, access_key_id)
            tx.delete("access_keys", {"access_key_id": access_key_id})

    def rotate_master_key(self) -> int:
        """Re-seal every stored secret under the box's primary key; how many changed.
        Idempotent, so an interrupted run can simply be repeated (see ``secrets.py``)."""
        changed = 0
        with self._write() as tx:
            for row in tx.select("access_keys"):
                sealed = str(row["sealed_secret"])
                if self.secret_box.needs_rotation(sealed):
                    new = self.secret_box.reseal(sealed, context=str(row["access_key_id"]))
                    tx.update("access_keys", {"access_key_id": row["access_key_id"]}, {"sealed_secret": new})
                    changed += 1
            for row in tx.select("mfa_devices"):
                sealed = str(row["sealed_seed"])
                if self.secret_box.needs_rotation(sealed):
                    new = self.secret_box.reseal(sealed, context=str(row["serial_number"]))
                    tx.update("mfa_devices", {"serial_number": row["serial_number"]}, {"sealed_seed": new})
                    changed += 1
        return changed

    def _access_key_row(self, tx: Transaction, access_key_id: str) -> Row:
        row = tx.get("access_keys", {"access_key_id": access_key_id})
        if row is None:
            raise NoSuchEntityError(f"no access key {access_key_id!r}")
        return row

    # ------------------------------------------------------------ login profiles

    def create_login_profile(
        self, user_name: str, password: str, *, password_reset_required: bool = False
    ) -> LoginProfile:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateLoginProfile.html"""
        self._check_password(password, user_name, ())
        with self._write() as tx:
            user = self._row(tx, "users", user_name, "user")
            if tx.get("login_profiles", {"user_key": user["name_key"]}) is not None:
                raise EntityAlreadyExistsError(f"user {user_name!r} already has a login profile")
            now = _ts(self._now())
            tx.insert(
                "login_profiles",
                {
                    "user_key": user["name_key"],
                    "password_hash": passwords.hash_password(password),
                    "previous_hashes": "[]",
                    "create_date": now,
                    "password_reset_required": int(password_reset_required),
                    "password_changed": now,
                    "failed_attempts": 0,
                    "last_failure_at": None,
                },
            )
            return self._login_profile(tx, user)

    def get_login_profile(self, user_name: str) -> LoginProfile:
        with self._read() as tx:
            return self._login_profile(tx, self._row(tx, "users", user_name, "user"))

    def update_login_profile(
        self, user_name: str, *, password: str | None = None, password_reset_required: bool | None = None
    ) -> LoginProfile:
        """An administrator's password reset (checked against the policy, lockout cleared)."""
        with self._write() as tx:
            user = self._row(tx, "users", user_name, "user")
            row = self._login_row(tx, user)
            changes: Row = {}
            if password is not None:
                self._check_password(password, user_name, self._history(row))
                changes.update(self._new_password(row, password))
            if password_reset_required is not None:
                changes["password_reset_required"] = int(password_reset_required)
            if changes:
                tx.update("login_profiles", {"user_key": user["name_key"]}, changes)
            return self._login_profile(tx, user)

    def change_password(self, user_name: str, old_password: str, new_password: str) -> None:
        """A user changing their own password (AWS ChangePassword): the old one must match,
        the new one must satisfy the policy, including reuse prevention."""
        with self._write() as tx:
            user = self._row(tx, "users", user_name, "user")
            row = self._login_row(tx, user)
            if not passwords.verify_password(str(row["password_hash"]), old_password):
                raise InvalidInputError("the old password is incorrect", code="InvalidUserType")
            self._check_password(new_password, user_name, self._history(row))
            changes = self._new_password(row, new_password)
            changes["password_reset_required"] = 0
            tx.update("login_profiles", {"user_key": user["name_key"]}, changes)

    def delete_login_profile(self, user_name: str) -> None:
        with self._write() as tx:
            user = self._row(tx, "users", user_name, "user")
            self._login_row(tx, user)
            tx.delete("login_profiles", {"user_key": user["name_key"]})

    def check_password(self, user_name: str, password: str) -> LoginOutcome:
        """One console sign-in attempt: lockout first, then the password, then expiry.

        Failures are counted (and reset by a success) so repeated guessing locks the user
        for ``lockout.lockout_seconds``. Unknown users and users without a login profile get
        the same plain refusal as a wrong password.
        """
        now = self._now()
        with self._read() as tx:
            user = tx.get("users", {"name_key": _key(user_name)})
            row = None if user is None else tx.get("login_profiles", {"user_key": user["name_key"]})
        if user is None or row is None:
            passwords.verify_password(_dummy_hash(), password)  # same work as a real check
            return LoginOutcome(ok=False)
        failures = int(row["failed_attempts"] or 0)
        locked, remaining = passwords.lockout_state(
            failures, _opt_dt(row["last_failure_at"]), self.lockout, now
        )
        if locked:
            return LoginOutcome(ok=False, locked=True, retry_after=remaining)
        if not passwords.verify_password(str(row["password_hash"]), password):
            with self._write() as tx:
                tx.update(
                    "login_profiles",
                    {"user_key": user["name_key"]},
                    {"failed_attempts": failures + 1, "last_failure_at": _ts(now)},
                )
            locked, remaining = passwords.lockout_state(failures + 1, now, self.lockout, now)
            return LoginOutcome(ok=False, locked=locked, retry_after=remaining)
        policy = self.effective_password_policy()
        changed = _opt_dt(row["password_changed"]) or _dt(row["create_date"])
        expired = passwords.password_expired(changed, policy, now)
        if failures or passwords.needs_rehash(str(row["password_hash"])):
            with self._write() as tx:
                changes: Row = {"failed_attempts": 0, "last_failure_at": None}
                if passwords.needs_rehash(str(row["password_hash"])):
                    changes["password_hash"] = passwords.hash_password(password)
                tx.update("login_profiles", {"user_key": user["name_key"]}, changes)
        if expired and policy.hard_expiry:
            return LoginOutcome(ok=False, password_expired=True)
        return LoginOutcome(
            ok=True, password_expired=expired, password_reset_required=bool(row["password_reset_required"])
        )

    def _check_password(self, password: str, user_name: str, history: Sequence[str]) -> None:
        problems = passwords.check_password_policy(
            password, self.effective_password_policy(), previous_hashes=history, user_name=user_name
        )
        if problems:
            raise InvalidInputError("; ".join(problems), code="PasswordPolicyViolation")

    def _history(self, row: Row) -> list[str]:
        return [str(row["password_hash"])] + [str(h) for h in json.loads(str(row["previous_hashes"]))]

    def _new_password(self, row: Row, password: str) -> Row:
        keep = max((self.effective_password_policy().password_reuse_prevention or 0) - 1, 0)
        return {
            "password_hash": passwords.hash_password(password),
            "previous_hashes": json.dumps(self._history(row)[:keep]),
            "password_changed": _ts(self._now()),
            "failed_attempts": 0,
            "last_failure_at": None,
        }

    def _login_row(self, tx: Transaction, user: Row) -> Row:
        row = tx.get("login_profiles", {"user_key": user["name_key"]})
        if row is None:
            raise NoSuchEntityError(f"user {user['name']!r} has no login profile")
        return row

    def _login_profile(self, tx: Transaction, user: Row) -> LoginProfile:
        row = self._login_row(tx, user)
        return LoginProfile(
            user_name=str(user["name"]),
            create_date=_dt(row["create_date"]),
            password_reset_required=bool(row["password_reset_required"]),
            password_last_changed=_opt_dt(row["password_changed"]),
            failed_attempts=int(row["failed_attempts"] or 0),
            last_failure_at=_opt_dt(row["last_failure_at"]),
        )

    # ------------------------------------------------------------ MFA

    def create_virtual_mfa_device(self, name: str, *, path: str = "/") -> MfaDeviceCreated:
        """A new, unassigned virtual device and its seed (shown once).
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateVirtualMFADevice.html"""
        check_name(name, "MFA device", 226)
        check_path(path)
        serial = self._entity_arn("mfa", path, name)
        seed = mfa.generate_totp_secret()
        with self._write() as tx:
            if tx.get("mfa_devices", {"serial_number": serial}) is not None:
                raise EntityAlreadyExistsError(f"MFA device {serial} already exists")
            tx.insert(
                "mfa_devices",
                {
                    "serial_number": serial,
                    "user_key": None,
                    "is_root": 0,
                    "sealed_seed": self.secret_box.seal(seed, context=serial),
                    "create_date": _ts(self._now()),
                    "enable_date": None,
                    "last_used_step": None,
                },
            )
            return MfaDeviceCreated(self._mfa(tx, self._mfa_row(tx, serial)), seed)

    def enable_mfa_device(
        self, user_name: str | None, serial_number: str, code1: str, code2: str
    ) -> MfaDevice:
        """Assign a device to a user (``None``: the root user) after two consecutive codes.
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_EnableMFADevice.html"""
        with self._write() as tx:
            user_key = None if user_name is None else self._row(tx, "users", user_name, "user")["name_key"]
            row = self._mfa_row(tx, serial_number)
            if row["user_key"] is not None or row["is_root"]:
                raise EntityAlreadyExistsError(f"MFA device {serial_number} is already in use")
            owned = tx.select("mfa_devices", {"user_key": user_key, "is_root": int(user_name is None)})
            if user_name is not None and len(owned) >= self.quotas.mfa_devices_per_user:
                raise LimitExceededError(f"at most {self.quotas.mfa_devices_per_user} MFA devices per user")
            step = self._consecutive(row, code1, code2)
            tx.update(
                "mfa_devices",
                {"serial_number": serial_number},
                {
                    "user_key": user_key,
                    "is_root": int(user_name is None),
                    "enable_date": _ts(self._now()),
                    "last_used_step": step,
                },
            )
            return self._mfa(tx, self._mfa_row(tx, serial_number))

    def resync_mfa_device(
        self, user_name: str | None, serial_number: str, code1: str, code2: str
    ) -> MfaDevice:
        """https://docs.aws.amazon.com/IAM/latest/APIReference/API_ResyncMFADevice.html"""
        with self._write() as tx:
            row = self._owned_mfa_row(tx, user_name, serial_number)
            step = self._consecutive(row, code1, code2)
            tx.update("mfa_devices", {"serial_number": serial_number}, {"last_used_step": step})
            return self._mfa(tx, self._mfa_row(tx, serial_number))

    def deactivate_mfa_device(self, user_name: str | None, serial_number: str) -> None:
        """Detach a device from its user; it returns to the unassigned pool."""
        with self._write() as tx:
            self._owned_mfa_row(tx, user_name, serial_number)
            tx.update(
                "mfa_devices",
                {"serial_number": serial_number},
                {"user_key": None, "is_root": 0, "enable_date": None, "last_used_step": None},
            )

    def delete_virtual_mfa_device(self, serial_number: str) -> None:
        with self._write() as tx:
            row = self._mfa_row(tx, serial_number)
            if row["user_key"] is not None or row["is_root"]:
                raise DeleteConflictError(f"MFA device {serial_number} is enabled; deactivate it first")
            tx.delete("mfa_devices", {"serial_number": serial_number})

    def list_mfa_devices(self, user_name: str | None = None, *, root: bool = False) -> list[MfaDevice]:
        """A user's devices, the root user's (``root=True``), or every device (neither)."""
        with self._read() as tx:
            if user_name is not None:
                where: Row = {"user_key": self._row(tx, "users", user_name, "user")["name_key"]}
            elif root:
                where = {"is_root": 1}
            else:
                where = {}
            return [self._mfa(tx, r) for r in tx.select("mfa_devices", where)]

    def verify_mfa_code(self, user_name: str | None, code: str) -> bool:
        """Whether ``code`` is a current code of one of the user's enabled devices; a code (or an
        older one) is accepted once only, so a captured code cannot be replayed.

        The check reads first and writes only on a match, so failed attempts do not bump the
        store generation; the write re-checks the stored step (compare-and-set), so two
        concurrent uses of one code cannot both succeed.
        """
        at = self._clock()
        where: Row = {"is_root": 1} if user_name is None else {"user_key": _key(user_name)}
        with self._read() as tx:
            rows = [r for r in tx.select("mfa_devices", where) if r["enable_date"] is not None]
        for row in rows:
            serial = str(row["serial_number"])
            seed = self.secret_box.open(str(row["sealed_seed"]), context=serial)
            step = mfa.verify_totp(seed, code, at, last_used_step=_opt_int(row["last_used_step"]))
            if step is not None:
                return self._claim_step(serial, step)
        return False

    def _claim_step(self, serial_number: str, step: int) -> bool:
        with self._write() as tx:
            row = tx.get("mfa_devices", {"serial_number": serial_number})
            last = None if row is None else _opt_int(row["last_used_step"])
            if row is None or row["enable_date"] is None or (last is not None and last >= step):
                return False
            tx.update("mfa_devices", {"serial_number": serial_number}, {"last_used_step": step})
            return True

    def _consecutive(self, row: Row, code1: str, code2: str) -> int:
        serial = str(row["serial_number"])
        seed = self.secret_box.open(str(row["sealed_seed"]), context=serial)
        last = None if row["last_used_step"] is None else int(row["last_used_step"])
        step = mfa.verify_consecutive(
            seed, code1, code2, self._clock(), window=_MFA_ENABLE_WINDOW, last_used_step=last
        )
        if step is None:
            raise InvalidInputError(
                "the authentication codes are not valid consecutive codes",
                code="InvalidAuthenticationCode",
                http_status=403,
            )
        return step

    def _mfa_row(self, tx: Transaction, serial_number: str) -> Row:
        row = tx.get("mfa_devices", {"serial_number": serial_number})
        if row is None:
            raise NoSuchEntityError(f"no MFA device {serial_number}")
        return row

    def _owned_mfa_row(self, tx: Transaction, user_name: str | None, serial_number: str) -> Row:
        row = self._mfa_row(tx, serial_number)
        if user_name is None:
            owned = bool(row["is_root"])
        else:
            owned = row["user_key"] == self._row(tx, "users", user_name, "user")["name_key"]
        if not owned:
            raise NoSuchEntityError(f"MFA device {serial_number} is not enabled for that user")
        return row

    def _mfa(self, tx: Transaction, row: Row) -> MfaDevice:
        user = None if row["user_key"] is None else tx.get("users", {"name_key": row["user_key"]})
        return MfaDevice(
            serial_number=str(row["serial_number"]),
            create_date=_dt(row["create_date"]),
            user_name=None if user is None else str(user["name"]),
            is_root=bool(row["is_root"]),
            enable_date=_opt_dt(row["enable_date"]),
            last_used_step=None if row["last_used_step"] is None else int(row["last_used_step"]),
        )

    # ------------------------------------------------------------ reports

    def users_without_permissions(self) -> list[str]:
        """Names of users with no policy at all (own or through a group): they can do nothing,
        which is usually a mistake worth showing an operator."""
        with self._read() as tx:
            owners = {(r["owner_kind"], r["owner_key"]) for r in tx.select("attachments")}
            owners |= {(r["owner_kind"], r["owner_key"]) for r in tx.select("inline_policies")}
            members = tx.select("group_members")
            names = []
            for user in tx.select("users"):
                groups = [m["group_key"] for m in members if m["user_key"] == user["name_key"]]
                if ("user", user["name_key"]) not in owners and not any(
                    ("group", g) in owners for g in groups
                ):
                    names.append(str(user["name"]))
            return names

    def root_warnings(self) -> list[str]:
        """Root-user problems AWS's security recommendations call out: no MFA, access keys.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html"""
        warnings = []
        with self._read() as tx:
            devices = [r for r in tx.select("mfa_devices", {"is_root": 1}) if r["enable_date"] is not None]
            keys = tx.select("access_keys", {"user_key": None})
        if not devices:
            warnings.append("the root user has no MFA device enabled")
        if keys:
            warnings.append(
                f"the root user has {len(keys)} access key(s); delete them and use roles or users"
            )
        return warnings

    # ------------------------------------------------------------ shared helpers

    def _row(self, tx: Transaction, table: str, name: str, word: str) -> Row:
        row = tx.get(table, {"name_key": _key(name)}) if isinstance(name, str) else None
        if row is None:
            raise NoSuchEntityError(f"the {word} with name {name!r} cannot be found")
        return row

    def _require_absent(self, tx: Transaction, table: str, name: str, word: str) -> None:
        if tx.get(table, {"name_key": _key(name)}) is not None:
            raise EntityAlreadyExistsError(f"a {word} named {name!r} already exists (names ignore case)")

    def _check_count(self, tx: Transaction, table: str, limit: int, what: str) -> None:
        if len(tx.select(table)) >= limit:
            raise LimitExceededError(f"the account already has {limit} {what}")

    def _drop_policies(self, tx: Transaction, kind: PrincipalKind, key: str) -> None:
        tx.delete("inline_policies", {"owner_kind": kind.value, "owner_key": key})
        tx.delete("attachments", {"owner_kind": kind.value, "owner_key": key})

    def _rename(self, tx: Transaction, kind: PrincipalKind, old_key: str, new_name: str) -> None:
        table = _ENTITY_TABLE[kind]
        row = tx.get(table, {"name_key": old_key})
        assert row is not None
        new_key = _key(new_name)
        if new_key != old_key:
            self._require_absent(tx, table, new_name, _ENTITY_WORD[kind])
        else:
            tx.update(table, {"name_key": old_key}, {"name": new_name})
            return
        # INVARIANT: the new row exists before children move to it (foreign keys stay valid).
        tx.insert(table, {**row, "name_key": new_key, "name": new_name, "user_id": new_unique_id("TMPX")})
        for child, column in (
            ("group_members", "user_key"),
            ("access_keys", "user_key"),
            ("login_profiles", "user_key"),
            ("mfa_devices", "user_key"),
        ):
            for r in tx.select(child, {column: old_key}):
                key = {k: r[k] for k in _key_columns(child)}
                tx.update(child, key, {column: new_key})
        for child in ("attachments", "inline_policies"):
            for r in tx.select(child, {"owner_kind": kind.value, "owner_key": old_key}):
                tx.delete(child, {k: r[k] for k in _key_columns(child)})
                tx.insert(child, {**r, "owner_key": new_key})
        tx.delete(table, {"name_key": old_key})
        tx.update(table, {"name_key": new_key}, {"user_id": row["user_id"]})

    def _tag(
        self, kind: PrincipalKind, name: str, add: Mapping[str, str], remove: Sequence[str]
    ) -> User | Role:
        table = _ENTITY_TABLE[kind]
        with self._write() as tx:
            row = self._row(tx, table, name, _ENTITY_WORD[kind])
            merged = dict(_tags(row["tags"]))
            merged.update(add)
            for key in remove:
                merged.pop(key, None)
            pairs = check_tags(merged, self.quotas.tags_per_entity)
            tx.update(table, {"name_key": row["name_key"]}, {"tags": _tags_json(pairs)})
            fresh = self._row(tx, table, name, _ENTITY_WORD[kind])
            return self._user(fresh) if kind is PrincipalKind.USER else self._role(fresh)

    def _set_boundary(self, kind: PrincipalKind, name: str, policy_arn: str | None) -> None:
        """https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""
        table = _ENTITY_TABLE[kind]
        with self._write() as tx:
            row = self._row(tx, table, name, _ENTITY_WORD[kind])
            if policy_arn is not None:
                self._managed(tx, policy_arn)
            elif row["boundary_arn"] is None:
                raise NoSuchEntityError(f"{_ENTITY_WORD[kind]} {name!r} has no permissions boundary")
            tx.update(table, {"name_key": row["name_key"]}, {"boundary_arn": policy_arn})

    def _customer_policy_row(self, tx: Transaction, arn: str, expected_revision: int | None) -> Row:
        if built_in.get_built_in(arn) is not None:
            raise InvalidInputError(f"built-in policy {arn} cannot be changed", code="InvalidInput")
        rows = tx.select("policies", {"arn": arn})
        if not rows:
            raise NoSuchEntityError(f"policy {arn} does not exist")
        row = rows[0]
        if expected_revision is not None and int(row["revision"] or 0) != expected_revision:
            raise ConcurrentModificationError(
                f"policy {arn} changed (revision {row['revision']}, expected {expected_revision}); re-read and retry"
            )
        return row

    def _managed(self, tx: Transaction, arn: str) -> ManagedPolicy:
        """The managed policy named by ``arn`` (built-in or customer); ``NoSuchEntityError``."""
        static = built_in.get_built_in(arn)
        if static is not None and arn == static.arn(self._account.partition):
            attached = len(tx.select("attachments", {"policy_arn": arn}))
            bounded = len(tx.select("users", {"boundary_arn": arn})) + len(
                tx.select("roles", {"boundary_arn": arn})
            )
            return static.record(
                self._account.partition, attachment_count=attached, boundary_usage_count=bounded
            )
        rows = tx.select("policies", {"arn": arn}) if isinstance(arn, str) else []
        if not rows:
            raise NoSuchEntityError(f"policy {arn} does not exist")
        return self._policy_record(tx, rows[0])

    def _versions(self, tx: Transaction, arn: str) -> list[PolicyVersion]:
        static = built_in.get_built_in(arn)
        if static is not None and arn == static.arn(self._account.partition):
            return [static.version(self._account.partition)]
        policy = self._managed(tx, arn)
        rows = tx.select("policy_versions", {"policy_key": _key(policy.name)})
        versions = [
            PolicyVersion(
                arn,
                str(r["version_id"]),
                str(r["document"]),
                r["version_id"] == policy.default_version_id,
                _dt(r["create_date"]),
            )
            for r in rows
        ]
        return sorted(versions, key=lambda v: int(v.version_id[1:]))

    def _policy_record(self, tx: Transaction, row: Row) -> ManagedPolicy:
        arn = str(row["arn"])
        bounded = len(tx.select("users", {"boundary_arn": arn})) + len(
            tx.select("roles", {"boundary_arn": arn})
        )
        return ManagedPolicy(
            name=str(row["name"]),
            policy_id=str(row["policy_id"]),
            arn=arn,
            path=str(row["path"]),
            default_version_id=str(row["default_version"]),
            create_date=_dt(row["create_date"]),
            update_date=_dt(row["update_date"]),
            description=str(row["description"]),
            attachment_count=len(tx.select("attachments", {"policy_arn": arn})),
            boundary_usage_count=bounded,
            revision=int(row["revision"] or 0),
            tags=_tags(row["tags"]),
        )

    def _user(self, row: Row) -> User:
        return User(
            name=str(row["name"]),
            user_id=str(row["user_id"]),
            arn=self._entity_arn("user", str(row["path"]), str(row["name"])),
            path=str(row["path"]),
            create_date=_dt(row["create_date"]),
            tags=_tags(row["tags"]),
            permissions_boundary=None if row["boundary_arn"] is None else str(row["boundary_arn"]),
        )

    def _group(self, row: Row) -> Group:
        return Group(
            name=str(row["name"]),
            group_id=str(row["group_id"]),
            arn=self._entity_arn("group", str(row["path"]), str(row["name"])),
            path=str(row["path"]),
            create_date=_dt(row["create_date"]),
        )

    def _role(self, row: Row) -> Role:
        return Role(
            name=str(row["name"]),
            role_id=str(row["role_id"]),
            arn=self._entity_arn("role", str(row["path"]), str(row["name"])),
            path=str(row["path"]),
            create_date=_dt(row["create_date"]),
            assume_role_policy=str(row["trust_policy"]),
            description=str(row["description"]),
            max_session_duration=int(row["max_session_duration"] or 0),
            tags=_tags(row["tags"]),
            permissions_boundary=None if row["boundary_arn"] is None else str(row["boundary_arn"]),
        )

    def _access_key(self, tx: Transaction, row: Row) -> AccessKey:
        user = None if row["user_key"] is None else tx.get("users", {"name_key": row["user_key"]})
        return AccessKey(
            access_key_id=str(row["access_key_id"]),
            user_name=None if user is None else str(user["name"]),
            status=AccessKeyStatus(str(row["status"])),
            create_date=_dt(row["create_date"]),
            last_used_date=_opt_dt(row["last_used_date"]),
            owner_arn=self._account.root_arn if user is None else self._user(user).arn,
        )


def _key_columns(table: str) -> tuple[str, ...]:
    return TABLES[table].key


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A real argon2 hash of a random throwaway password, so refusing an unknown user costs
    the same as refusing a wrong password (no user-enumeration by timing)."""
    return passwords.hash_password(secrets.token_urlsafe(16))
