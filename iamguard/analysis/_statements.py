"""What each statement tests, read from the parsed policy model for the search.

Part of ``analysis/``. The search needs, per statement, three questions the evaluator also asks:
does its ``Action``/``NotAction`` name this action, does its ``Resource``/``NotResource`` name
this resource, and what does each condition entry answer for a context. They are answered here
from :class:`~iamguard.policy.model.Statement` with the policy layer's own compilers
(``policy.wildcard``, ``policy.variables``, ``policy.operators``), the ones the evaluator builds
its matchers from, rather than from the evaluator's compiled objects, whose shape is free to
change. The rules are the evaluator's:

* actions compare without case, IAM wildcards, ``*`` alone matches every action;
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
* resources compare with case; under Version 2012-10-17 a policy variable is rendered from the
  context and its substituted text matched literally, and one that cannot be resolved matches
  nothing; under 2008-10-17 ``${...}`` is literal text.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html

A differential test (``tests/analysis/test_statements.py``) holds these answers equal to the
evaluator's on the project's policies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from iamguard.context import ContextValue
from iamguard.policy.model import Effect, Policy, Statement
from iamguard.policy.operators import CompiledCondition, compile_condition
from iamguard.policy.variables import Template, compile_resource_patterns
from iamguard.policy.wildcard import compile_wildcard

__all__ = ["PolicyView", "StatementView", "names_action", "views_of"]

Context = Mapping[str, ContextValue]


def _always(text: str) -> bool:
    return True


def _action_test(statement: Statement) -> Callable[[str], bool]:
    """``Action``/``NotAction`` as a predicate over a lower-cased action."""
    patterns = statement.action if statement.action is not None else statement.not_action
    tests = [_always if p == "*" else compile_wildcard(p.lower()) for p in patterns or ()]
    if statement.not_action is not None:
        return lambda action: not any(t(action) for t in tests)
    return lambda action: any(t(action) for t in tests)


def names_action(policy: Policy, action: str) -> bool:
    """Whether any statement of ``policy`` names ``action`` (lower-cased) in its
    ``Action``/``NotAction``, whatever its effect, resources and conditions."""
    return any(_action_test(s)(action) for s in policy.statements)


class StatementView:
    """One statement's tests, built on first use (a condition that cannot compile raises)."""

    __slots__ = ("_conditions", "_resources", "_templates", "effect", "policy", "statement", "variables")

    def __init__(self, statement: Statement, policy: Policy) -> None:
        self.statement = statement
        self.policy = policy
        self.effect = statement.effect
        self.variables = policy.variables_enabled
        self._resources: tuple[Callable[[str], bool], ...] | None = None
        self._templates: tuple[Template, ...] = ()
        self._conditions: tuple[CompiledCondition, ...] | None = None

    @property
    def is_deny(self) -> bool:
        """Whether the statement's effect is ``Deny``."""
        return self.effect is Effect.DENY

    @property
    def conditions(self) -> tuple[CompiledCondition, ...]:
        """The compiled condition entries, in the statement's order (``PolicyValidationError``
        for a value the operator cannot read, as the evaluator's compilation)."""
        found = self._conditions
        if found is None:
            found = self._conditions = tuple(
                compile_condition(c, variables=self.variables) for c in self.statement.conditions
            )
        return found

    def resource_matches(self, resource: str, context: Context) -> bool:
        """The ``Resource``/``NotResource`` test (``context`` renders policy variables)."""
        statement = self.statement
        excluded = statement.not_resource is not None
        if not excluded and (statement.resource is None or "*" in statement.resource):
            return True
        tests = self._resources
        if tests is None:
            tests = self._compile_resources()
        hit = any(test(resource) for test in tests)
        if not hit:
            for template in self._templates:
                rendered = template.render(context, escape_wildcards=True)
                if rendered is not None and compile_wildcard(rendered, escaped=True)(resource):
                    hit = True
                    break
        return hit != excluded

    def _compile_resources(self) -> tuple[Callable[[str], bool], ...]:
        statement = self.statement
        patterns = statement.resource if statement.resource is not None else statement.not_resource
        self._resources, self._templates = compile_resource_patterns(patterns or (), variables=self.variables)
        return self._resources

    def __repr__(self) -> str:
        return f"<StatementView {self.policy.name}[{self.statement.index}] {self.effect.value}>"


class PolicyView:
    """A policy's statements with a per-action list of those its ``Action``/``NotAction`` name."""

    __slots__ = ("_actions", "_reached", "policy", "statements")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.statements = tuple(StatementView(s, policy) for s in policy.statements)
        self._actions = tuple(_action_test(s) for s in policy.statements)
        self._reached: dict[str, tuple[StatementView, ...]] = {}

    def candidates(self, action: str) -> tuple[StatementView, ...]:
        """The statements naming ``action`` (lower-cased), in order; remembered per action (a
        search asks about a bounded list of actions, one per region)."""
        found = self._reached.get(action)
        if found is None:
            found = self._reached[action] = tuple(
                view for view, test in zip(self.statements, self._actions, strict=True) if test(action)
            )
        return found


def views_of(policies: Sequence[Policy]) -> list[PolicyView]:
    """One view per distinct policy object, in order."""
    seen: dict[int, PolicyView] = {}
    for policy in policies:
        if id(policy) not in seen:
            seen[id(policy)] = PolicyView(policy)
    return list(seen.values())
