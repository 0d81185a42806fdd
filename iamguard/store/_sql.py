"""The store's tables, migrations and SQL, shared by every SQL backend (SQLite, PostgreSQL).

Part of ``store/``. Three things live here, all driver-neutral:

* :data:`TABLES` — each logical table, its columns and key. The memory backend indexes rows by
  the same keys, so every backend agrees on what "the same row" means.
* :data:`MIGRATIONS` — versioned, append-only schema changes. :func:`migrate` records each one
  in ``iamguard_migrations`` inside the caller's transaction and refuses a database whose
  schema is newer than this code (an old binary must not write a newer schema).
* :class:`SqlTransaction` — :class:`~iamguard.store.protocols.Transaction` over any DB-API
  cursor; a :class:`Dialect` supplies the placeholder style (``?`` for sqlite3, ``%s`` for
  psycopg) and the driver's integrity-error classes. The DDL sticks to types both engines
  accept (``TEXT``, ``BIGINT``), so one migration list serves both.

Column and table names only ever come from :data:`TABLES`, never from callers; values are
always bound parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from iamguard.errors import (
    DeleteConflictError,
    EntityAlreadyExistsError,
    InvalidInputError,
    StoreUnavailableError,
)
from iamguard.store.protocols import Row, RowValue

__all__ = [
    "MIGRATIONS",
    "TABLES",
    "Dialect",
    "Migration",
    "SqlTransaction",
    "Table",
    "bump_generation",
    "migrate",
    "read_generation",
    "table_name",
]

_PREFIX = "iamguard_"


@dataclass(frozen=True, slots=True)
class Table:
    """A logical table: columns in order (``name TYPE [constraints]``) and its key columns."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    extra: tuple[str, ...] = ()  # table constraints (foreign keys, uniques)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)


def _t(name: str, key: tuple[str, ...], columns: str, *extra: str) -> Table:
    cols = tuple(tuple(part.strip().split(" ", 1)) for part in columns.split(","))
    return Table(name, tuple((c[0], c[1]) for c in cols), key, extra)


