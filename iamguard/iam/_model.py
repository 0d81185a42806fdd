"""AWS's IAM model as data: each operation's input and output shapes, and parameter validation.

Part of ``iam/``; pure. ``data/model.json`` is botocore's ``iam/2010-05-08/service-2.json``
without its documentation (``_gen_model.py`` builds it), so every length, range, pattern and
enumeration checked here is AWS's own, never hand-typed. Two jobs:

* :func:`read_form`: the Query protocol's flat form (``Tags.member.1.Key=...``) back into typed
  values along an input shape (structures by ``Prefix.Member``, lists by ``.member.N``, maps by
  ``.entry.N.key``/``.value``, an empty list as ``Name=``);
* :func:`validate`: typed values against the shape, with AWS's wording: ``1 validation error
  detected: Value 'x' at 'userName' failed to satisfy constraint: Member must satisfy regular
  expression pattern: [\\w+=,.@-]+`` (code ``ValidationError``, HTTP 400).

https://docs.aws.amazon.com/IAM/latest/APIReference/CommonParameters.html
https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from iamguard.errors import IAMGuardError, InvalidParameterError

__all__ = [
    "API_VERSION",
    "NAMESPACE",
    "error_status",
    "input_shape",
    "model",
    "operation_names",
    "output_shape",
    "read_form",
    "shape",
    "validate",
    "validation_error",
]

API_VERSION = "2010-05-08"
NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
_MODEL_FILE = Path(__file__).resolve().parent / "data" / "model.json"
_MAX_LIST = 1000
_INT = re.compile(r"-?[0-9]{1,12}", re.ASCII)


@functools.lru_cache(maxsize=1)
def model() -> Mapping[str, Any]:
    """The pruned IAM model (loaded once)."""
    loaded: dict[str, Any] = json.loads(_MODEL_FILE.read_text(encoding="utf-8"))
    return loaded


def shape(name: str) -> Mapping[str, Any]:
    found: Mapping[str, Any] = model()["shapes"][name]
    return found


def operation_names() -> frozenset[str]:
    """Every IAM action AWS's model defines (implemented or not)."""
    return frozenset(model()["operations"])


def input_shape(action: str) -> str | None:
    found: str | None = model()["operations"][action].get("input")
    return found


def output_shape(action: str) -> str | None:
    found: str | None = model()["operations"][action].get("output")
    return found


@functools.lru_cache(maxsize=1)
def _statuses() -> Mapping[str, int]:
    return {
        s["error"]["code"]: int(s["error"]["httpStatusCode"])
        for s in model()["shapes"].values()
        if isinstance(s.get("error"), dict) and "code" in s["error"]
    }


def error_status(code: str, default: int) -> int:
    """The HTTP status AWS's model gives error ``code`` (``NoSuchEntity`` 404, ...), else ``default``."""
    return _statuses().get(code, default)


def validation_error(problems: list[str]) -> IAMGuardError:
    """AWS's ``ValidationError`` listing every problem."""
    count = len(problems)
    head = f"{count} validation error{'s' if count != 1 else ''} detected: "
    return IAMGuardError(head + "; ".join(problems), code="ValidationError", http_status=400)


# ---------------------------------------------------------------------- the wire form


def _form_prefixes(form: Mapping[str, str]) -> frozenset[str]:
    """Every dotted prefix of every key (``A.member.1.Key`` → ``A``, ``A.member``, ...)."""
    found: set[str] = set()
    for key in form:
        parts = key.split(".")
        for i in range(1, len(parts) + 1):
            found.add(".".join(parts[:i]))
    return frozenset(found)


