#!/usr/bin/env python
"""Cost of ``RefreshableCredentials.get()`` on the hot path (cached, no refresh due).

Every signed request calls ``get()`` once, so its cached path should cost little more than an
attribute read. Measured per call, as the median over ``--rounds`` rounds of ``--calls`` calls
(``time.perf_counter_ns``, loop overhead of an empty loop subtracted), for:

* ``attribute read``: ``holder.credentials`` (the floor);
* ``Credentials.get()``: a fixed value is its own source;
* ``RefreshableCredentials.get()`` (real clock): the default ``time.time`` clock and fresh
  credentials;
* ``... (fixed epoch clock)``: a constant float clock, isolating the clock read from the
  window check;
* ``... (fixed datetime clock)``: a constant aware-datetime clock (how tests inject time),
  which pays one ``.timestamp()`` per call.

Run: ``python benchmarks/credentials_hot_path.py [--calls 100000] [--rounds 15]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from iamguard.credentials.provider import Credentials
from iamguard.credentials.refresh import RefreshableCredentials


class _Holder:
    __slots__ = ("credentials",)

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials


def _per_call_ns(body: Callable[[int], None], calls: int, rounds: int, overhead: float) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        body(calls)
        samples.append((time.perf_counter_ns() - start) / calls)
    return max(statistics.median(samples) - overhead, 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)

    now = datetime.now(timezone.utc)
    creds = Credentials("ASIABENCH", "secret", "token", expiration=now + timedelta(hours=12), source="bench")
    holder = _Holder(creds)

    def never_called() -> None:  # refresh must not run: the credentials stay fresh
        return None

    refreshing = RefreshableCredentials(never_called, initial=creds)
    epoch = now.timestamp()
    fixed_epoch = RefreshableCredentials(never_called, initial=creds, clock=lambda: epoch)
    fixed = RefreshableCredentials(never_called, initial=creds, clock=lambda: now)

    def empty(n: int) -> None:
        for _ in range(n):
            pass

    def attribute(n: int) -> None:
        h = holder
        for _ in range(n):
            h.credentials  # noqa: B018  the read is what is measured

    def fixed_value(n: int) -> None:
        get = creds.get
        for _ in range(n):
            get()

    def refreshable(n: int) -> None:
        get = refreshing.get
        for _ in range(n):
            get()

    def refreshable_fixed_epoch_clock(n: int) -> None:
        get = fixed_epoch.get
        for _ in range(n):
            get()

    def refreshable_fixed_clock(n: int) -> None:
        get = fixed.get
        for _ in range(n):
            get()

    overhead = _per_call_ns(empty, args.calls, args.rounds, 0.0)
    rows = [
        ("attribute read", _per_call_ns(attribute, args.calls, args.rounds, overhead)),
        ("Credentials.get()", _per_call_ns(fixed_value, args.calls, args.rounds, overhead)),
        ("RefreshableCredentials.get()", _per_call_ns(refreshable, args.calls, args.rounds, overhead)),
        (
            "RefreshableCredentials.get() (fixed epoch clock)",
            _per_call_ns(refreshable_fixed_epoch_clock, args.calls, args.rounds, overhead),
        ),
        (
            "RefreshableCredentials.get() (fixed datetime clock)",
            _per_call_ns(refreshable_fixed_clock, args.calls, args.rounds, overhead),
        ),
    ]
    assert (
        refreshing.get() is creds and fixed.get() is creds and fixed_epoch.get() is creds
    )  # no refresh happened
    print(
        f"median ns per call over {args.rounds} rounds x {args.calls} calls (loop overhead {overhead:.1f} ns removed)"
    )
    for name, ns in rows:
        print(f"  {name:<52} {ns:8.1f} ns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
