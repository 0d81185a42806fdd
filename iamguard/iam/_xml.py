"""IAM Query protocol responses: results rendered along AWS's output shapes, and error documents.

Part of ``iam/``; pure. A result is a plain mapping keyed by the output shape's member names
(``{"User": {"UserName": ..., "CreateDate": datetime}}``); it is written in the shape's member
order, lists as ``<member>`` elements, maps as ``<entry><key/><value/></entry>``, timestamps in
ISO 8601 with ``Z``, booleans lower case, members that are ``None`` left out. So every action
gets AWS's XML from its data without a template of its own.
https://docs.aws.amazon.com/IAM/latest/APIReference/CommonParameters.html
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from xml.etree import ElementTree as ET

from iamguard.errors import IAMGuardError, client_message
from iamguard.iam._model import NAMESPACE, output_shape, shape

__all__ = ["render_error", "render_result"]


def render_result(action: str, result: Mapping[str, Any] | None, request_id: str) -> bytes:
    """``<{action}Response xmlns=...>[<{action}Result>...</...>]<ResponseMetadata>...``.

    Actions without an output shape (``DeleteUser``) answer with the metadata alone, as AWS does.
    """
    root = ET.Element(f"{action}Response", {"xmlns": NAMESPACE})
    out = output_shape(action)
    if out is not None:
        node = ET.SubElement(root, f"{action}Result")
        _structure(node, out, result or {})
    metadata = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(metadata, "RequestId").text = request_id
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))


def render_error(error: IAMGuardError, request_id: str, status: int) -> bytes:
    """AWS's Query error document; ``Type`` is ``Sender`` for 4xx, ``Receiver`` for 5xx."""
    root = ET.Element("ErrorResponse", {"xmlns": NAMESPACE})
    node = ET.SubElement(root, "Error")
    ET.SubElement(node, "Type").text = "Sender" if status < 500 else "Receiver"
    ET.SubElement(node, "Code").text = error.code
    ET.SubElement(node, "Message").text = client_message(error)
    ET.SubElement(root, "RequestId").text = request_id
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=False))


def _structure(node: ET.Element, shape_name: str, value: Mapping[str, Any]) -> None:
    for member, ref in shape(shape_name).get("members", {}).items():
        item = value.get(member)
        if item is not None:
            _value(ET.SubElement(node, member), ref["shape"], item)


def _value(node: ET.Element, shape_name: str, value: Any) -> None:
    spec = shape(shape_name)
    kind = spec["type"]
    if kind == "structure":
        _structure(node, shape_name, value)
    elif kind == "list":
        for item in value:
            _value(ET.SubElement(node, "member"), spec["member"]["shape"], item)
    elif kind == "map":
        for key, item in value.items():
            entry = ET.SubElement(node, "entry")
            ET.SubElement(entry, "key").text = str(key)
            _value(ET.SubElement(entry, "value"), spec["value"]["shape"], item)
    else:
        node.text = _scalar(kind, value)


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
