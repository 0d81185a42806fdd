"""RefreshableCredentials: scaled windows, single-flight under threads and tasks, failures.

All time is simulated (FakeClock); no test sleeps.
"""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamguard.credentials.provider import Credentials
from iamguard.credentials.refresh import (
    AsyncRefreshableCredentials,
    RefreshableCredentials,
    RefreshWindows,
    scaled_windows,
)
from iamguard.errors import RefreshError

from .conftest import FakeClock


def _creds(clock: FakeClock, lifetime: float, n: int = 0) -> Credentials:
    return Credentials(
        f"ASIA{n}", "secret", "token", expiration=clock.now + timedelta(seconds=lifetime), source="t"
    )


class Counter:
    """A refresh function that counts calls and hands out credentials of a fixed lifetime."""

    def __init__(self, clock: FakeClock, lifetime: float = 3600.0, fail: bool = False) -> None:
        self.clock, self.lifetime, self.fail, self.calls = clock, lifetime, fail, 0
        self.gate: threading.Event | None = None

    def __call__(self) -> Credentials:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail:
            raise ConnectionError("sts down")
        return _creds(self.clock, self.lifetime, self.calls)


@pytest.mark.parametrize(
    ("lifetime", "advisory", "mandatory"),
    [
        (900, 225, 112.5),  # 15-minute AssumeRole minimum: refresh ~3¾ min before, never "always"
        (3600, 900, 450),  # 1 h: botocore's 15-minute advisory window
        (21600, 900, 600),  # 6 h (IMDS): botocore's 15/10-minute windows
        (0, 0, 0),
    ],
)
def test_scaled_windows_formula(lifetime: float, advisory: float, mandatory: float) -> None:
    assert scaled_windows(lifetime) == RefreshWindows(advisory, mandatory)


@given(st.floats(min_value=0, max_value=10 * 86400))
def test_scaled_windows_ordered_and_inside_lifetime(lifetime: float) -> None:
    w = scaled_windows(lifetime)
    assert 0 <= w.mandatory <= w.advisory <= max(lifetime, 0) / 4 + 1e-9


def test_fifteen_minute_session_is_not_refreshed_on_every_call(clock: FakeClock) -> None:
    refresh = Counter(clock, lifetime=900)
    creds = RefreshableCredentials(refresh, initial=_creds(clock, 900), clock=clock, jitter=0)
    for _ in range(50):
        creds.get()
        clock.advance(10)  # 500 s in total, still before the advisory window (675 s)
    assert refresh.calls == 0


def test_fresh_advisory_mandatory_expired(clock: FakeClock) -> None:
    refresh = Counter(clock)
    creds = RefreshableCredentials(refresh, initial=_creds(clock, 3600), clock=clock, jitter=0)
    assert creds.get().access_key_id == "ASIA0" and refresh.calls == 0
    clock.advance(3600 - 900)  # advisory window starts
    assert creds.get().access_key_id == "ASIA1" and refresh.calls == 1
    clock.advance(3600 - 450)  # mandatory window of the new credentials
    assert creds.get().access_key_id == "ASIA2" and refresh.calls == 2
    clock.advance(10_000)  # long expired
    assert creds.get().access_key_id == "ASIA3"


def test_first_get_without_initial_fetches(clock: FakeClock) -> None:
    refresh = Counter(clock)
    creds = RefreshableCredentials(refresh, clock=clock)
    assert creds.get().access_key_id == "ASIA1"
    assert creds.get().access_key_id == "ASIA1" and refresh.calls == 1


