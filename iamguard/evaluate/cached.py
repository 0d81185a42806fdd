"""A decision cache in front of an :class:`~iamguard.evaluate.engine.Evaluator` (stage 4).

The three parts of ``cachetools.cached``, kept explicit: a ``TTLCache`` (bounded memory, entries
expire), a key that names *everything* the decision depends on, and a lock (``TTLCache`` is not
thread-safe). The key is:

* the caller: ARN, role ARN, account, principal type, service flag (what principal matching reads);
* the request: action (as written, so the cached Decision echoes it exactly) and resource;
* the policies: a content fingerprint of every policy in its slot (identity, boundary, session,
  resource), the resource account and ``PolicySet.generation`` -- a bumped generation makes
  every older entry unreachable, so invalidation never hunts for keys;
* the context: only the values of the keys the policies read (conditions and policy variables),
  taken from the request context or, failing that, from the principal's derived keys
  (tags, MFA, ...). A request differing only in keys no policy reads shares the entry.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from time import monotonic as _monotonic
from typing import Any

from cachetools import TTLCache

from iamguard.decision import Decision
from iamguard.evaluate.compile import compiled
from iamguard.evaluate.engine import Evaluator, principal_context_keys
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Policy

__all__ = ["CachedEvaluator"]

#: How many distinct PolicySet objects keep their precomputed key part (reset when exceeded).
_SET_MEMO_SIZE = 1024
_ABSENT = object()


class _SetInfo:
    """What one PolicySet contributes to cache keys, computed once per PolicySet object."""

    __slots__ = ("keys", "policies", "token")

    def __init__(self, policies: PolicySet) -> None:
        self.policies = policies  # INVARIANT: held so id(policies) cannot be reused while memoized
        referenced: set[str] = set()

        def part(policy: Policy) -> str:
            cp = compiled(policy)
            referenced.update(cp.referenced_keys)
            return cp.fingerprint

        parts = (
            tuple(part(p) for p in policies.identity),
            part(policies.boundary) if policies.boundary is not None else None,
            tuple(part(p) for p in policies.session) if policies.session is not None else None,
            part(policies.resource) if policies.resource is not None else None,
            policies.resource_account,
            policies.generation,
        )
        # One string (its hash is computed once and cached by str) instead of a nested tuple
        # that would be re-hashed on every lookup.
        self.token: str = repr(parts)
        self.keys: tuple[str, ...] = tuple(sorted(referenced))


class _Store(TTLCache):  # type: ignore[type-arg]
    """A TTLCache that removes from ``mirror`` whatever it evicts or expires.

    The mirror (a plain dict of key -> (decision, expiry)) serves hits without the lock:
    ``dict.get`` is atomic, and the expiry stored beside each decision is checked on read, so an
    entry the TTLCache has not yet swept is never served stale.
    """

    def __init__(self, maxsize: int, ttl: float, mirror: dict[Any, tuple[Decision, float]]) -> None:
        super().__init__(maxsize=maxsize, ttl=ttl)
        self._mirror = mirror

    def popitem(self) -> tuple[Any, Any]:
        key, value = super().popitem()
        self._mirror.pop(key, None)
        return key, value

    def expire(self, time: float | None = None) -> Any:
        expired = super().expire(time)
        for key, _ in expired:
            self._mirror.pop(key, None)
        return expired


class CachedEvaluator:
    """Caches decisions of ``evaluator`` (default: a new :class:`Evaluator`); thread-safe.

    ``maxsize`` bounds the number of cached decisions, ``ttl`` (seconds) how long one is reused.
    Writes go through the ``TTLCache`` under a lock (it evicts and expires); hits are read from
    its lock-free mirror. Cached and uncached evaluation always agree (a property test checks it).
    """

    def __init__(
        self, evaluator: Evaluator | None = None, *, maxsize: int = 65536, ttl: float = 300.0
    ) -> None:
        self._evaluator = evaluator if evaluator is not None else Evaluator()
        self._ttl = ttl
        self._mirror: dict[Any, tuple[Decision, float]] = {}
        self._cache = _Store(maxsize, ttl, self._mirror)
        self._lock = threading.Lock()
        self._sets: dict[int, _SetInfo] = {}

    @property
    def evaluator(self) -> Evaluator:
        """The evaluator whose decisions are cached."""
        return self._evaluator

    def evaluate(self, request: Request, policies: PolicySet) -> Decision:
        """The cached decision for this request, evaluating (and storing) it on a miss."""
        info = self._sets.get(id(policies))
        if info is None or info.policies is not policies:
            info = self._set_info(policies)
        principal = request.principal
        key = (
            principal.arn,
            principal.role_arn,
            principal.account,
            principal.type,
            principal.is_service,
            request.action,
            request.resource,
            info.token,
            _context_part(request, info.keys) if info.keys else None,
        )
        entry = self._mirror.get(key)
        if entry is not None and _monotonic() < entry[1]:
            return entry[0]
        decision = self._evaluator.evaluate(request, policies)
        with self._lock:
            self._cache[key] = decision
            self._mirror[key] = (decision, _monotonic() + self._ttl)
        return decision

    __call__ = evaluate

    def clear(self) -> None:
        """Forget every cached decision (and the per-PolicySet key parts)."""
        with self._lock:
            self._cache.clear()
            self._mirror.clear()
            self._sets = {}

    def __len__(self) -> int:
        with self._lock:
            self._cache.expire()
            return len(self._cache)

    def _set_info(self, policies: PolicySet) -> _SetInfo:
        info = _SetInfo(policies)
        sets = self._sets
        if len(sets) >= _SET_MEMO_SIZE:
            sets = self._sets = {}
        sets[id(policies)] = info
        return info


def _context_part(request: Request, keys: tuple[str, ...]) -> tuple[Any, ...]:
    """The values (or absence) of ``keys`` in the context the evaluator will see."""
    context = request.context
    derived: Mapping[str, Any] | None = None
    values: list[Any] = []
    for key in keys:
        value = context.get(key, _ABSENT)
        if value is _ABSENT:
            if derived is None:
                derived = principal_context_keys(request.principal)
            value = derived.get(key, _ABSENT)
        values.append(None if value is _ABSENT else (value,))
    return tuple(values)
