"""The one kind of remembered state iamguard keeps: a bounded memo with explicit keys.

Every layer that remembers a computed value (a compiled pattern, a parsed header prefix, an
action index, a resolved policy set) uses :class:`Memo` instead of a module-level dict of its
own, so that each one is bounded (it evicts the oldest entries one by one, never "clear when
full", which turned a workload just past the bound into a miss on every call), safe under
threads, keyed by values the caller names (never ``id()``, which a collected object hands on
to the next one), and listed in one place (:func:`memo_sizes`) for tests and diagnostics.

Why not ``functools.lru_cache`` or a ``cachetools`` cache: hits are the hot path (≈0.05 µs
here against ≈0.3 µs for a locked ``LRUCache`` read), so a hit is one ``dict.get`` without a
lock; and misses are on the load path (parsing 100,000 statements puts ~400,000 values), where
a ``cachetools`` insert plus its eviction ran ~5 µs of Python (1.8 of a 3.7 s profiled load).
So the memo is one ``collections.OrderedDict``: a put, its renewal and the eviction of the
oldest entry are C calls under a lock. The price is that a hit does not refresh the entry's
recency: eviction is oldest-inserted first (a FIFO; a put renews), which for memos of pure
functions costs at most one recomputation per eviction.

Keys must be hashable and must name everything the value depends on: where a value depends on
the store, the store generation belongs in the key (or the value carries it and the caller
checks it, as :class:`~iamguard.enforce.guard.Guard` does).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from iamguard.errors import InvalidParameterError

__all__ = ["Memo", "memo_sizes"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_REGISTRY: weakref.WeakSet[Memo[object, object]] = weakref.WeakSet()
_MISSING = object()


class Memo(Generic[K, V]):
    """A bounded, thread-safe ``key -> value`` memo (see the module docstring).

    ``name`` says what is remembered (shown by :func:`memo_sizes`); ``maxsize`` bounds entries.
    """

    __slots__ = ("__weakref__", "_entries", "_lock", "get", "maxsize", "name")

    def __init__(self, name: str, maxsize: int) -> None:
        if maxsize < 1:
            raise InvalidParameterError("maxsize must be at least 1")
        self.name = name
        self.maxsize = maxsize
        # Oldest first. INVARIANT: only put/clear change it, under the lock; reads take none.
        self._entries: OrderedDict[object, object] = OrderedDict()
        self._lock = threading.Lock()
        #: ``get(key)`` -> the value or ``None``: the dict's own ``get``, no Python frame.
        self.get: Callable[[K], V | None] = self._entries.get  # type: ignore[assignment]
        _REGISTRY.add(self)  # type: ignore[arg-type]

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` under ``key`` (evicting the oldest entry when full); returns it."""
        entries = self._entries
        with self._lock:
            entries[key] = value
            entries.move_to_end(key)  # a put renews the entry's place
            if len(entries) > self.maxsize:
                entries.popitem(last=False)
        return value

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """The remembered value for ``key``, computing and remembering it on a miss.

        ``compute`` runs outside the lock: two threads missing together may both compute (the
        values are equal by the memo's contract); neither waits for the other.
        """
        found = self._entries.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        return self.put(key, compute())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __repr__(self) -> str:
        return f"Memo({self.name!r}, {len(self)}/{self.maxsize})"


def memo_sizes() -> dict[str, tuple[int, int]]:
    """``name -> (entries, maxsize)`` for every live memo: where remembered state lives."""
    return {memo.name: (len(memo), memo.maxsize) for memo in list(_REGISTRY)}
