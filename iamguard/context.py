"""Request context values: the condition keys a request supplies.

A context is a mapping from the **lower-cased** key name (condition key names are
case-insensitive) to either one string or a tuple of strings (a multivalued key such as
``aws:TagKeys``). Everything is kept in IAM's string form; operators parse numbers, dates, IPs
and booleans from it, as AWS does. Typed input (the simulator's ``ContextEntries``) is
normalized here once.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ContextEntry.html
"""

from __future__ import annotations

import base64
import datetime as _dt
import enum
from collections.abc import Iterable, Mapping

from iamguard.errors import InvalidParameterError

ContextValue = str | tuple[str, ...]
Context = Mapping[str, ContextValue]


class ContextType(str, enum.Enum):
    """``ContextKeyType`` values of the IAM simulator API."""

    STRING = "string"
    STRING_LIST = "stringList"
    NUMERIC = "numeric"
    NUMERIC_LIST = "numericList"
    BOOLEAN = "boolean"
    BOOLEAN_LIST = "booleanList"
    IP = "ip"
    IP_LIST = "ipList"
    BINARY = "binary"
    BINARY_LIST = "binaryList"
    DATE = "date"
    DATE_LIST = "dateList"

    @property
    def is_list(self) -> bool:
        return self.value.endswith("List")


def _to_string(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def normalize_value(value: object, context_type: ContextType | None = None) -> ContextValue:
    """One context value in IAM string form; lists (or ``*List`` types) become tuples."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(_to_string(v) for v in value)
    text = _to_string(value)
    if context_type is not None and context_type.is_list:
        return (text,)
    return text


def make_context(
    entries: Mapping[str, object] | Iterable[tuple[str, object]] | None = None,
) -> dict[str, ContextValue]:
    """Build a context from ``{key: value}`` pairs; keys are lower-cased, values normalized."""
    if entries is None:
        return {}
    items = entries.items() if isinstance(entries, Mapping) else entries
    return {str(key).lower(): normalize_value(value) for key, value in items}


def parse_typed_value(key: str, type_name: str, raw_values: list[str]) -> ContextValue:
    """Values given as ``key=type:value`` (the CLI) or a ContextEntry, normalized."""
    context_type = ContextType(type_name)
    if context_type.is_list:
        return tuple(raw_values)
    if len(raw_values) != 1:
        raise InvalidParameterError(f"context key {key!r} of type {type_name} takes exactly one value")
    return raw_values[0]
