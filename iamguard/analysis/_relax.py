"""Policy variables, decided through a relaxation that has none.

The regions of ``_regions``/``_values`` cannot describe ``arn:aws:s3:::home/${aws:username}/*``:
the resource a statement reaches depends on another key's value. But evaluation is monotone:
a statement that applies to more requests can only make an Allow allow more and a Deny deny
more (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html:
a request is allowed when no Deny applies and the needed Allows apply). So each side can be
replaced by one without variables that allows *at least* as much (``wider=True``) or *at most*
as much (``wider=False``):

* to make a statement apply to more requests, each variable in its ``Resource`` becomes ``*``
  (the substituted value was one string, ``*`` matches them all; an unresolved variable matched
  nothing), a ``NotResource`` pattern holding one is dropped (it excluded some resources), and a
  condition entry with a variable in its values is dropped (one conjunct fewer);
* to make it apply to fewer, the statement is dropped.

A wider side's Allows apply to more and its Denies to fewer; a narrower side's the other way.
When "the first side allows and the second denies" has no request for (wider first, narrower
second), it has none for the original sides either: a PASS there is a PASS. A request found on
the relaxation proves nothing until it separates the original sides, which the caller checks.
"""

from __future__ import annotations

from dataclasses import replace

from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import Effect, Policy, Statement
from iamguard.policy.variables import compile_template, variables_as_wildcards

__all__ = ["VARIABLE_MARK", "relaxed"]

#: The words every "not decided because of a policy variable" reason contains.
VARIABLE_MARK = "policy variable"


def relaxed(side: PolicySet, *, wider: bool) -> PolicySet:
    """``side`` without policy variables, allowing at least (``wider``) or at most as much."""

    def each(policy: Policy) -> Policy:
        return _policy(policy, wider)

    return PolicySet(
        identity=tuple(each(p) for p in side.identity),
        boundary=each(side.boundary) if side.boundary is not None else None,
        session=tuple(each(p) for p in side.session) if side.session is not None else None,
        resource=each(side.resource) if side.resource is not None else None,
        resource_account=side.resource_account,
    )


def _policy(policy: Policy, wider: bool) -> Policy:
    if not policy.variables_enabled:
        return policy
    kept = [s for s in (_statement(st, wider) for st in policy.statements) if s is not None]
    if len(kept) == len(policy.statements) and all(
        a is b for a, b in zip(kept, policy.statements, strict=True)
    ):
        return policy
    suffix = "at least as permissive" if wider else "at most as permissive"
    return replace(policy, statements=tuple(kept), name=f"{policy.name} (variables relaxed, {suffix})")


def _varies(text: str) -> bool:
    return "${" in text and compile_template(text).has_variables


def _statement(statement: Statement, wider: bool) -> Statement | None:
    resources = statement.resource or ()
    excluded = statement.not_resource or ()
    varying = [c for c in statement.conditions if any(_varies(v) for v in c.values)]
    if not varying and not any(_varies(r) for r in (*resources, *excluded)):
        return statement
    applies_more = wider != (statement.effect is Effect.DENY)
    if not applies_more:
        return None
    return replace(
        statement,
        resource=tuple(_any_value(r) for r in resources) if statement.resource is not None else None,
        not_resource=tuple(r for r in excluded if not _varies(r))
        if statement.not_resource is not None
        else None,
        conditions=tuple(c for c in statement.conditions if c not in varying),
    )


def _any_value(text: str) -> str:
    """The pattern with each variable written as ``*`` (``${*}``/``${?}``/``${$}`` stay)."""
    return variables_as_wildcards(text) if _varies(text) else text