def read_form(shape_name: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The typed parameters the flat Query ``form`` carries for input shape ``shape_name``.

    Keys the shape does not name are ignored (as AWS ignores unknown parameters); a value of
    the wrong type is a ``ValidationError``.
    """
    prefixes = _form_prefixes(form)
    problems: list[str] = []
    value = _read_structure(shape(shape_name), "", form, prefixes, problems)
    if problems:
        raise validation_error(problems)
    return value


def _read(name: str, key: str, form: Mapping[str, str], prefixes: frozenset[str], problems: list[str]) -> Any:
    spec = shape(name)
    kind = spec["type"]
    if kind == "structure":
        return _read_structure(spec, key + ".", form, prefixes, problems)
    if kind == "list":
        return _read_list(spec, key, form, prefixes, problems)
    if kind == "map":
        return _read_map(spec, key, form, prefixes, problems)
    return _scalar(kind, form[key], key, problems)


def _read_structure(
    spec: Mapping[str, Any],
    prefix: str,
    form: Mapping[str, str],
    prefixes: frozenset[str],
    problems: list[str],
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for member, ref in spec.get("members", {}).items():
        key = prefix + member
        if key in prefixes:
            found[member] = _read(ref["shape"], key, form, prefixes, problems)
    return found


def _read_list(
    spec: Mapping[str, Any], key: str, form: Mapping[str, str], prefixes: frozenset[str], problems: list[str]
) -> list[Any]:
    items: list[Any] = []
    index = 1
    while f"{key}.member.{index}" in prefixes and index <= _MAX_LIST:
        items.append(_read(spec["member"]["shape"], f"{key}.member.{index}", form, prefixes, problems))
        index += 1
    return items  # "Name=" (an empty list) reads as no members


def _read_map(
    spec: Mapping[str, Any], key: str, form: Mapping[str, str], prefixes: frozenset[str], problems: list[str]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    index = 1
    while f"{key}.entry.{index}" in prefixes and index <= _MAX_LIST:
        entry = f"{key}.entry.{index}"
        if f"{entry}.key" in form:
            value = form.get(f"{entry}.value", "")
            found[form[f"{entry}.key"]] = _scalar(
                shape(spec["value"]["shape"])["type"], value, entry, problems
            )
        index += 1
    return found


def _scalar(kind: str, text: str, key: str, problems: list[str]) -> Any:
    if kind == "integer" or kind == "long":
        if _INT.fullmatch(text) is None:
            problems.append(
                f"Value '{text[:64]}' at '{_wire_name(key)}' failed to satisfy constraint: Member must be a number"
            )
            return None
        return int(text)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            problems.append(
                f"Value '{text[:64]}' at '{_wire_name(key)}' failed to satisfy constraint: Member must be a boolean"
            )
            return None
        return text.lower() == "true"
    if kind == "timestamp":
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
        except ValueError:
            problems.append(
                f"Value '{text[:64]}' at '{_wire_name(key)}' failed to satisfy constraint: Member must be a timestamp"
            )
            return None
    return text


def _wire_name(key: str) -> str:
    """AWS's name for a parameter in messages: each segment lower-camel (``tags.1.member.key``)."""
    parts = []
    for part in key.split("."):
        parts.append(part[:1].lower() + part[1:] if part[:1].isupper() else part)
    return ".".join(parts)


# ---------------------------------------------------------------------- validation


def validate(shape_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` checked against input shape ``shape_name``; a copy without ``None`` values.

    Raises AWS's ``ValidationError`` naming every broken constraint.
    """
    problems: list[str] = []
    cleaned = _check_structure(shape(shape_name), params, "", problems)
    if problems:
        raise validation_error(problems)
    return cleaned


def _check(name: str, value: Any, where: str, problems: list[str]) -> Any:
    spec = shape(name)
    kind = spec["type"]
    if kind == "structure":
        if not isinstance(value, Mapping):
            problems.append(f"Value at '{where}' failed to satisfy constraint: Member must be a structure")
            return value
        return _check_structure(spec, value, where + ".", problems)
    if kind == "list":
        return _check_list(spec, value, where, problems)
    if kind == "map":
        if not isinstance(value, Mapping):
            problems.append(f"Value at '{where}' failed to satisfy constraint: Member must be a map")
            return value
        _check_length(spec, len(value), value, where, problems, "length")
        return dict(value)
    if kind == "string":
        return _check_string(spec, value, where, problems)
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member must be a number"
            )
            return value
        _check_range(spec, value, where, problems)
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(
            f"Value '{value}' at '{where}' failed to satisfy constraint: Member must be a boolean"
        )
    return value


def _check_structure(
    spec: Mapping[str, Any], params: Mapping[str, Any], prefix: str, problems: list[str]
) -> dict[str, Any]:
    members = spec.get("members", {})
    cleaned: dict[str, Any] = {}
    for member in spec.get("required", ()):
        if params.get(member) is None:
            problems.append(
                f"Value null at '{_wire_name(prefix + member)}' failed to satisfy constraint: Member must not be null"
            )
    for member, value in params.items():
        if value is None:
            continue
        ref = members.get(member)
        if ref is None:
            problems.append(f"Unknown parameter '{_wire_name(prefix + member)}'")
            continue
        cleaned[member] = _check(ref["shape"], value, _wire_name(prefix + member), problems)
    return cleaned


def _check_list(spec: Mapping[str, Any], value: Any, where: str, problems: list[str]) -> Any:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        problems.append(f"Value at '{where}' failed to satisfy constraint: Member must be a list")
        return value
    _check_length(spec, len(value), value, where, problems, "length")
    member = spec["member"]["shape"]
    return [_check(member, item, f"{where}.{i}.member", problems) for i, item in enumerate(value, 1)]


def _check_string(spec: Mapping[str, Any], value: Any, where: str, problems: list[str]) -> Any:
    if not isinstance(value, str):
        problems.append(f"Value at '{where}' failed to satisfy constraint: Member must be a string")
        return value
    shown = _shown(value)
    if "enum" in spec and value not in spec["enum"]:
        problems.append(
            f"Value '{shown}' at '{where}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(spec['enum'])}]"
        )
        return value
    _check_length(spec, len(value), shown, where, problems, "length")
    pattern = spec.get("pattern")
    if pattern is not None and value and not _matcher(pattern)(value):
        problems.append(
            f"Value '{shown}' at '{where}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern}"
        )
    return value


def _shown(value: str) -> str:
    return value if len(value) <= 128 else value[:128] + "..."


def _check_length(
    spec: Mapping[str, Any], size: int, shown: object, where: str, problems: list[str], what: str
) -> None:
    low, high = spec.get("min"), spec.get("max")
    value_text = f"Value '{shown}'" if isinstance(shown, str) else "Value"
    if low is not None and size < low:
        bound = f"Member must have {what} greater than or equal to {low}"
    elif high is not None and size > high:
        bound = f"Member must have {what} less than or equal to {high}"
    else:
        return
    problems.append(f"{value_text} at '{where}' failed to satisfy constraint: {bound}")


def _check_range(spec: Mapping[str, Any], value: int, where: str, problems: list[str]) -> None:
    low, high = spec.get("min"), spec.get("max")
    if low is not None and value < low:
        problems.append(
            f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have value greater than or equal to {low}"
        )
    elif high is not None and value > high:
        problems.append(
            f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have value less than or equal to {high}"
        )


# ---------------------------------------------------------------------- patterns

_UNICODE_CLASS = re.compile(r"\\p\{([A-Z])\}")


@functools.lru_cache(maxsize=512)
def _matcher(pattern: str) -> Callable[[str], bool]:
    """A whole-string matcher for one of the model's patterns.

    Python's ``re`` has no ``\\p{L}``; the model uses Unicode categories only inside one
    bracketed class repeated (the tag patterns, ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+``), which is
    checked character by character: a letter, separator or number category, or one of the
    class's other characters.
    """
    if "\\p{" not in pattern:
        compiled = re.compile(pattern)
        return lambda text: compiled.fullmatch(text) is not None
    match = re.fullmatch(r"\[(?P<body>.*)\](?P<q>[+*])", pattern)
    if match is None:  # pragma: no cover - every \p pattern of the model has this form
        raise InvalidParameterError(f"unsupported pattern {pattern!r} in the IAM model")
    categories = frozenset(_UNICODE_CLASS.findall(match["body"]))
    rest = re.compile("[" + _UNICODE_CLASS.sub("", match["body"]) + "]")
    at_least = 1 if match["q"] == "+" else 0

    def matches(text: str) -> bool:
        if len(text) < at_least:
            return False
        return all(unicodedata.category(c)[0] in categories or rest.fullmatch(c) is not None for c in text)

    return matches
