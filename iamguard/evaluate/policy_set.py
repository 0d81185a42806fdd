"""A :class:`PolicySet`'s compiled form: its action index and its cache-key part (stage 4).

Why here and not in module-level tables: an index belongs to the compiled object it indexes.
It is attached to the PolicySet on first evaluation (as a :class:`Policy` carries its
:class:`CompiledPolicy`), shared by every thread, and lives exactly as long as the set: the
guard keeps one PolicySet per stored principal and store generation, so 20,000 principals keep
20,000 indexes and none is rebuilt because a global table keyed by ``id()`` filled up (the
former ``_IDENTITY_INDEX_SIZE`` / ``_SET_MEMO_SIZE`` tables were emptied whenever 1,024 sets were
live, which made nearly every decision beyond ~1,000 principals rebuild its index).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from iamguard.evaluate.compile import CompiledPolicy, CompiledStatement, _StatementBody, attach_once, compiled
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import Policy
from iamguard.policy.wildcard import has_wildcard
from iamguard.principal import Principal

__all__ = ["CompiledPolicySet", "Side", "compiled_set", "first_applying"]

#: One compiled identity policy with the statements that can match the indexed action.
Candidates = tuple[tuple[CompiledPolicy, tuple[CompiledStatement, ...]], ...]

#: (token, referenced context keys, their getter): see :meth:`CompiledPolicySet.key_part`.
KeyPart = tuple[str, tuple[str, ...], Callable[[Mapping[str, Any]], Any] | None]


class Side:
    """The Deny or the Allow statements of one plan, fused for the verdict: whether one of them
    applies to a request is a question about its resource, mostly answered by C calls.

    Why: a principal's statements for one action mostly name resources as an exact ARN or a
    ``prefix*``; asking each statement in a Python loop touches a body, a matcher and its
    pattern per statement (on many principals each a cache miss), whereas
    ``resource.startswith(prefixes)`` and ``resource in exact`` ask all of them at once. A
    statement with conditions, policy variables, NotResource or another wildcard shape stays a
    body in ``rest``, asked as before. The verdict only needs *whether* one applies, so the
    order in which they are asked does not matter.
    """

    __slots__ = ("always", "exact", "prefixes", "rest")

    def __init__(
        self, always: bool, prefixes: tuple[str, ...], exact: frozenset[str], rest: tuple[_StatementBody, ...]
    ) -> None:
        #: Some statement applies to every resource (``Resource: "*"``, no condition).
        self.always = always
        #: ``prefix*`` patterns of unconditional statements (a tuple: ``str.startswith`` takes one).
        self.prefixes = prefixes or None
        #: Exact resource ARNs of unconditional statements.
        self.exact = exact or None
        #: The other statements' bodies, asked one by one.
        self.rest = rest

    def applies(self, resource: str, context: Mapping[str, Any] | None) -> bool:
        """Whether one of the statements applies (``context``: needed when ``rest`` reads it)."""
        if self.always:
            return True
        prefixes = self.prefixes
        if prefixes is not None and resource.startswith(prefixes):
            return True
        exact = self.exact
        if exact is not None and resource in exact:
            return True
        return first_applying(self.rest, resource, context)


def first_applying(
    bodies: Sequence[_StatementBody], resource: str, context: Mapping[str, Any] | None
) -> bool:
    """Whether any of ``bodies`` applies to ``resource`` in ``context``."""
    for body in bodies:
        if body.templates:
            if not body.resource_matches(resource, context):
                continue
        else:
            test = body.resource_test
            if test is not None and not test(resource):
                continue
        hold = body.conditions_hold
        if hold is None or hold(context):  # type: ignore[arg-type]
            return True
    return False


def _side(statements: list[CompiledStatement]) -> Side | None:
    """The fused form of ``statements`` (None when there are none)."""
    if not statements:
        return None
    always = False
    prefixes: list[str] = []
    exact: set[str] = set()
    rest: list[_StatementBody] = []
    for statement in statements:
        body = statement._body or statement.body
        if body.conditions_hold is not None:
            rest.append(body)
        elif not body.check_resource:
            always = True
        elif body.not_resource or body.templates or not _fuse_patterns(statement, prefixes, exact):
            rest.append(body)
    return Side(always, tuple(dict.fromkeys(prefixes)), frozenset(exact), tuple(rest))


def _fuse_patterns(statement: CompiledStatement, prefixes: list[str], exact: set[str]) -> bool:
    """Add the statement's Resource patterns to ``prefixes``/``exact`` when every one is an exact
    ARN or ``prefix*`` read literally (else add nothing and answer False)."""
    mine_prefixes: list[str] = []
    mine_exact: list[str] = []
    for pattern in statement.statement.resource or ():
        if statement.variables and "${" in pattern:
            return False  # rendered (``${*}``, ``${?}``, ``${$}``): left to its matcher
        head = pattern[:-1] if pattern.endswith("*") else None
        if head is not None and not has_wildcard(head):
            mine_prefixes.append(head)
        elif not has_wildcard(pattern):
            mine_exact.append(pattern)
        else:
            return False
    prefixes.extend(mine_prefixes)
    exact.update(mine_exact)
    return True


#: What the verdict needs for one action: the identity statements that can match it, Denies
#: apart from Allows, fused (None when there are none), and the context keys (lower-cased)
#: they read, or None when none reads the context.
Plan = tuple[Side | None, Side | None, frozenset[str] | None]

#: How many actions one set's index remembers: a set sees a bounded vocabulary, but a hostile
#: caller could send endless distinct names. Past it the oldest entry goes (never all of them).
INDEX_ACTIONS = 4096

_LOCK = threading.Lock()


class CompiledPolicySet:
    """The identity policies of one PolicySet indexed by action, plus its cache-key part.

    Why an index across policies: a principal with many attached documents would otherwise pay
    a Python loop over every policy on each decision, though an action reaches one or two.
    """

    __slots__ = ("_key_part", "actions", "claimant", "identity", "plans")

    def __init__(self, policies: PolicySet) -> None:
        self.identity = tuple(p._compiled or compiled(p) for p in policies.identity)
        #: lower-cased action -> the (policy, candidates) pairs that have candidates, in order.
        self.actions: dict[str, Candidates] = {}
        #: action as spelled in requests (and lower-cased) -> the verdict's plan (see :meth:`plan`).
        self.plans: dict[str, Plan] = {}
        self._key_part: KeyPart | None = None
        #: The first caller a CachedEvaluator saw with this set and its key string (see
        #: ``iamguard.evaluate.cached._long_key``); set once.
        self.claimant: tuple[Principal, str] | None = None

    def plan(self, spelling: str) -> Plan:
        """(deny bodies, allow bodies, context keys read) of the identity statements that can match
        the action spelled ``spelling`` (as the request wrote it: the hit needs no ``lower()``;
        spellings of one action share one plan). Compiles those bodies, so it raises where one
        cannot compile (the engine's full walk then records it)."""
        table = self.plans
        found = table.get(spelling)
        if found is None:
            action = spelling.lower()
            found = table.get(action)
            if found is None:
                found = self._plan(action)
                self._remember(action, found)
            self._remember(spelling, found)
        return found

    def _plan(self, action: str) -> Plan:
        denies: list[CompiledStatement] = []
        allows: list[CompiledStatement] = []
        keys: frozenset[str] | None = None
        for cp in self.identity:
            for statement in cp._memo.get(action) or cp.candidates(action):
                body = statement._body or statement.body
                if body.needs_context:
                    keys = statement.referenced_keys() | (keys or frozenset())
                (denies if statement.is_deny else allows).append(statement)
        return (_side(denies), _side(allows), keys)

    def _remember(self, spelling: str, plan: Plan) -> None:
        table = self.plans
        if len(table) >= INDEX_ACTIONS:
            table.pop(next(iter(table)), None)  # oldest first (dicts keep insertion order)
        table[spelling] = plan

    def candidates(self, action: str) -> Candidates:
        """The identity policies with statements whose Action/NotAction match ``action``."""
        found = self.actions.get(action)
        if found is None:
            found = tuple((cp, c) for cp in self.identity if (c := cp.candidates(action)))
            table = self.actions
            if len(table) >= INDEX_ACTIONS:
                table.pop(next(iter(table)), None)  # oldest first (dicts keep insertion order)
            table[action] = found
        return found

    def key_part(self, policies: PolicySet) -> KeyPart:
        """(token, referenced keys, their getter): what the set contributes to a cached
        decision's key.

        The token names the content (each policy's fingerprint in its slot), the resource
        account and the store generation, as one string (hashed once, then cached by ``str``);
        the keys are every context key the policies read, sorted; the getter is
        ``itemgetter(*keys)`` (``None`` without keys), which reads them from a context in one call.
        """
        part = self._key_part
        if part is None:
            part = self._key_part = _key_part(policies)
        return part


def _key_part(policies: PolicySet) -> KeyPart:
    referenced: set[str] = set()

    def fingerprint(policy: Policy) -> str:
        cp = policy._compiled or compiled(policy)
        referenced.update(cp.referenced_keys)
        return cp.fingerprint

    parts = (
        tuple(fingerprint(p) for p in policies.identity),
        fingerprint(policies.boundary) if policies.boundary is not None else None,
        tuple(fingerprint(p) for p in policies.session) if policies.session is not None else None,
        fingerprint(policies.resource) if policies.resource is not None else None,
        policies.resource_account,
        policies.generation,
    )
    keys = tuple(sorted(referenced))
    return repr(parts), keys, itemgetter(*keys) if keys else None


def compiled_set(policies: PolicySet) -> CompiledPolicySet:
    """The compiled form attached to ``policies``, built and attached on first call.

    INVARIANT: a PolicySet is immutable, so its compiled form never goes stale; the slot is
    written once (under a lock, so two threads never build two) and then only read.
    """
    found = policies._compiled
    if found is not None:
        return found  # type: ignore[no-any-return]
    return attach_once(policies, CompiledPolicySet, _LOCK)
