"""The IAM policy language as values: Policy, Statement, Condition, PrincipalBlock.

Pure data, no I/O and no matching logic. ``policy/parse.py`` builds these from JSON and
``evaluate/compile.py`` turns them into matchers. Values are frozen so a compiled form can be
attached once and shared by every thread (see ``Policy._compiled``).

Grammar reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
#: Without a Version element AWS uses 2008-10-17, where policy variables are literal text.
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
DEFAULT_VERSION = VERSION_2008


class Effect(str, enum.Enum):
    """A statement's ``Effect``: ``Allow`` or ``Deny`` (case-sensitive, as IAM requires)."""

    ALLOW = "Allow"
    DENY = "Deny"


class PolicyKind(str, enum.Enum):
    """Where a policy is attached; decides whether ``Principal`` is required or forbidden."""

    IDENTITY = "identity"  # user/group/role policies, boundaries, session policies: no Principal
    RESOURCE = "resource"  # bucket policies, trust policies, ...: Principal or NotPrincipal required
    ANY = "any"  # accept both shapes (simulator input of unknown origin)


PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


@dataclass(frozen=True, slots=True)
class PrincipalBlock:
    """A ``Principal`` or ``NotPrincipal`` element.

    ``"Principal": "*"`` is ``any_principal=True`` with no values; ``{"AWS": "*"}`` is kept as
    the value ``"*"`` under ``"AWS"``, which AWS treats the same for authenticated callers.
    """

    any_principal: bool = False
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (type, values) in document order

    def get(self, principal_type: str) -> tuple[str, ...]:
        """The values under ``principal_type`` (``"AWS"``, ``"Service"``, ``"Federated"``, ...), or ``()``."""
        for kind, values in self.values:
            if kind == principal_type:
                return values
        return ()

    def to_json(self) -> Any:
        """The element as policy JSON: ``"*"`` or a mapping of principal type to value(s)."""
        if self.any_principal:
            return "*"
        return {kind: (vals[0] if len(vals) == 1 else list(vals)) for kind, vals in self.values}


@dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key) pair of a Condition block with its values.

    ``values`` are strings: JSON ``true`` becomes ``"true"`` and numbers their JSON text, as
    IAM compares everything from its string form. Several values are OR'ed (NOR for negated
    operators); several Condition entries in one statement are AND'ed.
    """

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    base_operator: str  # canonical name without qualifier/IfExists, e.g. "StringLike"
    qualifier: str | None  # "ForAllValues" | "ForAnyValue" | None
    if_exists: bool
    key: str  # as written; compare case-insensitively
    values: tuple[str, ...]

    def to_json_value(self) -> Any:
        """The values as policy JSON: one string, or a list of several."""
        return self.values[0] if len(self.values) == 1 else list(self.values)


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement. Exactly one of action/not_action and at most one of resource/not_resource
    is set (``parse`` guarantees it); ``index`` is its position in the policy (0-based)."""

    index: int
    effect: Effect
    sid: str | None = None
    action: tuple[str, ...] | None = None
    not_action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    principal: PrincipalBlock | None = None
    not_principal: PrincipalBlock | None = None
    conditions: tuple[Condition, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The statement as policy JSON (elements as written, one value unwrapped from its list)."""
        out: dict[str, Any] = {}
        if self.sid is not None:
            out["Sid"] = self.sid
        out["Effect"] = self.effect.value
        if self.principal is not None:
            out["Principal"] = self.principal.to_json()
        if self.not_principal is not None:
            out["NotPrincipal"] = self.not_principal.to_json()
        for name, vals in (
            ("Action", self.action),
            ("NotAction", self.not_action),
            ("Resource", self.resource),
            ("NotResource", self.not_resource),
        ):
            if vals is not None:
                out[name] = vals[0] if len(vals) == 1 else list(vals)
        if self.conditions:
            block: dict[str, dict[str, Any]] = {}
            for cond in self.conditions:
                block.setdefault(cond.operator, {})[cond.key] = cond.to_json_value()
            out["Condition"] = block
        return out


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy document.

    ``name`` labels the policy in explanations (an ARN, ``user/alice/inline/S3``, a file name).
    ``_compiled`` is a cache slot that ``evaluate/compile.py`` fills once per policy value.
    """

    statements: tuple[Statement, ...]
    version: str = DEFAULT_VERSION
    id: str | None = None
    name: str = ""
    kind: PolicyKind = PolicyKind.ANY
    _compiled: Any = field(default=None, init=False, repr=False, compare=False, hash=False)

    @property
    def variables_enabled(self) -> bool:
        """Policy variables are substituted only under Version 2012-10-17."""
        return self.version == VERSION_2012

    def to_json(self) -> dict[str, Any]:
        """The policy as a JSON document (``Version``, ``Id`` if any, ``Statement``)."""
        out: dict[str, Any] = {"Version": self.version}
        if self.id is not None:
            out["Id"] = self.id
        out["Statement"] = [s.to_json() for s in self.statements]
        return out