def test_advisory_failure_keeps_current(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    refresh = Counter(clock, fail=True)
    creds = RefreshableCredentials(refresh, initial=_creds(clock, 3600), clock=clock, jitter=0)
    clock.advance(3600 - 800)
    assert creds.get().access_key_id == "ASIA0"
    assert refresh.calls == 1
    assert "advisory credential refresh" in caplog.text and "secret" not in caplog.text


def test_mandatory_failure_raises_refresh_error(clock: FakeClock) -> None:
    refresh = Counter(clock, fail=True)
    creds = RefreshableCredentials(refresh, initial=_creds(clock, 3600), clock=clock, jitter=0)
    clock.advance(3600 - 100)
    with pytest.raises(RefreshError, match="mandatory window"):
        creds.get()


def test_expired_credentials_never_handed_out(clock: FakeClock) -> None:
    refresh = Counter(clock, fail=True)
    creds = RefreshableCredentials(refresh, initial=_creds(clock, 3600), clock=clock, jitter=0)
    clock.advance(3600)
    with pytest.raises(RefreshError):
        creds.get()
    # a refresh that returns already-expired credentials is refused too
    stale = RefreshableCredentials(
        lambda: _creds(clock, -1), initial=_creds(clock, 60), clock=clock, jitter=0
    )
    clock.advance(60)
    with pytest.raises(RefreshError, match="already expired"):
        stale.get()


def test_refresh_returning_none_is_an_error(clock: FakeClock) -> None:
    creds = RefreshableCredentials(lambda: None, initial=_creds(clock, 60), clock=clock, jitter=0, name="env")
    clock.advance(59)
    with pytest.raises(RefreshError, match="env returned no credentials"):
        creds.get()


def test_non_expiring_refresh_result_stays(clock: FakeClock) -> None:
    forever = Credentials("AKIA", "s", source="x")
    creds = RefreshableCredentials(lambda: forever, clock=clock)
    clock.advance(10**9)
    assert creds.get() is forever


def test_jitter_moves_only_the_advisory_start(clock: FakeClock) -> None:
    windows = RefreshWindows(advisory=900, mandatory=450)
    starts = set()
    for seed in range(20):
        refresh = Counter(FakeClock(clock.now))
        c = FakeClock(clock.now)
        creds = RefreshableCredentials(
            refresh, initial=_creds(c, 3600), clock=c, windows=windows, jitter=0.5, rng=random.Random(seed)
        )
        # find the advisory start by stepping 10 s at a time
        step = 0
        while refresh.calls == 0:
            c.advance(10)
            step += 10
            creds.get()
        starts.add(step)
        assert 3600 - 900 - 450 <= step <= 3600 - 900 + 10
    assert len(starts) > 1


def test_twenty_threads_in_mandatory_window_refresh_once(clock: FakeClock) -> None:
    refresh = Counter(clock)
    refresh.gate = threading.Event()
    creds = RefreshableCredentials(refresh, initial=_creds(clock, 3600), clock=clock, jitter=0)
    clock.advance(3600 - 60)
    results: list[str] = []
    barrier = threading.Barrier(20)

    def worker() -> None:
        barrier.wait()
        results.append(creds.get().access_key_id)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    refresh.gate.set()
    for t in threads:
        t.join(10)
    assert refresh.calls == 1
    assert results == ["ASIA1"] * 20


def test_advisory_window_one_refresher_others_served_current(clock: FakeClock) -> None:
    refresh = Counter(clock)
    refresh.gate = threading.Event()
    creds = RefreshableCredentials(refresh, initial=_creds(clock, 3600), clock=clock, jitter=0)
    clock.advance(3600 - 800)
    refresher = threading.Thread(target=creds.get)
    refresher.start()
    while refresh.calls == 0:  # wait until the refresher is inside the refresh function
        threading.Event().wait(0.001)
    others = [creds.get().access_key_id for _ in range(10)]  # try-lock fails: current creds
    refresh.gate.set()
    refresher.join(10)
    assert others == ["ASIA0"] * 10
    assert refresh.calls == 1
    assert creds.get().access_key_id == "ASIA1"


def test_async_tasks_in_mandatory_window_refresh_once(clock: FakeClock) -> None:
    calls = 0

    async def refresh() -> Credentials:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)  # let the other tasks pile up on the lock
        return _creds(clock, 3600, calls)

    async def main() -> list[str]:
        creds = AsyncRefreshableCredentials(refresh, initial=_creds(clock, 3600), clock=clock, jitter=0)
        clock.advance(3600 - 60)
        got = await asyncio.gather(*(creds.get() for _ in range(20)))
        return [c.access_key_id for c in got]

    assert asyncio.run(main()) == ["ASIA1"] * 20
    assert calls == 1


def test_async_advisory_failure_keeps_current_and_mandatory_failure_raises(clock: FakeClock) -> None:
    async def refresh() -> Credentials:
        raise ConnectionError("down")

    async def main() -> None:
        creds = AsyncRefreshableCredentials(refresh, initial=_creds(clock, 3600), clock=clock, jitter=0)
        clock.advance(3600 - 800)
        assert (await creds.get()).access_key_id == "ASIA0"
        clock.advance(700)
        with pytest.raises(RefreshError):
            await creds.get()

    asyncio.run(main())


def test_async_advisory_single_refresher(clock: FakeClock) -> None:
    calls = 0
    release = asyncio.Event

    async def main() -> list[str]:
        nonlocal calls
        gate = release()

        async def refresh() -> Credentials:
            nonlocal calls
            calls += 1
            await gate.wait()
            return _creds(clock, 3600, calls)

        creds = AsyncRefreshableCredentials(refresh, initial=_creds(clock, 3600), clock=clock, jitter=0)
        clock.advance(3600 - 800)
        first = asyncio.create_task(creds.get())
        await asyncio.sleep(0)
        others = [(await creds.get()).access_key_id for _ in range(5)]
        gate.set()
        await first
        return [*others, (await creds.get()).access_key_id]

    assert asyncio.run(main()) == ["ASIA0"] * 5 + ["ASIA1"]
    assert calls == 1


def test_repr_of_credentials_hides_secret() -> None:
    text = repr(Credentials("AKIAEXAMPLE", "wJalrXUtnFEMI", "FwoGZXIvYXdz"))
    assert "AKIAEXAMPLE" in text and "wJalrXUtnFEMI" not in text and "FwoGZXIvYXdz" not in text


@given(
    lifetime=st.integers(min_value=60, max_value=43200),
    steps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=4000), st.booleans()), min_size=1, max_size=40
    ),
)
def test_property_never_hands_out_expired_credentials(lifetime: int, steps: list[tuple[int, bool]]) -> None:
    """Whatever the timing and failures, get() returns unexpired credentials or raises RefreshError."""
    clock = FakeClock()
    refresh = Counter(clock, lifetime=lifetime)
    creds = RefreshableCredentials(
        refresh, initial=_creds(clock, lifetime), clock=clock, rng=random.Random(0)
    )
    for advance, fail in steps:
        clock.advance(advance)
        refresh.fail = fail
        try:
            got = creds.get()
        except RefreshError:
            assert fail
            continue
        assert got.expiration is not None and got.expiration > clock.now
    assert refresh.calls <= len(steps)