# INVARIANT: name_key columns hold the lower-cased IAM name; IAM names are unique regardless
# of case (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names).
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _t("generation", ("id",), "id BIGINT NOT NULL, value BIGINT NOT NULL"),
        _t("settings", ("name",), "name TEXT NOT NULL, value TEXT NOT NULL"),
        _t(
            "account",
            ("account_id",),
            "account_id TEXT NOT NULL, aws_partition TEXT NOT NULL, alias TEXT, password_policy TEXT, "
            "create_date TEXT NOT NULL",
        ),
        _t(
            "users",
            ("name_key",),
            "name_key TEXT NOT NULL, name TEXT NOT NULL, user_id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, "
            "create_date TEXT NOT NULL, tags TEXT NOT NULL, boundary_arn TEXT",
        ),
        _t(
            "groups",
            ("name_key",),
            "name_key TEXT NOT NULL, name TEXT NOT NULL, group_id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, "
            "create_date TEXT NOT NULL",
        ),
        _t(
            "group_members",
            ("group_key", "user_key"),
            "group_key TEXT NOT NULL, user_key TEXT NOT NULL",
            f"FOREIGN KEY (group_key) REFERENCES {_PREFIX}groups (name_key)",
            f"FOREIGN KEY (user_key) REFERENCES {_PREFIX}users (name_key)",
        ),
        _t(
            "roles",
            ("name_key",),
            "name_key TEXT NOT NULL, name TEXT NOT NULL, role_id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, "
            "create_date TEXT NOT NULL, trust_policy TEXT NOT NULL, description TEXT NOT NULL, "
            "max_session_duration BIGINT NOT NULL, tags TEXT NOT NULL, boundary_arn TEXT",
        ),
        _t(
            "policies",
            ("name_key",),
            "name_key TEXT NOT NULL, name TEXT NOT NULL, policy_id TEXT NOT NULL UNIQUE, "
            "arn TEXT NOT NULL UNIQUE, path TEXT NOT NULL, default_version TEXT NOT NULL, "
            "next_version BIGINT NOT NULL, description TEXT NOT NULL, create_date TEXT NOT NULL, "
            "update_date TEXT NOT NULL, revision BIGINT NOT NULL, tags TEXT NOT NULL",
        ),
        _t(
            "policy_versions",
            ("policy_key", "version_id"),
            "policy_key TEXT NOT NULL, version_id TEXT NOT NULL, document TEXT NOT NULL, create_date TEXT NOT NULL",
            f"FOREIGN KEY (policy_key) REFERENCES {_PREFIX}policies (name_key)",
        ),
        # Attachments name policies by ARN: built-in policies live in code, not in a table.
        _t(
            "attachments",
            ("owner_kind", "owner_key", "policy_arn"),
            "owner_kind TEXT NOT NULL, owner_key TEXT NOT NULL, policy_arn TEXT NOT NULL",
        ),
        _t(
            "inline_policies",
            ("owner_kind", "owner_key", "name_key"),
            "owner_kind TEXT NOT NULL, owner_key TEXT NOT NULL, name_key TEXT NOT NULL, name TEXT NOT NULL, "
            "document TEXT NOT NULL",
        ),
        # user_key NULL: a root user's key.
        _t(
            "access_keys",
            ("access_key_id",),
            "access_key_id TEXT NOT NULL, user_key TEXT, status TEXT NOT NULL, sealed_secret TEXT NOT NULL, "
            "create_date TEXT NOT NULL, last_used_date TEXT",
            f"FOREIGN KEY (user_key) REFERENCES {_PREFIX}users (name_key)",
        ),
        _t(
            "login_profiles",
            ("user_key",),
            "user_key TEXT NOT NULL, password_hash TEXT NOT NULL, previous_hashes TEXT NOT NULL, "
            "create_date TEXT NOT NULL, password_reset_required BIGINT NOT NULL, password_changed TEXT, "
            "failed_attempts BIGINT NOT NULL, last_failure_at TEXT",
            f"FOREIGN KEY (user_key) REFERENCES {_PREFIX}users (name_key)",
        ),
        # user_key NULL and is_root 0: an unassigned virtual device.
        _t(
            "mfa_devices",
            ("serial_number",),
            "serial_number TEXT NOT NULL, user_key TEXT, is_root BIGINT NOT NULL, sealed_seed TEXT NOT NULL, "
            "create_date TEXT NOT NULL, enable_date TEXT, last_used_step BIGINT",
            f"FOREIGN KEY (user_key) REFERENCES {_PREFIX}users (name_key)",
        ),
    )
}


def table_name(logical: str) -> str:
    """The SQL name of a logical table (prefixed, so iamguard can share an app's database)."""
    if logical not in TABLES:
        raise InvalidInputError(f"unknown store table {logical!r}")
    return _PREFIX + logical


def _create_table(table: Table) -> str:
    parts = [f"{c} {t}" for c, t in table.columns]
    parts.append(f"PRIMARY KEY ({', '.join(table.key)})")
    parts.extend(table.extra)
    return f"CREATE TABLE {_PREFIX}{table.name} (\n  " + ",\n  ".join(parts) + "\n)"


