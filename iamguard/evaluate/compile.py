"""Policy → matchers, built once per policy value and attached to it (stage 4, evaluate).

Why: the request path must only look things up and compare. For each :class:`Policy` this
module builds (once, and shared by every thread) an action index, so a request touches only
the statements whose ``Action``/``NotAction`` can match its action:

* exact actions (``s3:getobject``) → statements, in a dict;
* patterns whose service prefix is literal (``s3:Get*``) → per-service lists of (matcher, statement);
* everything else (``*``, ``s3*:x``, every ``NotAction``) in one list checked for each new action.

The candidates for one action are worked out on first use and memoized per policy. The rest of a
statement (resource matchers, conditions, principal sets) is compiled lazily the first time a
request reaches it, so compiling 100,000 statements costs only the index.

Matching rules:

* Actions compare case-insensitively with IAM wildcards; ``*`` alone matches every action.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
* Resources compare case-sensitively; ``*`` crosses ``:`` and ``/``. Under Version 2012-10-17
  policy variables are rendered from the request context with substituted text matched
  literally; a variable that cannot be resolved makes that value match nothing. Under 2008-10-17
  ``${...}`` is literal text.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from iamguard._memo import Memo
from iamguard.context import ContextValue
from iamguard.decision import MatchedStatement, PolicyRole
from iamguard.evaluate.principal_match import compile_principal
from iamguard.policy.model import Effect, Policy, Statement
from iamguard.policy.operators import CompiledCondition, compile_condition
from iamguard.policy.variables import compile_resource_patterns
from iamguard.policy.wildcard import compile_wildcard, has_wildcard

__all__ = ["CompiledPolicy", "CompiledStatement", "attach_once", "compile_policy", "compiled"]

T = TypeVar("T")

Context = Mapping[str, ContextValue]
ActionTest = Callable[[str], bool]

#: Up to this many statements a policy keeps one action test per statement instead of dicts.
_SMALL_POLICY = 16

#: Memoized candidate lists per policy; a policy sees a bounded vocabulary of actions, but a
#: hostile caller could send endless distinct names, so the memo is reset when it grows past this.
_CANDIDATE_MEMO_SIZE = 4096

_COMPILE_LOCK = threading.Lock()

#: Read through the enum class, a member costs about 0.1 µs (Python 3.11); compiling reads it
#: once per statement.
_DENY = Effect.DENY


#: The one empty key set every statement without conditions shares (``frozenset(<generator>)``
#: builds a new 216-byte object each time: 21 MiB at 100,000 statements).
_NO_KEYS: frozenset[str] = frozenset()


def _always(value: str) -> bool:
    return True


class _StatementBody:
    """The lazily compiled part of a statement: resources, principals and conditions."""

    __slots__ = (
        "check_resource",
        "condition_key_set",
        "condition_keys",
        "condition_tests",
        "conditions",
        "conditions_hold",
        "needs_context",
        "not_principal",
        "not_resource",
        "principal",
        "resource_test",
        "resources",
        "templates",
    )

    def __init__(self, statement: Statement, variables: bool) -> None:
        patterns = statement.resource if statement.resource is not None else statement.not_resource
        self.not_resource = statement.not_resource is not None
        self.check_resource = patterns is not None and not (not self.not_resource and "*" in patterns)
        self.resources, self.templates = compile_resource_patterns(patterns or (), variables=variables)
        self.principal = compile_principal(statement.principal) if statement.principal is not None else None
        self.not_principal = (
            compile_principal(statement.not_principal) if statement.not_principal is not None else None
        )
        self.conditions: tuple[CompiledCondition, ...] = tuple(
            compile_condition(c, variables=variables) for c in statement.conditions
        )
        self.condition_keys = tuple((c.key.lower(), c.key) for c in statement.conditions)
        # The lower-cased keys as a set, so "does the context hold every key?" is one C-level
        # comparison per statement; the per-key loop runs only when one is missing.
        self.condition_key_set = (
            frozenset(key for key, _ in self.condition_keys) if self.condition_keys else _NO_KEYS
        )
        # The predicates themselves: the operators module's implementation keeps its evaluator in
        # ``_evaluate``; calling it directly skips one Python call per condition on the hot path.
        self.condition_tests: tuple[Callable[[Context], bool], ...] = tuple(
            getattr(c, "_evaluate", c) for c in self.conditions
        )
        self.conditions_hold = _all_of(self.condition_tests) if self.condition_tests else None
        self.needs_context = bool(self.templates or self.conditions)
        # The cheapest resource test for the hot path: None (always applies), the one matcher of
        # a single static pattern, or a closure (several patterns, NotResource, templates).
        self.resource_test: ActionTest | None = None
        if self.check_resource:
            if not self.templates and not self.not_resource and len(self.resources) == 1:
                self.resource_test = self.resources[0]
            else:
                self.resource_test = self._any_resource

    def _any_resource(self, resource: str) -> bool:
        """Static patterns only (templates are handled by :meth:`resource_matches`)."""
        hit = False
        for test in self.resources:
            if test(resource):
                hit = True
                break
        return hit != self.not_resource

    def resource_matches(self, resource: str, context: Context | None) -> bool:
        """Resource/NotResource test (``context`` is needed only when templates exist)."""
        if not self.check_resource:
            return True
        hit = False
        for test in self.resources:
            if test(resource):
                hit = True
                break
        if not hit and self.templates:
            assert context is not None
            for template in self.templates:
                rendered = template.render(context, escape_wildcards=True)
                if rendered is not None and _rendered_matcher(rendered)(resource):
                    hit = True
                    break
        return hit != self.not_resource


#: Matchers for rendered (escaped) resource patterns, by rendered text: bounded, so per-user
#: patterns cannot grow memory without bound, and evicting one at a time (never all at once).
_rendered: Memo[str, ActionTest] = Memo("evaluate.rendered_resources", 8192)


def _rendered_matcher(pattern: str) -> ActionTest:
    test = _rendered.get(pattern)
    if test is None:
        test = _rendered.put(pattern, compile_wildcard(pattern, escaped=True))
    return test


#: Compiled bodies by what they are built from: statements of a store repeat a few thousand
#: Resource/Condition shapes (a team's bucket under many policies), and a body is ~200 bytes.
#: Bounded; a miss only builds an equal body again. INVARIANT: a body reads nothing else of its
#: statement (not its effect, index, Sid or actions), so statements with equal keys share it.
_bodies: Memo[tuple[Any, ...], _StatementBody] = Memo("evaluate.statement_bodies", 65536)


def _shared_body(statement: Statement, variables: bool) -> _StatementBody:
    key = (
        statement.resource,
        statement.not_resource,
        statement.principal,
        statement.not_principal,
        statement.conditions,
        variables,
    )
    body = _bodies.get(key)
    return body if body is not None else _bodies.put(key, _StatementBody(statement, variables))


class CompiledStatement:
    """One statement with its action test decided and the rest compiled on first use."""

    __slots__ = ("_body", "_deny_reason", "is_deny", "policy_name", "statement", "variables")

    def __init__(self, statement: Statement, policy_name: str, variables: bool) -> None:
        self.statement = statement
        self.policy_name = policy_name
        self.is_deny = statement.effect is _DENY
        self.variables = variables
        self._body: _StatementBody | None = None
        self._deny_reason: str | None = None  # the engine's explicit-deny reason, built on first use

    @property
    def body(self) -> _StatementBody:
        """The compiled resources/principals/conditions; raises if a condition cannot compile."""
        body = self._body
        if body is None:
            body = self._body = _shared_body(self.statement, self.variables)
        return body

    def matched(self, role: PolicyRole) -> MatchedStatement:
        """The explanation entry for this statement in ``role`` (built when an explanation is
        read, off the hot path: not kept, a dict per statement would cost 6 MiB at 100,000)."""
        st = self.statement
        return MatchedStatement(self.policy_name, role, st.index, st.sid, st.effect.value)

    def conditions_hold(self, context: Context) -> bool:
        for condition in self.body.conditions:
            if not condition(context):
                return False
        return True

    def referenced_keys(self) -> frozenset[str]:
        """Context keys (lower-cased) this statement reads in conditions and resource variables."""
        body = self.body
        keys: set[str] = set()
        for condition in body.conditions:
            keys |= condition.referenced_keys
        for template in body.templates:
            keys |= template.referenced_keys
        return frozenset(keys)

    def __repr__(self) -> str:
        return f"<CompiledStatement {self.policy_name}[{self.statement.index}] {self.statement.effect.value}>"


class CompiledPolicy:
    """A policy's action index plus lazily compiled statements.

    Two index shapes, by size. A small policy (most: an inline or managed policy of a few
    statements) keeps one action test per statement, shared by every statement with the same
    Action/NotAction (see :func:`_action_test_of`), and finds an action's candidates by testing
    each: dicts and lists per policy would cost ~1 KiB for 5 statements (36 MiB at 100,000).
    A large policy (more than ``_SMALL_POLICY`` statements) indexes exact actions in a dict and
    service-prefixed patterns per service, so an action touches only what can match it.
    """

    __slots__ = (
        "_by_service",
        "_exact",
        "_fingerprint",
        "_general",
        "_memo",
        "_referenced",
        "_tests",
        "policy",
        "statements",
    )

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        variables = policy.variables_enabled
        name = policy.name
        self.statements = tuple(CompiledStatement(s, name, variables) for s in policy.statements)
        self._tests: tuple[ActionTest, ...] | None = None
        self._exact: dict[str, list[int]] | None = None
        self._by_service: dict[str, list[tuple[ActionTest, int]]] | None = None
        self._general: list[tuple[ActionTest, int]] | None = None
        if len(self.statements) <= _SMALL_POLICY:
            self._tests = tuple(_action_test_of(s.action, s.not_action) for s in policy.statements)
        else:
            self._exact, self._by_service, self._general = {}, {}, []
            for position, statement in enumerate(policy.statements):
                self._index_statement(position, statement)
        self._memo: dict[str, tuple[CompiledStatement, ...]] = {}
        self._fingerprint: str | None = None
        self._referenced: frozenset[str] | None = None

    def _index_statement(self, position: int, statement: Statement) -> None:
        assert self._exact is not None and self._by_service is not None and self._general is not None
        if statement.not_action is not None:
            self._general.append((_action_test_of(None, statement.not_action), position))
            return
        for pattern in statement.action or ():
            lowered = _lower(pattern)
            if lowered == "*":
                self._general.append((_always, position))
            elif not has_wildcard(lowered):
                self._exact.setdefault(lowered, []).append(position)
            else:
                service, sep, _ = lowered.partition(":")
                test = compile_wildcard(lowered)
                if sep and not has_wildcard(service):
                    self._by_service.setdefault(service, []).append((test, position))
                else:
                    self._general.append((test, position))

    def candidates(self, action: str) -> tuple[CompiledStatement, ...]:
        """Statements whose Action/NotAction matches ``action`` (already lower-cased), in order."""
        found = self._memo.get(action)
        if found is None:
            found = self._find(action)
            if len(self._memo) >= _CANDIDATE_MEMO_SIZE:
                self._memo = {}
            self._memo[action] = found
        return found

    def _find(self, action: str) -> tuple[CompiledStatement, ...]:
        tests = self._tests
        if tests is not None:
            return tuple([st for st, test in zip(self.statements, tests, strict=True) if test(action)])
        assert self._exact is not None and self._by_service is not None and self._general is not None
        positions = set(self._exact.get(action, ()))
        service = action.partition(":")[0]
        for test, position in self._by_service.get(service, ()):
            if position not in positions and test(action):
                positions.add(position)
        for test, position in self._general:
            if position not in positions and test(action):
                positions.add(position)
        return tuple(self.statements[p] for p in sorted(positions))

    @property
    def fingerprint(self) -> str:
        """A content digest (name, kind, version, statements) identifying the policy in cache keys.

        Computed on first use only (the cached evaluator needs it, the plain one does not).
        """
        digest = self._fingerprint
        if digest is None:
            policy = self.policy
            text = json.dumps(
                [policy.name, policy.kind.value, policy.to_json()], sort_keys=True, separators=(",", ":")
            )
            digest = self._fingerprint = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
        return digest

    @property
    def referenced_keys(self) -> frozenset[str]:
        """Every context key (lower-cased) the policy's conditions and resource variables read."""
        keys = self._referenced
        if keys is None:
            collected: set[str] = set()
            for statement in self.statements:
                try:
                    collected |= statement.referenced_keys()
                except Exception:
                    continue
            keys = self._referenced = frozenset(collected)
        return keys


