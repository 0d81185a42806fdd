"""How values are stored in backend rows: timestamps, tags, case-insensitive name keys.

Part of ``store/``; the encodings every IAM area of the service shares, so a row written by one
area reads back the same in another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from iamguard.store._sql import TABLES
from iamguard.store.records import PrincipalKind, Tags

_ENTITY_TABLE = {PrincipalKind.USER: "users", PrincipalKind.GROUP: "groups", PrincipalKind.ROLE: "roles"}
_ENTITY_WORD = {PrincipalKind.USER: "user", PrincipalKind.GROUP: "group", PrincipalKind.ROLE: "role"}


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


def _key_columns(table: str) -> tuple[str, ...]:
    return TABLES[table].key
