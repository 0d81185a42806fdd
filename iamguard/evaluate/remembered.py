"""What a guard remembers between requests, in one object built on :class:`~iamguard._memo.Memo`.

A guard (:mod:`iamguard.enforce.guard`) holds configuration and one :class:`DecisionMemory`;
everything it used to keep in private dicts lives here, each part a bounded :class:`Memo` with
an explicit key that names what the value depends on:

* ``resolved``: a stored principal's :class:`PolicySet`, keyed by ``(ARN, store generation)``;
  the caller reads the generation first on every check, so a write (a detached policy, a deleted
  user) makes the old entry unreachable for the very next request.
* ``sets``: one PolicySet object per distinct content, so the evaluator's per-set compiled form
  (:mod:`iamguard.evaluate.policy_set`) is built once.
* ``allowed``: Allows already decided, keyed by principal and context *objects*, action,
  resource and generation (see :meth:`DecisionMemory.allow_for`). Never a denial.
* ``session_texts`` / ``managed``: parsed session policies (by text; by ARN, policy id and
  version id, which name an immutable document).

Why some keys hold ``id()``: a :class:`~iamguard.principal.Principal` carries a tags mapping and
a request context is a mapping, neither hashable, and hashing their contents on every check
would cost more than the decision it saves. INVARIANT: each such entry's value holds the objects
whose ids are in its key, and :class:`Memo` evicts a key with its value, so an id can never be
reused by another object while its entry exists (hits also check ``is``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from iamguard._memo import Memo
from iamguard.context import ContextValue
from iamguard.decision import Decision
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import Policy
from iamguard.principal import Principal

__all__ = ["DecisionMemory"]

_Allowed = tuple[Principal, Mapping[str, ContextValue], Decision]


class DecisionMemory:
    """Remembered policy sets, parsed session policies and Allows for one guard (thread-safe).

    ``maxsize`` bounds each of ``resolved``, ``sets`` and ``allowed``; ``policies`` bounds the
    parsed session policies.
    """

    __slots__ = ("allowed", "managed", "resolved", "session_texts", "sets")

    def __init__(self, *, maxsize: int = 4096, policies: int = 1024) -> None:
        self.resolved: Memo[tuple[str, object], PolicySet] = Memo("guard.resolved", maxsize)
        self.sets: Memo[tuple[object, ...], PolicySet] = Memo("guard.sets", maxsize)
        self.allowed: Memo[tuple[object, ...], _Allowed] = Memo("guard.allowed", maxsize)
        self.session_texts: Memo[str, Policy] = Memo("guard.session_texts", policies)
        self.managed: Memo[tuple[str, str, str], Policy] = Memo("guard.managed", policies)

    # ------------------------------------------------------------ policy sets

    def resolved_at(self, arn: str, generation: object) -> PolicySet | None:
        """Stored principal ``arn``'s PolicySet if it was resolved at ``generation``."""
        return self.resolved.get((arn, generation))

    def remember_resolved(self, arn: str, generation: object, policies: PolicySet) -> None:
        """Remember ``policies`` for ``arn`` only when resolved at ``generation`` (read before)."""
        if policies.generation == generation:
            self.resolved.put((arn, generation), policies)

    def canonical(
        self, policies: PolicySet, resource_policy: Policy | None, resource_account: str | None
    ) -> PolicySet:
        """``policies`` with the resource policy and account set: one object per distinct
        content, so the evaluator's memo of the compiled set hits (INVARIANT in the module
        docstring: the stored PolicySet keeps every keyed object alive)."""
        key = (
            tuple(map(id, policies.identity)),
            id(policies.boundary),
            None if policies.session is None else tuple(map(id, policies.session)),
            id(resource_policy),
            resource_account,
            policies.generation,
        )
        found = self.sets.get(key)
        if found is None:
            found = self.sets.put(
                key, replace(policies, resource=resource_policy, resource_account=resource_account)
            )
        return found

    # ------------------------------------------------------------ decisions

    def allow_for(
        self,
        principal: Principal,
        context: Mapping[str, ContextValue],
        action: str,
        resource: str,
        generation: object,
    ) -> Decision | None:
        """The Allow remembered for exactly these objects and inputs at ``generation``.

        INVARIANT: the guard's check inlines this lookup (same key, same ``is`` checks); a change
        to the key here is a change there.
        """
        entry = self.allowed.get((id(principal), id(context), action, resource, generation))
        if entry is not None and entry[0] is principal and entry[1] is context:
            return entry[2]
        return None

    def remember_allow(
        self,
        principal: Principal,
        context: Mapping[str, ContextValue],
        action: str,
        resource: str,
        generation: object,
        decision: Decision,
    ) -> None:
        """Remember ``decision`` if it allows. The caller vouches that ``context`` cannot change
        and that the decision is a pure function of these inputs and the store at ``generation``."""
        if decision.allowed:
            self.allowed.put(
                (id(principal), id(context), action, resource, generation), (principal, context, decision)
            )

    # ------------------------------------------------------------ parsed policies

    def session_policy(self, text: str, parse: Callable[[str], Policy]) -> Policy:
        """``parse(text)``, remembered by text (a pure function of it)."""
        return self.session_texts.get_or_compute(text, lambda: parse(text))

    def clear(self) -> None:
        for memo in (self.resolved, self.sets, self.allowed, self.session_texts, self.managed):
            memo.clear()
