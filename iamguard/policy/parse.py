"""JSON policy text (or a decoded mapping) → :mod:`iamguard.policy.model` values.

The first step of everything policy-related: the store, the simulator and the CLI call
:func:`parse_policy` and get either a :class:`~iamguard.policy.model.Policy` or an error naming
*every* problem with its location (``Statement[2].Condition.StringEquals.aws:SourceIp[1]``), as
IAM Access Analyzer reports them. Grammar:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html

Rules beyond the grammar page, each from the AWS documentation:

* Sids are ASCII letters and digits and unique within an IAM (identity) policy
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html
* IAM policy documents contain only tab, LF, CR and U+0020..U+00FF
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names
* Identity policies need ``Resource``/``NotResource`` and may not name a ``Principal``; resource
  policies need a ``Principal``/``NotPrincipal`` and (trust policies) may omit the resource
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
* Every condition value must be readable by its operator (``compile_condition`` decides).

No I/O, and never a ``RecursionError``: the JSON nesting the grammar allows is bounded, so the
reader walks fixed depths and anything deeper is reported as the wrong type.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from iamguard._memo import Memo
from iamguard.errors import InvalidParameterError, PolicyProblem, PolicySyntaxError, PolicyValidationError
from iamguard.policy.limits import PolicyLimits, policy_size
from iamguard.policy.model import (
    DEFAULT_VERSION,
    PRINCIPAL_TYPES,
    VERSION_2008,
    VERSION_2012,
    Condition,
    Effect,
    Policy,
    PolicyKind,
    PrincipalBlock,
    Statement,
)
from iamguard.policy.operator_names import split_operator
from iamguard.policy.operators import compile_condition

__all__ = ["KNOWN_PARTITIONS", "MAX_DOCUMENT_CHARS", "parse_policy"]

#: Hard ceiling on any document, far above every AWS quota (the largest is 20 KB for some
#: resource policies); keeps a hostile input from costing more than a linear scan.
MAX_DOCUMENT_CHARS = 1_048_576

#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html (partition component)
KNOWN_PARTITIONS = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)

_TOP_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = (
    "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
    "Resource", "NotResource", "Condition",
)  # fmt: skip
_VERSIONS = (VERSION_2012, VERSION_2008)
_SID = re.compile(r"[A-Za-z0-9]*")
#: ``service:action``; the vendor prefix is letters, digits and hyphens (wildcards tolerated).
_ACTION = re.compile(r"[A-Za-z0-9*?-]+:[^\s:]+")
_ACCOUNT_ID = re.compile(r"\d{12}")
_IAM_TEXT = re.compile(r"[\t\n\r\u0020-\u00ff]*")

# Enum members as module constants: ``PolicyKind.IDENTITY`` read through the enum class costs
# about 0.1 µs on Python 3.11 and the reader asks for it per string of every statement.
_IDENTITY = PolicyKind.IDENTITY
_RESOURCE = PolicyKind.RESOURCE
_ALLOW = Effect.ALLOW
_DENY = Effect.DENY

#: JSON value accepted in a Condition block (before conversion to IAM's string form).
_Scalar = (str, bool, int, float)


def parse_policy(
    document: str | bytes | Mapping[str, Any],
    *,
    name: str = "",
    kind: PolicyKind = PolicyKind.ANY,
    limits: PolicyLimits | None = None,
) -> Policy:
    """Parse and validate one policy document.

    Raises :class:`PolicySyntaxError` when the text is not JSON (or has duplicate keys) or not an
    object, and :class:`PolicyValidationError` listing every grammar or size problem otherwise.
    ``limits`` enforces an AWS size quota (``PolicyLimits.MANAGED`` ...); none by default.
    """
    if isinstance(document, Mapping):
        decoded: Any = document
        size_text = _compact_json(document)
    elif not isinstance(document, (str, bytes, bytearray, memoryview)):
        raise PolicySyntaxError(PolicyProblem("", "policy document must be a JSON object"))
    else:
        text = _decode_text(document)
        size_text = text
        if len(text) > MAX_DOCUMENT_CHARS:
            raise PolicyValidationError(
                PolicyProblem("", f"policy document is larger than {MAX_DOCUMENT_CHARS} characters")
            )
        decoded = _load_json(text)
    if not isinstance(decoded, Mapping):
        raise PolicySyntaxError(PolicyProblem("", "policy document must be a JSON object"))
    reader = _Reader(kind)
    if limits is not None and size_text is not None:
        reader.size(limits, size_text)
    policy = reader.policy(decoded, name)
    if reader.problems:
        raise PolicyValidationError(reader.problems)
    assert policy is not None
    return policy


# ---------------------------------------------------------------- JSON text


def _decode_text(document: str | bytes | bytearray | memoryview) -> str:
    if isinstance(document, str):
        return document
    try:
        return bytes(document).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PolicySyntaxError(PolicyProblem("", f"policy document is not UTF-8 ({error.reason})")) from None


def _compact_json(document: Mapping[str, Any]) -> str | None:
    """The mapping as compact JSON for the size check; ``None`` if it is not JSON-shaped (the
    reader then reports why)."""
    try:
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None


class _Object(dict[str, Any]):
    """A decoded JSON object that remembers keys it saw more than once."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) == len(pairs):  # no repeated key: the dict was built in C
        return obj
    obj = _Object()
    seen: list[str] = []
    for key, value in pairs:
        if key in obj:
            seen.append(key)
        obj[key] = value
    if seen:
        obj.duplicates = tuple(seen)
    return obj


