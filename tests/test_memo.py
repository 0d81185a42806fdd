"""iamguard._memo.Memo: bounded, oldest-first eviction, answers as a plain dict of what it holds."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamguard._memo import Memo, memo_sizes


@given(st.integers(1, 8), st.lists(st.tuples(st.integers(0, 20), st.integers()), max_size=60))
def test_memo_is_a_bounded_dict_evicting_oldest_inserted(maxsize: int, puts: list[tuple[int, int]]) -> None:
    memo: Memo[int, int] = Memo("test", maxsize)
    model: dict[int, int] = {}  # insertion-ordered: the model of what the memo holds
    for key, value in puts:
        memo.put(key, value)
        if key in model:
            del model[key]  # a put renews the entry's place
        elif len(model) >= maxsize:
            del model[next(iter(model))]
        model[key] = value
        assert len(memo) == len(model) <= maxsize
    for key in range(21):
        assert memo.get(key) == model.get(key)
        assert (key in memo) is (key in model)


def test_get_or_compute_computes_once_per_key_while_remembered() -> None:
    memo: Memo[str, int] = Memo("test", 2)
    calls: list[str] = []

    def compute(key: str) -> int:
        calls.append(key)
        return len(key)

    for key in ["a", "bb", "a", "bb"]:
        assert memo.get_or_compute(key, lambda key=key: compute(key)) == len(key)  # type: ignore[misc]
    assert calls == ["a", "bb"]
    memo.get_or_compute("ccc", lambda: compute("ccc"))  # evicts "a", the oldest
    memo.get_or_compute("a", lambda: compute("a"))
    assert calls == ["a", "bb", "ccc", "a"]


def test_threads_never_exceed_the_bound() -> None:
    memo: Memo[int, int] = Memo("threads", 50)

    def work(offset: int) -> None:
        for i in range(2_000):
            memo.get_or_compute(offset + i % 200, lambda i=i: i)  # type: ignore[misc]

    threads = [threading.Thread(target=work, args=(n * 1000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memo) <= 50


def test_memo_sizes_lists_live_memos_and_rejects_empty_bounds() -> None:
    memo: Memo[int, int] = Memo("listed-memo", 3)
    memo.put(1, 1)
    assert memo_sizes()["listed-memo"] == (1, 3)
    with pytest.raises(ValueError):
        Memo("empty", 0)
