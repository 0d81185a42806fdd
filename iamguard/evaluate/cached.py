"""A decision cache in front of an :class:`~iamguard.evaluate.engine.Evaluator` (stage 4).

The three parts of ``cachetools.cached``, kept explicit: a bounded store whose entries expire,
a key that names *everything* the decision depends on, and a lock for evictions. The key is:

* the caller: ARN, role ARN, account, principal type, service flag (what principal matching reads);
* the request: action (as written, so the cached Decision echoes it exactly) and resource;
* the policies: a content fingerprint of every policy in its slot (identity, boundary, session,
  resource), the resource account and ``PolicySet.generation`` -- a bumped generation makes
  every older entry unreachable, so invalidation never hunts for keys;
* the context: only the values of the keys the policies read (conditions and policy variables),
  taken from the request context or, failing that, from the principal's derived keys
  (tags, MFA, ...). A request differing only in keys no policy reads shares the entry.

Why not a ``cachetools.TTLCache``: a miss must cost little more than the decision it stores
(issue 12: a miss may add at most 10% to an uncached decision of ~0.7 µs), and a ``TTLCache``
insert runs ~1 µs of Python (its linked lists and timer). The store here is an
``OrderedDict`` used first-in first-out: an insert and an eviction are C calls, a hit is one
``get`` plus the expiry stored beside the decision, and no lock is taken except to evict.
A stream that does not repeat gains nothing from any cache and pays for its keys, so the
evaluator judges every 1,024 misses whether hits are at least a third of the lookups; when
not, the next calls go straight to the evaluator for a while, then caching is tried again.
The key part that comes from the policies (fingerprints, generation, the context keys they
read) is computed once per PolicySet and kept on its compiled form
(:mod:`iamguard.evaluate.policy_set`), never in a table keyed by ``id()``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from time import monotonic as _monotonic
from typing import Any

from iamguard.decision import Decision
from iamguard.errors import InvalidParameterError
from iamguard.evaluate.engine import Evaluator, principal_context_keys
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.evaluate.policy_set import CompiledPolicySet, compiled_set

__all__ = ["CachedEvaluator"]

#: Misses between two judgements of whether caching pays (see ``CachedEvaluator._judge``).
_WINDOW = 1024
#: Caching pays when at least one lookup in this many is a hit.
_PAYS = 3
#: A workload judged not to repeat skips the cache for this many times the judged calls.
_BYPASS = 16

_ABSENT = object()


class CachedEvaluator:
    """Caches decisions of ``evaluator`` (default: a new :class:`Evaluator`); thread-safe.

    ``maxsize`` bounds the number of cached decisions (the oldest inserted goes first), ``ttl``
    (seconds) how long one is reused. Cached and uncached evaluation always agree (a property
    test checks it).
    """

    def __init__(
        self, evaluator: Evaluator | None = None, *, maxsize: int = 65536, ttl: float = 300.0
    ) -> None:
        if maxsize < 1:
            raise InvalidParameterError("maxsize must be at least 1")
        self._evaluator = evaluator if evaluator is not None else Evaluator()
        self._ttl = ttl
        self._maxsize = maxsize
        # key -> (decision, expiry). INVARIANT: every single operation on it is one C call
        # (atomic under the GIL); only eviction, which checks then pops, takes the lock.
        self._entries: OrderedDict[Any, tuple[Decision, float]] = OrderedDict()
        self._lock = threading.Lock()
        # Whether caching pays (see _judge): hits and misses since the last judgement, and how
        # many more calls go straight to the evaluator. Plain ints: a lost update under threads
        # only shifts a judgement by a call.
        self._hits = 0
        self._misses = 0
        self._bypass = 0

    @property
    def evaluator(self) -> Evaluator:
        """The evaluator whose decisions are cached."""
        return self._evaluator

    def evaluate(self, request: Request, policies: PolicySet) -> Decision:
        """The cached decision for this request, evaluating (and storing) it on a miss."""
        left = self._bypass
        if left:
            self._bypass = left - 1
            return self._evaluator.evaluate(request, policies)
        compiled = policies._compiled or compiled_set(policies)
        token, keys, values_of = compiled._key_part or compiled.key_part(policies)
        principal = request.principal
        claimant = compiled.claimant
        if claimant is not None and claimant[0] is principal:
            key: tuple[Any, ...] = (
                claimant[1],
                request.action,
                request.resource,
                _context_part(request, keys, values_of) if values_of else None,
            )
        else:
            key = _long_key(compiled, token, keys, values_of, request)
        entries = self._entries
        entry = entries.get(key)
        now = _monotonic()
        if entry is not None and now < entry[1]:
            self._hits += 1
            return entry[0]
        decision = self._evaluator.evaluate(request, policies)
        entries[key] = (decision, now + self._ttl)
        if len(entries) > self._maxsize:
            self._evict()
        misses = self._misses = self._misses + 1
        if misses >= _WINDOW:
            self._judge()
        return decision

    def _judge(self) -> None:
        """After ``_WINDOW`` misses: if fewer than one lookup in ``_PAYS`` was a hit, the key
        costs more than the hits save (a miss adds about 0.4 µs of key to an uncached decision
        of about 0.8, a hit saves about 0.5), so the next ``_BYPASS`` windows' worth of calls
        go straight to the evaluator; then caching is tried again. A non-repeating stream thus
        costs a few percent over the uncached evaluator instead of half again (issue 12: the
        cache never makes a workload slower). Answers are the same either way: a bypassed call
        is the uncached decision, which a cached one always equals."""
        hits, misses = self._hits, self._misses
        self._hits = self._misses = 0
        if hits * _PAYS < hits + misses:
            self._bypass = _BYPASS * (hits + misses)

    __call__ = evaluate

    def _evict(self) -> None:
        with self._lock:
            entries = self._entries
            while len(entries) > self._maxsize:
                entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every cached decision."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        """Cached decisions that have not expired."""
        now = _monotonic()
        return sum(1 for _, expiry in list(self._entries.values()) if now < expiry)


def _long_key(
    compiled: CompiledPolicySet,
    token: str,
    keys: tuple[str, ...],
    values_of: Callable[[Mapping[str, Any]], Any] | None,
    request: Request,
) -> tuple[Any, ...]:
    """The key of a caller other than the set's claimant: every principal field principal
    matching reads, one by one. The first caller to reach a set claims it: its fields and the
    set's token become one string (hashed once), so its keys are four items, not nine (the
    guard keeps one PolicySet per principal: there every caller is its set's claimant).

    INVARIANT: a caller's key has one form for as long as the set lives (the claim is made
    once), and the two forms never collide (a claimant's key has four items, this one nine).
    A Principal is frozen, so the fields behind its claimant string never change.
    """
    principal = request.principal
    fields = (
        token,
        principal.arn,
        principal.role_arn,
        principal.account,
        # The member's own value (a str, its hash cached): hashing an Enum member runs
        # Enum.__hash__ in Python.
        principal.type._value_,
        principal.is_service,
    )
    context = _context_part(request, keys, values_of) if values_of else None
    if compiled.claimant is None:
        compiled.claimant = (principal, repr(fields))
        return (compiled.claimant[1], request.action, request.resource, context)
    return (*fields, request.action, request.resource, context)


def _context_part(
    request: Request, keys: tuple[str, ...], values_of: Callable[[Mapping[str, Any]], Any]
) -> Any:
    """The values (or absence) of ``keys`` in the context the evaluator will see.

    Usually the request's context holds every key: then the part is what ``values_of`` (the
    set's ``itemgetter`` of its keys) reads, one C call: the value itself for one key, a tuple
    of them for several. (``tuple(map(context.get, keys))`` cost ~4,000 instructions: the
    tuple asks the map for a length hint it does not have.) Otherwise each value is wrapped
    (``(value,)``, ``None`` when absent) after looking in the principal's derived keys, behind
    a marker no plain part can begin with, so the two forms never collide.
    """
    context = request.context
    try:
        return values_of(context)
    except KeyError:
        pass
    derived: Mapping[str, Any] | None = None
    values: list[Any] = []
    for key in keys:
        value = context.get(key, _ABSENT)
        if value is _ABSENT:
            if derived is None:
                derived = principal_context_keys(request.principal)
            value = derived.get(key, _ABSENT)
        values.append(None if value is _ABSENT else (value,))
    return (_WRAPPED, *values)


#: Marks a wrapped context part (see _context_part), so it can never equal a plain one.
_WRAPPED = object()
