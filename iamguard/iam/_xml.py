"""IAM Query protocol responses: results rendered along AWS's output shapes, and error documents.

Part of ``iam/``; pure. A result is a plain mapping keyed by the output shape's member names
(``{"User": {"UserName": ..., "CreateDate": datetime}}``); it is written in the shape's member
order, lists as ``<member>`` elements, maps as ``<entry><key/><value/></entry>``, timestamps in
ISO 8601 with ``Z``, booleans lower case, members that are ``None`` left out. So every action
gets AWS's XML from its data without a template of its own.
https://docs.aws.amazon.com/IAM/latest/APIReference/CommonParameters.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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


def _structure(out: list[str], shape_name: str, value: Mapping[str, Any]) -> None:
    for member, ref in shape(shape_name).get("members", {}).items():
        item = value.get(member)
        if item is not None:
            out.append(f"<{member}>")
            _value(out, ref["shape"], item)
            out.append(f"</{member}>")


def _value(out: list[str], shape_name: str, value: Any) -> None:
    spec = shape(shape_name)
    kind = spec["type"]
    if kind == "structure":
        _structure(out, shape_name, value)
    elif kind == "list":
        member = spec["member"]["shape"]
        for item in value:
            out.append("<member>")
            _value(out, member, item)
            out.append("</member>")
    elif kind == "map":
        for key, item in value.items():
            out.append(f"<entry><key>{escape(str(key))}</key><value>")
            _value(out, spec["value"]["shape"], item)
            out.append("</value></entry>")
    else:
        out.append(escape(_scalar(kind, value)))


def _scalar(kind: str, value: Any) -> str:
    if kind == "timestamp":
        if not isinstance(value, datetime):
            raise TypeError(f"a timestamp member needs a datetime, not {type(value).__name__}")
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "blob":
        import base64

        return base64.b64encode(value if isinstance(value, bytes) else str(value).encode()).decode("ascii")
    return str(value)