def _reject_constant(name: str) -> Any:
    raise InvalidParameterError(f"{name} is not valid JSON")


class _LongNumber:
    """A JSON integer too long for ``int()`` (Python's 4,300-digit limit), kept as text so the
    reader can say where it is instead of the decoder failing without a location."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


#: Python refuses ``int()`` of more digits than this (``sys.get_int_max_str_digits()``, 4300
#: by default); a condition value far shorter is already absurd.
_MAX_INT_CHARS = 4000


def _read_int(text: str) -> int | _LongNumber:
    return int(text) if len(text) <= _MAX_INT_CHARS else _LongNumber(text)


def _load_json(text: str) -> Any:
    repeated: list[_Object] = []  # objects with a repeated key; usually none, then no walk is needed

    def object_pairs(pairs: list[tuple[str, Any]]) -> _Object:
        obj = _object_pairs(pairs)
        if obj.duplicates:
            repeated.append(obj)
        return obj

    try:
        value = json.loads(
            text, object_pairs_hook=object_pairs, parse_constant=_reject_constant, parse_int=_read_int
        )
    except json.JSONDecodeError as error:
        location = f"line {error.lineno} column {error.colno}"
        raise PolicySyntaxError(PolicyProblem(location, f"not valid JSON: {error.msg}")) from None
    except RecursionError:
        raise PolicySyntaxError(PolicyProblem("", "JSON nested too deeply")) from None
    except ValueError as error:  # NaN/Infinity
        raise PolicySyntaxError(PolicyProblem("", f"not valid JSON: {error}")) from None
    if repeated:  # locate every duplicate (the walk visits the whole document)
        raise PolicySyntaxError(_duplicate_keys(value))
    return value


def _duplicate_keys(value: Any) -> list[PolicyProblem]:
    """Every object with a repeated key, located; iterative so depth cannot overflow the stack."""
    problems: list[PolicyProblem] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        location, node = stack.pop()
        if isinstance(node, _Object):
            for key in node.duplicates:
                problems.append(PolicyProblem(_join(location, key), f"duplicate key {key!r}"))
            stack.extend((_join(location, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((f"{location}[{i}]", v) for i, v in enumerate(node))
    problems.sort(key=lambda p: p.location)
    return problems


def _join(location: str, key: object) -> str:
    return f"{location}.{key}" if location else str(key)


# ---------------------------------------------------------------- the grammar


class _Reader:
    """Walks one decoded document, collecting problems instead of stopping at the first."""

    def __init__(self, kind: PolicyKind) -> None:
        self.kind = kind
        self.problems: list[PolicyProblem] = []
        self.variables = False

    def add(self, location: str, message: str) -> None:
        self.problems.append(PolicyProblem(location, message))

    def size(self, limits: PolicyLimits, text: str) -> None:
        problem = limits.problem(policy_size(text))
        if problem is not None:
            self.add("", problem)

    # ------------------------------------------------------------ document level

    def policy(self, doc: Mapping[Any, Any], name: str) -> Policy | None:
        for key in doc:
            if key not in _TOP_KEYS:
                self.add(_join("", key), _unknown_element(key, _TOP_KEYS))
        version = self.version(doc)
        self.variables = version == VERSION_2012
        policy_id = self.text(doc["Id"], "Id") if "Id" in doc else None
        located = self.statements(doc)
        self.check_sids(located)
        if self.problems:
            return None
        return Policy(
            statements=tuple(s for _, s in located), version=version, id=policy_id, name=name, kind=self.kind
        )

    def version(self, doc: Mapping[Any, Any]) -> str:
        """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html"""
        if "Version" not in doc:
            return DEFAULT_VERSION
        raw = doc["Version"]
        if raw not in _VERSIONS or not isinstance(raw, str):
            self.add("Version", f"Version must be {VERSION_2012!r} or {VERSION_2008!r}, not {_show(raw)}")
            return DEFAULT_VERSION
        return raw

    def statements(self, doc: Mapping[Any, Any]) -> list[tuple[str, Statement]]:
        if "Statement" not in doc:
            self.add("Statement", "policy must contain a Statement element")
            return []
        raw = doc["Statement"]
        if isinstance(raw, Mapping):
            entries: list[tuple[str, Any]] = [("Statement", raw)]
        elif isinstance(raw, list):
            if not raw:
                self.add("Statement", "Statement must contain at least one statement")
            entries = [(f"Statement[{i}]", s) for i, s in enumerate(raw)]
        else:
            self.add("Statement", f"Statement must be an object or a list of objects, not {_show(raw)}")
            return []
        out = []
        for index, (location, entry) in enumerate(entries):
            statement = self.statement(entry, location, index)
            if statement is not None:
                out.append((location, statement))
        return out

    def check_sids(self, located: list[tuple[str, Statement]]) -> None:
        """IAM requires unique Sids; resource policies' services vary, so there it is a finding."""
        if self.kind is not _IDENTITY:
            return
        seen: set[str] = set()
        for loc, s in located:
            if s.sid is None or s.sid == "":
                continue
            if s.sid in seen:
                self.add(f"{loc}.Sid", f"duplicate Sid {s.sid!r}: Sids must be unique within a policy")
            seen.add(s.sid)

    # ------------------------------------------------------------ statements

    def statement(self, raw: Any, loc: str, index: int) -> Statement | None:
        if not isinstance(raw, Mapping):
            self.add(loc, f"a statement must be an object, not {_show(raw)}")
            return None
        before = len(self.problems)
        for key in raw:
            if key not in _STATEMENT_KEYS:
                self.add(f"{loc}.{key}", _unknown_element(key, _STATEMENT_KEYS))
        sid = self.sid(raw, loc)
        effect = self.effect(raw, loc)
        action, not_action = self.pair(
            raw, loc, "Action", "NotAction", required=True, check=self.check_action
        )
        resource, not_resource = self.pair(
            raw, loc, "Resource", "NotResource", required=self.kind is _IDENTITY, check=self.check_resource
        )
        principal, not_principal = self.principals(raw, loc)
        conditions = self.conditions(raw["Condition"], f"{loc}.Condition") if "Condition" in raw else ()
        if len(self.problems) != before or effect is None:
            return None
        return Statement(
            index=index, effect=effect, sid=sid, action=action, not_action=not_action,
            resource=resource, not_resource=not_resource, principal=principal,
            not_principal=not_principal, conditions=conditions,
        )  # fmt: skip

    def sid(self, raw: Mapping[Any, Any], loc: str) -> str | None:
        if "Sid" not in raw:
            return None
        sid = self.text(raw["Sid"], f"{loc}.Sid")
        if sid is not None and self.kind is _IDENTITY and not _SID.fullmatch(sid):
            self.add(f"{loc}.Sid", f"Sid {sid!r} may contain only ASCII letters and digits")
        return sid

    def effect(self, raw: Mapping[Any, Any], loc: str) -> Effect | None:
        """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html"""
        if "Effect" not in raw:
            self.add(f"{loc}.Effect", "statement must contain an Effect element")
            return None
        value = raw["Effect"]
        if value == "Allow" and isinstance(value, str):
            return _ALLOW
        if value == "Deny" and isinstance(value, str):
            return _DENY
        self.add(f"{loc}.Effect", f"Effect must be 'Allow' or 'Deny' (case-sensitive), not {_show(value)}")
        return None

    def pair(
        self, raw: Mapping[Any, Any], loc: str, name: str, negated: str, *, required: bool, check: Any
    ) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """An element and its ``Not`` twin: at most one (exactly one when ``required``)."""
        if name in raw and negated in raw:
            self.add(f"{loc}.{negated}", f"a statement cannot contain both {name} and {negated}")
            return None, None
        if name not in raw and negated not in raw:
            if required:
                self.add(f"{loc}.{name}", f"statement must contain {name} or {negated}")
            return None, None
        which = name if name in raw else negated
        element = f"{loc}.{which}"
        values = self.strings(raw[which], element)
        if values is not None and _clean_values.get((name, values)) is None:
            clean = True
            for i, value in enumerate(values):
                for message in check(value):
                    self.add(_item(element, i, raw[which]), message)
                    clean = False
            if clean:
                _clean_values.put((name, values), True)
        return (values, None) if which == name else (None, values)

    # The checks return their problems' messages (usually none) rather than adding them, so the
    # caller builds a location string only for a value that has a problem.

    @staticmethod
    def check_action(action: str) -> tuple[str, ...]:
        """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html"""
        if action != "*" and not _ACTION.fullmatch(action):
            return (
                f"action {action!r} must be '*' or 'service:action' (prefixed by a service such as s3 or iam)",
            )
        return ()

    @staticmethod
    def check_resource(resource: str) -> tuple[str, ...]:
        """``*`` or an ARN with its six components and a known partition; fewer components when
        the last one ends in ``*``, which "can expand to match beyond the colon boundaries"
        (``arn:aws:sqs:*``, ``arn:*``).
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html"""
        if resource == "*":
            return ()
        parts = resource.split(":", 5)
        short = 1 < len(parts) < 6 and resource.endswith("*")  # the * stands for the rest
        if parts[0] != "arn" or (len(parts) != 6 and not short):
            return (
                f"resource {resource!r} must be '*' or an ARN (arn:partition:service:region:account:resource)",
            )
        partition = parts[1]
        problems: tuple[str, ...] = ()
        if partition not in KNOWN_PARTITIONS and not _is_pattern(partition):
            problems += (f"partition {partition!r} is not valid for resource {resource!r}",)
        if len(parts) > 2 and parts[2] == "":
            problems += (f"resource ARN {resource!r} is missing its service component",)
        return problems

    # ------------------------------------------------------------ principals

    def principals(
        self, raw: Mapping[Any, Any], loc: str
    ) -> tuple[PrincipalBlock | None, PrincipalBlock | None]:
        present = [k for k in ("Principal", "NotPrincipal") if k in raw]
        if len(present) == 2:
            self.add(f"{loc}.NotPrincipal", "a statement cannot contain both Principal and NotPrincipal")
            return None, None
        if not present:
            if self.kind is _RESOURCE:
                self.add(
                    f"{loc}.Principal",
                    "a resource-based policy statement must contain Principal or NotPrincipal",
                )
            return None, None
        which = present[0]
        if self.kind is _IDENTITY:
            self.add(f"{loc}.{which}", f"an identity-based policy cannot contain {which}")
            return None, None
        block = self.principal_block(raw[which], f"{loc}.{which}")
        return (block, None) if which == "Principal" else (None, block)

    def principal_block(self, raw: Any, loc: str) -> PrincipalBlock | None:
        """``"*"`` or ``{"AWS"|"Service"|"Federated"|"CanonicalUser": string or list}``.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"""
        if raw == "*" and isinstance(raw, str):
            return PrincipalBlock(any_principal=True)
        if not isinstance(raw, Mapping) or not raw:
            self.add(loc, f"must be '*' or a non-empty object of principal types, not {_show(raw)}")
            return None
        values: list[tuple[str, tuple[str, ...]]] = []
        for kind, value in raw.items():
            if kind not in PRINCIPAL_TYPES:
                self.add(
                    f"{loc}.{kind}",
                    f"unknown principal type {kind!r}; expected one of {', '.join(PRINCIPAL_TYPES)}",
                )
                continue
            names = self.strings(value, f"{loc}.{kind}")
            if names is None:
                continue
            if kind == "AWS":
                for i, principal in enumerate(names):
                    self.check_aws_principal(principal, _item(f"{loc}.{kind}", i, value))
            values.append((kind, names))
        return PrincipalBlock(values=tuple(values))

    def check_aws_principal(self, principal: str, loc: str) -> None:
        """``*``, a 12-digit account id or an ARN; "you cannot use a wildcard to match part of a
        principal name or ARN" (principal element page)."""
        if principal == "*" or _ACCOUNT_ID.fullmatch(principal):
            return
        if not (principal.startswith("arn:") and principal.count(":") >= 5):
            self.add(loc, f"AWS principal {principal!r} must be '*', a 12-digit account id or an ARN")
        elif _is_pattern(principal):
            self.add(loc, f"AWS principal {principal!r} may not contain wildcards")

    # ------------------------------------------------------------ conditions

    def conditions(self, raw: Any, loc: str) -> tuple[Condition, ...]:
        """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html"""
        if not isinstance(raw, Mapping):
            self.add(loc, f"Condition must be an object of operators, not {_show(raw)}")
            return ()
        out: list[Condition] = []
        for operator, block in raw.items():
            op_loc = f"{loc}.{operator}"
            name = split_operator(operator) if isinstance(operator, str) else None
            if name is None:
                self.add(op_loc, f"unknown condition operator {operator!r}")
                continue
            if not isinstance(block, Mapping) or not block:
                self.add(op_loc, f"a condition operator takes a non-empty object of keys, not {_show(block)}")
                continue
            seen: dict[str, str] = {}
            for key, value in block.items():
                key_loc = f"{op_loc}.{key}"
                if not isinstance(key, str) or key == "":
                    self.add(key_loc, "condition key must be a non-empty string")
                    continue
                if key.lower() in seen:
                    self.add(
                        key_loc,
                        f"condition key {key!r} repeats {seen[key.lower()]!r} (keys are case-insensitive)",
                    )
                    continue
                seen[key.lower()] = key
                self.iam_text(key, key_loc)
                values = self.condition_values(value, key_loc)
                if values is None:
                    continue
                condition = Condition(operator, name.base, name.qualifier, name.if_exists, key, values)
                if self.compiles(condition, key_loc, isinstance(value, list)):
                    out.append(condition)
        return tuple(out)

    def condition_values(self, raw: Any, loc: str) -> tuple[str, ...] | None:
        if isinstance(raw, list):
            if not raw:
                self.add(loc, "a condition key needs at least one value")
                return None
            texts = [self.scalar(v, f"{loc}[{i}]") for i, v in enumerate(raw)]
            return None if any(t is None for t in texts) else tuple(t for t in texts if t is not None)
        text = self.scalar(raw, loc)
        return None if text is None else (text,)

    def scalar(self, value: Any, loc: str) -> str | None:
        """A condition value in IAM's string form: true → "true", 1 → "1", 1.5 → "1.5"."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            try:
                return str(value)
            except ValueError:  # more digits than Python will print
                self.add(loc, "number is too long")
                return None
        if isinstance(value, _LongNumber):
            self.add(loc, f"number is too long ({len(value.text)} characters)")
            return None
        if isinstance(value, float):
            if not math.isfinite(value):
                self.add(loc, "number is not finite")
                return None
            return repr(value)
        if isinstance(value, str):
            self.iam_text(value, loc)
            return value
        self.add(loc, f"a condition value must be a string, number or boolean, not {_show(value)}")
        return None

    def compiles(self, condition: Condition, key_loc: str, listed: bool) -> bool:
        """Let the operator read every value now, so a policy that parses always evaluates.

        When the values were a list, each is tried alone so the problem names its index."""
        error = _compile_error(condition, self.variables)
        if error is None:
            return True
        before = len(self.problems)
        if listed:
            for i, value in enumerate(condition.values):
                single = _compile_error(replace(condition, values=(value,)), self.variables)
                if single is not None:
                    self.add(f"{key_loc}[{i}]", single)
        if len(self.problems) == before:  # only the combination fails
            self.add(key_loc, error)
        return False

    # ------------------------------------------------------------ leaves

    def strings(self, raw: Any, loc: str) -> tuple[str, ...] | None:
        """A string or a non-empty list of strings (one shared tuple per distinct value list)."""
        if isinstance(raw, str):
            self.iam_text(raw, loc)
            return _shared_strings((raw,))
        if not isinstance(raw, list) or not raw:
            self.add(loc, f"must be a string or a non-empty list of strings, not {_show(raw)}")
            return None
        if self._valid_strings(raw):
            return _shared_strings(tuple(raw))
        ok = True  # something is wrong: locate each problem
        for i, value in enumerate(raw):
            if not isinstance(value, str):
                self.add(f"{loc}[{i}]", f"must be a string, not {_show(value)}")
                ok = False
            else:
                self.iam_text(value, f"{loc}[{i}]")
        return tuple(raw) if ok else None

    def _valid_strings(self, raw: list[Any]) -> bool:
        """Every item is a string of allowed characters, checked in C: ``join`` rejects a
        non-string and the character-class pattern holds for the joined text exactly when it
        holds for each part."""
        try:
            joined = "".join(raw)
        except TypeError:
            return False
        return self.kind is not _IDENTITY or _IAM_TEXT.fullmatch(joined) is not None

    def text(self, raw: Any, loc: str) -> str | None:
        if not isinstance(raw, str):
            self.add(loc, f"must be a string, not {_show(raw)}")
            return None
        self.iam_text(raw, loc)
        return raw

    def iam_text(self, text: str, loc: str) -> None:
        if self.kind is _IDENTITY and not _IAM_TEXT.fullmatch(text):
            self.add(
                loc,
                "IAM policies may contain only tab, line feed, carriage return and characters U+0020 to U+00FF",
            )


def _compile_error(condition: Condition, variables: bool) -> str | None:
    """What ``compile_condition`` rejects in ``condition``, or ``None``."""
    try:
        compile_condition(condition, variables=variables)
    except PolicyValidationError as error:
        return "; ".join(p.message for p in error.problems)
    return None


def _item(loc: str, index: int, raw: Any) -> str:
    """Location of one value of an element written as a string or as a list."""
    return f"{loc}[{index}]" if isinstance(raw, list) else loc


def _is_pattern(text: str) -> bool:
    return "*" in text or "?" in text or "${" in text


def _unknown_element(key: object, known: tuple[str, ...]) -> str:
    hint = next((k for k in known if isinstance(key, str) and k.lower() == key.lower()), None)
    if hint is not None:
        return f"unknown element {key!r}: element names are case-sensitive, did you mean {hint!r}?"
    return f"unknown element {key!r}; expected one of {', '.join(known)}"


def _show(value: Any) -> str:
    """A short description of a wrong value for messages (never the whole document)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, _LongNumber)):
        return "a number"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    return type(value).__name__


#: Value lists (Action, Resource, ...) by content: the statements of a store repeat a few
#: thousand of them (``s3:GetObject``, a team's bucket), and each parsed copy would keep its own
#: tuple and strings (about 20 MiB at 100,000 statements). Bounded; a miss keeps the new copy.
_value_lists: Memo[tuple[str, ...], tuple[str, ...]] = Memo("policy.value_lists", 65536)


#: (element name, values) pairs whose every value passed the element's check (the checks are
#: pure functions of the value): a store repeats its Action/Resource lists, checked once each.
_clean_values: Memo[tuple[str, tuple[str, ...]], bool] = Memo("policy.clean_values", 65536)


def _shared_strings(values: tuple[str, ...]) -> tuple[str, ...]:
    """The one remembered tuple equal to ``values`` (its strings shared with it)."""
    found = _value_lists.get(values)
    return found if found is not None else _value_lists.put(values, values)
