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

__all__ = ["DEFAULT_MAX_ITEMS", "page"]

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
    limit = int(call.get("MaxItems") or DEFAULT_MAX_ITEMS)
    marker = call.get("Marker")
    keyed = sorted(((key(item), item) for item in items), key=lambda pair: pair[0])
    if marker is not None:
        after = _decode(marker)
        keyed = [pair for pair in keyed if pair[0] > after]
    chunk = keyed[:limit]
    result: dict[str, Any] = {member: [render(item) for _, item in chunk], "IsTruncated": len(keyed) > limit}
    if len(keyed) > limit:
        result["Marker"] = _encode(chunk[-1][0])
    return result