def _all_of(tests: tuple[Callable[[Context], bool], ...]) -> Callable[[Context], bool]:
    """One predicate for a statement's conditions (AND'ed; the first false one ends it).

    A lone condition is its own predicate, which saves the hot path a Python call.
    """
    if len(tests) == 1:
        return tests[0]

    def all_hold(context: Context) -> bool:
        for test in tests:
            if not test(context):
                return False
        return True

    return all_hold


def _none_of(tests: tuple[ActionTest, ...]) -> ActionTest:
    """NotAction: the action matches none of the patterns."""

    def matches(action: str) -> bool:
        for test in tests:
            if test(action):
                return False
        return True

    return matches


def _any_of(tests: tuple[ActionTest, ...]) -> ActionTest:
    """Action with several patterns: the action matches one of them."""

    def matches(action: str) -> bool:
        for test in tests:
            if test(action):
                return True
        return False

    return matches


def _action_test(pattern: str) -> ActionTest:
    lowered = _lower(pattern)
    return _always if lowered == "*" else compile_wildcard(lowered)


#: One lower-cased copy of each action pattern, shared by every statement that spells it so.
_lowered: Memo[str, str] = Memo("evaluate.lowered_actions", 65536)


def _lower(pattern: str) -> str:
    found = _lowered.get(pattern)
    return found if found is not None else _lowered.put(pattern, pattern.lower())