# ---------------------------------------------------------------- migrations


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step; ``version`` numbers are consecutive and never reused or edited."""

    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "identity tables",
        (
            *tuple(_create_table(t) for t in TABLES.values()),
            f"INSERT INTO {_PREFIX}generation (id, value) VALUES (1, 0)",
            f"CREATE INDEX {_PREFIX}attachments_by_policy ON {_PREFIX}attachments (policy_arn)",
            f"CREATE INDEX {_PREFIX}group_members_by_user ON {_PREFIX}group_members (user_key)",
            f"CREATE INDEX {_PREFIX}access_keys_by_user ON {_PREFIX}access_keys (user_key)",
        ),
    ),
)

# Access activity (AWS's access-key last-used and access-advisor data): written off the request
# path by ``IdentityService.record_access_activity`` without bumping the generation, because it
# changes no decision. Kept out of migration 1 so that migration's statements never change.
_ACTIVITY_TABLES = (
    _t(
        "access_key_activity",
        ("access_key_id",),
        "access_key_id TEXT NOT NULL, last_used_date TEXT NOT NULL, service_name TEXT NOT NULL, "
        "region TEXT NOT NULL",
    ),
    _t(
        "service_last_accessed",
        ("entity_arn", "service_namespace"),
        "entity_arn TEXT NOT NULL, service_namespace TEXT NOT NULL, last_authenticated TEXT NOT NULL, "
        "last_authenticated_entity TEXT NOT NULL, last_authenticated_region TEXT NOT NULL, "
        "last_action TEXT NOT NULL, total_requests BIGINT NOT NULL",
    ),
)
TABLES.update({t.name: t for t in _ACTIVITY_TABLES})
MIGRATIONS = (*MIGRATIONS, Migration(2, "access activity", tuple(_create_table(t) for t in _ACTIVITY_TABLES)))

# Indexes for the remaining filter columns the service queries by. Every other filter is already
# served by an index: a key prefix (attachments and inline policies by owner, memberships by
# group, policy versions by policy, activity by entity), a UNIQUE column (policies by ARN) or
# migration 1 (attachments by policy ARN, memberships by user, access keys by user).
MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        3,
        "filter indexes",
        (
            f"CREATE INDEX {_PREFIX}users_by_boundary ON {_PREFIX}users (boundary_arn)",
            f"CREATE INDEX {_PREFIX}roles_by_boundary ON {_PREFIX}roles (boundary_arn)",
            f"CREATE INDEX {_PREFIX}mfa_devices_by_user ON {_PREFIX}mfa_devices (user_key)",
        ),
    ),
)

# One-time-use records (SAML assertion IDs and the like): a row per (namespace, key) consumed,
# kept until ``expires_at`` (Unix seconds), so every process sharing the store refuses a second
# use. The primary key is the arbiter: see ``iamguard/store/_replay.py``.
_ONE_TIME_USE = _t(
    "one_time_use",
    ("namespace", "record_key"),
    "namespace TEXT NOT NULL, record_key TEXT NOT NULL, expires_at BIGINT NOT NULL",
)
TABLES[_ONE_TIME_USE.name] = _ONE_TIME_USE
MIGRATIONS = (
    *MIGRATIONS,
    Migration(
        4,
        "one time use records",
        (
            _create_table(_ONE_TIME_USE),
            f"CREATE INDEX {_PREFIX}one_time_use_by_expiry ON {_PREFIX}one_time_use (expires_at)",
        ),
    ),
)

# Identity providers (CreateOpenIDConnectProvider, CreateSAMLProvider), keyed by ARN, so STS's
# federation reads them from the store: see ``iamguard/store/_providers.py``.
_PROVIDER_TABLES = (
    _t(
        "oidc_providers",
        ("arn",),
        "arn TEXT NOT NULL, url TEXT NOT NULL, client_ids TEXT NOT NULL, thumbprints TEXT NOT NULL, "
        "create_date TEXT NOT NULL, tags TEXT NOT NULL",
    ),
    _t(
        "saml_providers",
        ("arn",),
        "arn TEXT NOT NULL, name TEXT NOT NULL, metadata_document TEXT NOT NULL, create_date TEXT NOT NULL, "
        "valid_until TEXT, provider_uuid TEXT NOT NULL, tags TEXT NOT NULL",
    ),
)
TABLES.update({t.name: t for t in _PROVIDER_TABLES})
MIGRATIONS = (
    *MIGRATIONS,
    Migration(5, "identity providers", tuple(_create_table(t) for t in _PROVIDER_TABLES)),
)

_MIGRATIONS_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {_PREFIX}migrations "
    "(version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


class Cursor(Protocol):
    """The slice of a DB-API 2.0 cursor the store uses."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between SQL drivers: placeholder text and integrity-error classes."""

    placeholder: str  # "?" (sqlite3, qmark) or "%s" (psycopg, format)
    integrity_errors: tuple[type[BaseException], ...]
    # Appended to each ORDER BY column so every backend sorts names byte-wise, as SQLite and
    # the memory backend do; PostgreSQL would otherwise follow the database's collation.
    collate: str = ""


