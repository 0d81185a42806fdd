"""A decision cache in front of an :class:`~iamguard.evaluate.engine.Evaluator` (stage 4).

The three parts of ``cachetools.cached``, kept explicit: a bounded store whose entries expire,
a key that names *everything* the decision depends on, and a judge of whether caching pays.
The key is:

* the caller: ARN, role ARN, account, principal type, service flag (what principal matching reads);
* the request: action (as written, so the cached Decision echoes it exactly) and resource;
* the policies: a content fingerprint of every policy in its slot (identity, boundary, session,
  resource), the resource account and ``PolicySet.generation`` -- a bumped generation makes
  every older entry unreachable, so invalidation never hunts for keys;
* the context: only the values of the keys the policies read (conditions and policy variables),
  taken from the request context or, failing that, from the principal's derived keys
  (tags, MFA, ...). A request differing only in keys no policy reads shares the entry.

Why not a ``cachetools.TTLCache``: its insert runs ~1 µs of Python (linked lists, timer), more
than an uncached decision. The store here is an ``OrderedDict`` used first-in first-out: a
lookup, an insert and an eviction are each one C call, atomic under the GIL, so no lock is
taken (two threads evicting at once remove one entry too many, never one too few).

Why a judge: a miss still costs its key, its lookup, its insert and the eviction of a cold
entry on top of the decision (at 10 statements twice the instructions of the 0.4 µs decision,
three times its time), so a stream that rarely repeats is slower cached than not
(issue 12: the cache must never make a workload slower). Where caching stops paying depends on
what this evaluator's decisions cost and on the stream's hit rate, so it is measured rather than
guessed: every so often a short *probe* times ``_PROBE`` calls each way (caching, with the
stream's real hit rate; bypassing, the evaluator alone) and the cheaper way runs until the next
probe. Answers are the same either way: a bypassed call is the uncached decision, which a cached
one always equals.

The key part that comes from the policies (fingerprints, generation, the context keys they
read) is computed once per PolicySet and kept on its compiled form
(:mod:`iamguard.evaluate.policy_set`), never in a table keyed by ``id()``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from time import monotonic as _monotonic
from time import perf_counter_ns as _clock
from typing import Any

from iamguard.decision import Decision
from iamguard.errors import InvalidParameterError
from iamguard.evaluate.engine import Evaluator, principal_context_keys
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.evaluate.policy_set import CompiledPolicySet, compiled_set

__all__ = ["CachedEvaluator"]

#: While caching: misses between two probes (a stream that nearly always hits is never probed).
_WINDOW = 2048
#: While bypassing: calls between two probes, counted down in rounds of ``_ROUND``. A change
#: of workload is seen within ~30 ms at 1 µs a decision; the probes cost ~0.5% of a call.
_BYPASS = 32768
#: At most 256: CPython keeps the ints up to 256 made, so counting down from it allocates
#: nothing (counting down from 8,192 allocated and freed an int per call: ~120 of the ~1,100
#: instructions a bypassed call adds at kit-10, callgrind).
_ROUND = 256
#: Calls timed each way in one probe.
_PROBE = 64
#: The slowest ``1/_TRIM`` of a probe's calls each way are dropped (preemptions, collections).
_TRIM = 16
#: Caching must time at most this fraction of bypassing to be kept. Why not 1.0: a probe's 64
#: calls see less than a caching window costs (evicting and freeing cold entries, the cached
#: decisions crowding the evaluator's own data out of the CPU caches). On the 2,000-principal
#: kit's mix stream the probes timed the two ways within a few percent, and caching the whole
#: stream came out 18% slower than not caching (benchmarks/results/kits_latest.md).
_MARGIN = 0.9
#: Misses before the next probe when caching was just chosen over bypassing: a trial, so a
#: probe that misjudged a stream by noise costs 256 dear misses, not a window of 2,048 (at the
#: kits' 2,000-principal mix such flips cost ~7% of all time before the trial).
_TRIAL = 256

#: Values of ``CachedEvaluator._left`` besides 0 (caching) and a bypass countdown (> 1).
_START_PROBE = 1
_PROBING = -1

_ABSENT = object()


class CachedEvaluator:
    """Caches decisions of ``evaluator`` (default: a new :class:`Evaluator`); thread-safe.

    ``maxsize`` bounds the number of cached decisions (the oldest inserted goes first), ``ttl``
    (seconds) how long one is reused. Cached and uncached evaluation always agree (a property
    test checks it), whether a call was served by the cache or bypassed it.
    """

    def __init__(
        self, evaluator: Evaluator | None = None, *, maxsize: int = 65536, ttl: float = 300.0
    ) -> None:
        if maxsize < 1:
            raise InvalidParameterError("maxsize must be at least 1")
        self._evaluator = evaluator if evaluator is not None else Evaluator()
        self._ttl = ttl
        self._maxsize = maxsize
        # key -> (decision, expiry). INVARIANT: every operation on it is one C call (atomic
        # under the GIL), so threads share it without a lock.
        self._entries: OrderedDict[Any, tuple[Decision, float]] = OrderedDict()
        # The mode: 0 caching, > 1 bypassing (calls left in this round; _rounds more rounds
        # before the next probe), _START_PROBE or _PROBING (see _probe). Plain ints: a racing
        # thread can only shift a probe by a call or spoil one probe's samples, never an answer.
        self._left = 0
        self._rounds = 0
        self._misses = 0  # while caching, since the last probe
        self._samples: tuple[list[int], list[int]] = ([], [])  # the probe's (bypassed, cached)
        self._probes = 0
        self._caching_judged = True  # what the last probe chose (True: caching)

    @property
    def evaluator(self) -> Evaluator:
        """The evaluator whose decisions are cached."""
        return self._evaluator

    def evaluate(self, request: Request, policies: PolicySet) -> Decision:
        """The cached decision for this request, evaluating (and storing) it on a miss; or,
        while bypassing is judged cheaper, the evaluator's decision."""
        left = self._left
        if left:
            if left > 1:  # bypassing (a literal: _START_PROBE, a global, costs a lookup)
                self._left = left - 1
                return self._evaluator.evaluate(request, policies)
            if left == _START_PROBE and self._rounds > 0:
                self._rounds -= 1
                self._left = _ROUND
                return self._evaluator.evaluate(request, policies)
            return self._probe(request, policies)
        compiled = policies._compiled or compiled_set(policies)
        token, keys, values_of = compiled._key_part or compiled.key_part(policies)
        claimant = compiled.claimant
        if claimant is not None and claimant[0] is request.principal:
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
            return entry[0]
        decision = self._evaluator.evaluate(request, policies)
        entries[key] = (decision, now + self._ttl)
        if len(entries) > self._maxsize:
            try:
                entries.popitem(last=False)
            except KeyError:  # another thread emptied it
                pass
        misses = self._misses = self._misses + 1
        if misses >= _WINDOW:
            self._left = _START_PROBE
        return decision

    __call__ = evaluate

    def _probe(self, request: Request, policies: PolicySet) -> Decision:
        """One timed call of a probe: the first ``_PROBE`` calls one way, the next ``_PROBE``
        the other (blocks, not alternate calls: a stream that alternates hot and cold requests
        would give one way all the hits), then :meth:`_judge`. The order flips each probe.

        Each call runs :meth:`evaluate` itself in the mode being timed, so a timed call costs
        what a call in that mode costs. INVARIANT: the mode set here is read by the very next
        line; another thread can change it in between only into another valid mode, and then
        this call counts for that mode's samples (one spoiled sample, trimmed or diluted).
        """
        if self._left == _START_PROBE:
            self._left = _PROBING
            self._samples = ([], [])
            self._misses = 0
            self._probes += 1
        samples = self._samples
        taken = len(samples[0]) + len(samples[1])
        caching = (taken < _PROBE) == bool(self._probes & 1)
        self._left = 0 if caching else _START_PROBE + 1
        start = _clock()
        decision = self.evaluate(request, policies)
        elapsed = _clock() - start
        self._left = _PROBING
        samples[caching].append(elapsed)
        if taken + 1 >= 2 * _PROBE:
            self._judge(*samples)
        return decision

    def _judge(self, bypassed: Sequence[int], cached: Sequence[int]) -> None:
        """Run the cheaper way until the next probe: caching while its calls cost at most
        ``_MARGIN`` of the evaluator's alone, else bypass for about ``_BYPASS`` calls.

        Trimmed means, not medians: a caching call is a cheap hit or a dear miss, and the
        median of that two-humped spread is one of the humps, whatever the hit rate."""
        caching = _trimmed_mean(cached) <= _MARGIN * _trimmed_mean(bypassed)
        if caching and not self._caching_judged:
            self._misses = _WINDOW - _TRIAL  # a trial window: probe again soon
        self._caching_judged = caching
        self._rounds = 0 if caching else _BYPASS // _ROUND - 1
        self._left = 0 if caching else _ROUND

    def clear(self) -> None:
        """Forget every cached decision."""
        self._entries.clear()

    def __len__(self) -> int:
        """Cached decisions that have not expired."""
        now = _monotonic()
        return sum(1 for _, expiry in list(self._entries.values()) if now < expiry)


def _trimmed_mean(samples: Sequence[int]) -> float:
    """The mean of ``samples`` without the slowest ``1/_TRIM`` of them (a preempted or
    collecting call is an outlier only ever upwards)."""
    kept = sorted(samples)[: len(samples) - len(samples) // _TRIM]
    return sum(kept) / len(kept) if kept else 0.0


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