#: A statement's action test by its (Action, NotAction) values: statements spelling the same
#: actions share one predicate. Bounded; a miss only builds an equal predicate again.
_action_tests: Memo[tuple[tuple[str, ...] | None, tuple[str, ...] | None], ActionTest] = Memo(
    "evaluate.action_tests", 65536
)


def _action_test_of(action: tuple[str, ...] | None, not_action: tuple[str, ...] | None) -> ActionTest:
    """The predicate "``Action``/``NotAction`` matches this lower-cased action" (memoized):
    an exact name is one C-level ``==`` (a set's ``in`` for several), a wildcard its matcher."""
    key = (action, not_action)
    found = _action_tests.get(key)
    if found is not None:
        return found
    if not_action is not None:
        test = _none_of(tuple(_action_test(p) for p in not_action))
    else:
        lowered = [_lower(p) for p in action or ()]
        if "*" in lowered:
            test = _always
        elif not any(has_wildcard(p) for p in lowered):
            test = lowered[0].__eq__ if len(lowered) == 1 else frozenset(lowered).__contains__
        else:
            exact = frozenset(p for p in lowered if not has_wildcard(p))
            tests = tuple(compile_wildcard(p) for p in lowered if has_wildcard(p))
            test = _any_of((exact.__contains__, *tests) if exact else tests)
    return _action_tests.put(key, test)


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Build the compiled form of ``policy`` (without attaching it)."""
    return CompiledPolicy(policy)


def compiled(policy: Policy) -> CompiledPolicy:
    """The compiled form attached to ``policy``, built and attached on first call.

    # INVARIANT: a Policy is immutable, so its compiled form never goes stale; the slot is
    # written once (under a lock, so two threads never build it twice) and then only read.
    """
    found = policy._compiled
    if found is not None:  # the hit stays inline: no call on the hot path
        return found  # type: ignore[no-any-return]
    return attach_once(policy, CompiledPolicy, _COMPILE_LOCK)


def attach_once(owner: Any, build: Callable[[Any], T], lock: threading.Lock) -> T:
    """``owner._compiled``, building it with ``build(owner)`` and attaching it if still unset.

    The slow half of :func:`compiled` and :func:`~iamguard.evaluate.policy_set.compiled_set`
    (each reads the slot itself first). ``owner`` is a frozen value object, so the slot is
    written once, under ``lock`` (two threads never build two), through ``object.__setattr__``.
    """
    with lock:
        found = owner._compiled
        if found is None:
            found = build(owner)
            object.__setattr__(owner, "_compiled", found)
    return found  # type: ignore[no-any-return]