def migrate(
    cursor: Cursor, dialect: Dialect, *, now: str, migrations: Sequence[Migration] = MIGRATIONS
) -> list[int]:
    """Apply every migration not yet recorded; the versions applied (call inside a transaction)."""
    cursor.execute(_MIGRATIONS_TABLE)
    cursor.execute(f"SELECT version FROM {_PREFIX}migrations")
    applied = {int(r[0]) for r in cursor.fetchall()}
    known = {m.version for m in migrations}
    if applied - known:
        raise StoreUnavailableError(
            f"the store's schema (version {max(applied)}) is newer than this iamguard "
            f"understands (version {max(known)}); upgrade iamguard"
        )
    done = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version in applied:
            continue
        for statement in migration.statements:
            cursor.execute(statement)
        cursor.execute(
            f"INSERT INTO {_PREFIX}migrations (version, name, applied_at) VALUES "
            f"({dialect.placeholder}, {dialect.placeholder}, {dialect.placeholder})",
            (migration.version, migration.name, now),
        )
        done.append(migration.version)
    return done


def read_generation(cursor: Cursor) -> int:
    cursor.execute(f"SELECT value FROM {_PREFIX}generation WHERE id = 1")
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def bump_generation(cursor: Cursor) -> None:
    """Increase the generation; run first in every write transaction (on PostgreSQL the row
    lock this takes also serializes writers)."""
    cursor.execute(f"UPDATE {_PREFIX}generation SET value = value + 1 WHERE id = 1")


# ---------------------------------------------------------------- statements


def _check_columns(table: Table, names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in table.column_names]
    if unknown:
        raise InvalidInputError(f"unknown column(s) {unknown} for table {table.name!r}")


@lru_cache(maxsize=512)
def _where(placeholder: str, names: tuple[str, ...]) -> str:
    return " AND ".join(f"{n} = {placeholder}" for n in names)


@lru_cache(maxsize=512)
def _select_sql(placeholder: str, table: str, where: tuple[str, ...], collate: str = "") -> str:
    spec = TABLES[table]
    sql = f"SELECT {', '.join(spec.column_names)} FROM {_PREFIX}{table}"
    if where:
        sql += " WHERE " + _where(placeholder, where)
    types = dict(spec.columns)
    order = (f"{k}{collate}" if types[k].upper().startswith("TEXT") else k for k in spec.key)
    return sql + " ORDER BY " + ", ".join(order)


@lru_cache(maxsize=512)
def _insert_sql(placeholder: str, table: str, names: tuple[str, ...]) -> str:
    values = ", ".join([placeholder] * len(names))
    return f"INSERT INTO {_PREFIX}{table} ({', '.join(names)}) VALUES ({values})"


@lru_cache(maxsize=512)
def _update_sql(placeholder: str, table: str, names: tuple[str, ...]) -> str:
    sets = ", ".join(f"{n} = {placeholder}" for n in names)
    return f"UPDATE {_PREFIX}{table} SET {sets} WHERE " + _where(placeholder, TABLES[table].key)


@lru_cache(maxsize=512)
def _delete_sql(placeholder: str, table: str, where: tuple[str, ...]) -> str:
    sql = f"DELETE FROM {_PREFIX}{table}"
    return sql + (" WHERE " + _where(placeholder, where) if where else "")


