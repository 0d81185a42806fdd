"""IAM Query protocol responses: results rendered along AWS's output shapes, and error documents.

Part of ``iam/``; pure. A result is a plain mapping keyed by the output shape's member names
(``{"User": {"UserName": ..., "CreateDate": datetime}}``); it is written in the shape's member
order, lists as ``<member>`` elements, maps as ``<entry><key/><value/></entry>``, timestamps in
ISO 8601 with ``Z``, booleans lower case, members that are ``None`` left out. So every action
gets AWS's XML from its data without a template of its own.
https://docs.aws.amazon.com/IAM/latest/APIReference/CommonParameters.html
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any
from xml.sax.saxutils import escape as _escape

from iamguard.errors import IAMGuardError, client_message
from iamguard.iam._model import NAMESPACE, output_shape, shape

__all__ = ["render_error", "render_result"]

#: Characters XML 1.0 cannot carry at all (a client's message may echo them back).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """``text`` as XML character data: ``&``, ``<``, ``>`` escaped, characters XML cannot hold
    replaced by U+FFFD."""
    return _escape(_NOT_XML.sub("\ufffd", text))


def render_result(action: str, result: Mapping[str, Any] | None, request_id: str) -> bytes:
    """``<{action}Response xmlns=...>[<{action}Result>...</...>]<ResponseMetadata>...``.

    Actions without an output shape (``DeleteUser``) answer with the metadata alone, as AWS does.
    Written as text (escaped with :func:`xml.sax.saxutils.escape`): ElementTree's serializer
    cost more than the rest of a small call.
    """
    out: list[str] = [f'<{action}Response xmlns="{NAMESPACE}">']
    shape_name = output_shape(action)
    if shape_name is not None:
        out.append(f"<{action}Result>")
        _structure(out, shape_name, result or {})
        out.append(f"</{action}Result>")
    out.append(
        f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata></{action}Response>"
    )
    return "".join(out).encode("utf-8")


def render_error(error: IAMGuardError, request_id: str, status: int) -> bytes:
    """AWS's Query error document; ``Type`` is ``Sender`` for 4xx, ``Receiver`` for 5xx."""
    kind = "Sender" if status < 500 else "Receiver"
    return (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{kind}</Type><Code>{escape(error.code)}</Code>'
        f"<Message>{escape(client_message(error))}</Message></Error>"
        f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
    ).encode()


Writer = Callable[[list[str], Any], None]


def _structure(out: list[str], shape_name: str, value: Mapping[str, Any]) -> None:
    _writer(shape_name)(out, value)


def _value(out: list[str], shape_name: str, value: Any) -> None:
    _writer(shape_name)(out, value)


@functools.cache
def _writer(shape_name: str) -> Writer:
    """The function that writes a value of ``shape_name``, built once per shape (the model is
    fixed, so the cache is bounded by its shape count): a page of a hundred users is then a
    loop over prepared tags, not a model walk."""
    spec = shape(shape_name)
    kind = spec["type"]
    if kind == "structure":
        members = [
            (name, f"<{name}>", f"</{name}>", ref["shape"]) for name, ref in spec.get("members", {}).items()
        ]

        def write_structure(out: list[str], value: Mapping[str, Any]) -> None:
            for name, opening, closing, child in members:
                item = value.get(name)
                if item is not None:
                    out.append(opening)
                    _writer(child)(out, item)
                    out.append(closing)

        return write_structure
    if kind == "list":
        member = spec["member"]["shape"]

        def write_list(out: list[str], value: Any) -> None:
            write = _writer(member)
            for item in value:
                out.append("<member>")
                write(out, item)
                out.append("</member>")

        return write_list
    if kind == "map":
        entry = spec["value"]["shape"]

        def write_map(out: list[str], value: Mapping[str, Any]) -> None:
            write = _writer(entry)
            for key, item in value.items():
                out.append(f"<entry><key>{escape(str(key))}</key><value>")
                write(out, item)
                out.append("</value></entry>")

        return write_map
    return lambda out, value: out.append(_scalar(kind, value))


def _scalar(kind: str, value: Any) -> str:
    """A scalar as XML text (escaped)."""
    if kind == "timestamp":
        if not isinstance(value, datetime):
            raise TypeError(f"a timestamp member needs a datetime, not {type(value).__name__}")
        t = value.astimezone(timezone.utc)
        return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "long"):
        return str(int(value))
    if kind == "blob":
        import base64

        return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode("ascii")
    return escape(str(value))
