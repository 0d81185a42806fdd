"""``Marker``/``MaxItems``/``IsTruncated`` for every IAM ``List*`` action.

Part of ``iam/``; pure. Items are listed in a stable order (a key per item, case-insensitive
name by default); the marker is opaque to clients (base64 of the last key returned), so a page
resumes after that item even when items were added or removed meanwhile. ``MaxItems`` defaults
to 100 (AWS's default; the model bounds it to 1..1000).
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUsers.html
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from iamguard.errors import InvalidInputError
from iamguard.iam._operation import Call

__all__ = ["DEFAULT_MAX_ITEMS", "marker_key", "max_items", "page", "page_result"]

DEFAULT_MAX_ITEMS = 100
_PREFIX = "v1:"
T = TypeVar("T")


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode((_PREFIX + key).encode("utf-8")).decode("ascii")


def _decode(marker: str) -> str:
    try:
        text = base64.urlsafe_b64decode(marker.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    if not text.startswith(_PREFIX):
        raise InvalidInputError("Invalid Marker: it is not one this service returned", code="InvalidInput")
    return text[len(_PREFIX) :]


def max_items(call: Call) -> int:
    """The page size the call asks for (``MaxItems``, 100 by default)."""
    return int(call.get("MaxItems") or DEFAULT_MAX_ITEMS)


def marker_key(call: Call) -> str | None:
    """The key of the last item the previous page returned (decoded ``Marker``), or ``None``."""
    marker = call.get("Marker")
    return None if marker is None else _decode(marker)


def page_result(member: str, rendered: list[Any], truncated: bool, last_key: str | None) -> dict[str, Any]:
    """``{member: rendered, "IsTruncated": ..., "Marker": ...}`` for a page already cut (the
    marker names ``last_key``, the key of the page's last item, when more follow)."""
    result: dict[str, Any] = {member: rendered, "IsTruncated": truncated}
    if truncated and last_key is not None:
        result["Marker"] = _encode(last_key)
    return result


def page(
    call: Call,
    items: Iterable[T],
    member: str,
    render: Callable[[T], Any],
    *,
    key: Callable[[T], str],
) -> dict[str, Any]:
    """One page of ``items`` as ``{member: [...], "IsTruncated": bool, "Marker": str?}``,
    after ``call["Marker"]``, at most ``call["MaxItems"]`` long."""
    limit = max_items(call)
    after = marker_key(call)
    keyed = sorted(((key(item), item) for item in items), key=lambda pair: pair[0])
    if after is not None:
        keyed = [pair for pair in keyed if pair[0] > after]
    chunk = keyed[:limit]
    last = chunk[-1][0] if chunk else None
    return page_result(member, [render(item) for _, item in chunk], len(keyed) > limit, last)