class SqlTransaction:
    """:class:`~iamguard.store.protocols.Transaction` over one DB-API cursor.

    NULL never equals anything in SQL, so ``where`` items whose value is ``None`` become
    ``IS NULL`` tests (the memory backend compares ``None == None`` the same way).
    """

    __slots__ = ("_cursor", "_dialect")

    def __init__(self, cursor: Cursor, dialect: Dialect) -> None:
        self._cursor = cursor
        self._dialect = dialect

    def get(self, table: str, key: Mapping[str, RowValue]) -> Row | None:
        spec = TABLES[table]
        rows = self.select(table, {k: key[k] for k in spec.key})
        return rows[0] if rows else None

    def select(self, table: str, where: Mapping[str, RowValue] | None = None) -> list[Row]:
        spec = TABLES[table]
        where = dict(where or {})
        _check_columns(spec, list(where))
        nulls = tuple(sorted(k for k, v in where.items() if v is None))
        names = tuple(sorted(k for k, v in where.items() if v is not None))
        sql = _select_sql(self._dialect.placeholder, table, names, self._dialect.collate)
        if nulls:
            clause = " AND ".join(f"{n} IS NULL" for n in nulls)
            head, _, order = sql.partition(" ORDER BY ")
            sql = head + (" AND " if names else " WHERE ") + clause + " ORDER BY " + order
        self._cursor.execute(sql, [where[n] for n in names])
        columns = spec.column_names  # a property that builds a tuple: once per select, not per row
        return [dict(zip(columns, r, strict=False)) for r in self._cursor.fetchall()]

    def count(self, table: str, where: Mapping[str, RowValue] | None = None) -> int:
        spec = TABLES[table]
        where = dict(where or {})
        _check_columns(spec, list(where))
        sql, params = _filtered(f"SELECT COUNT(*) FROM {_PREFIX}{table}", self._dialect.placeholder, where)
        self._cursor.execute(sql, params)
        row = self._cursor.fetchone()
        return int(row[0]) if row else 0

    def insert(self, table: str, row: Row) -> None:
        spec = TABLES[table]
        _check_columns(spec, list(row))
        names = tuple(row)
        self._run(_insert_sql(self._dialect.placeholder, table, names), [row[n] for n in names])

    def update(self, table: str, key: Mapping[str, RowValue], changes: Mapping[str, RowValue]) -> None:
        spec = TABLES[table]
        _check_columns(spec, list(changes))
        names = tuple(changes)
        params = [changes[n] for n in names] + [key[k] for k in spec.key]
        self._run(_update_sql(self._dialect.placeholder, table, names), params)

    def delete(self, table: str, where: Mapping[str, RowValue]) -> int:
        spec = TABLES[table]
        _check_columns(spec, list(where))
        if any(v is None for v in where.values()):
            rows = self.select(table, where)
            for row in rows:
                self._run(_delete_sql(self._dialect.placeholder, table, spec.key), [row[k] for k in spec.key])
            return len(rows)
        names = tuple(sorted(where))
        self._run(_delete_sql(self._dialect.placeholder, table, names), [where[n] for n in names])
        return max(self._cursor.rowcount, 0)

    def _run(self, sql: str, params: Sequence[RowValue]) -> None:
        try:
            self._cursor.execute(sql, params)
        except self._dialect.integrity_errors as exc:
            if _is_unique_violation(exc):
                raise EntityAlreadyExistsError("an entity with that key already exists") from None
            raise DeleteConflictError("the change would leave a dangling reference") from None


def _filtered(head: str, placeholder: str, where: Mapping[str, RowValue]) -> tuple[str, list[RowValue]]:
    """``head`` plus a WHERE clause for ``where`` (``None`` values as ``IS NULL``) and its params."""
    names = sorted(where)
    if not names:
        return head, []
    clause = " AND ".join(f"{n} IS NULL" if where[n] is None else f"{n} = {placeholder}" for n in names)
    return f"{head} WHERE {clause}", [where[n] for n in names if where[n] is not None]


def _is_unique_violation(exc: BaseException) -> bool:
    """Unique/primary-key violation, told apart from a foreign-key one by the driver's error
    code (PostgreSQL SQLSTATE 23505; SQLite's extended error name), not by message text, which
    PostgreSQL translates under a non-English ``lc_messages``."""
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate:
        return str(sqlstate) == "23505"
    name = getattr(exc, "sqlite_errorname", None)
    if name:
        return str(name) in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")
    text = str(exc).lower()
    return "unique" in text or "duplicate" in text or "primary key" in text
