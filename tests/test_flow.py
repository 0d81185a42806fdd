"""The package's one flow driver pair: :func:`drive` and :func:`adrive` answer alike."""

from __future__ import annotations

import asyncio
from collections.abc import Generator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iamguard._flow import adrive, drive


class Unreachable(Exception):
    pass


def summing(questions: list[int]) -> Generator[int, int, list[int]]:
    """Asks each question in turn and returns the answers it got, in order."""
    answers = []
    for question in questions:
        answers.append((yield question))
    return answers


def double(question: int) -> int:
    return 2 * question


async def adouble(question: int) -> int:
    await asyncio.sleep(0)
    return 2 * question


@given(st.lists(st.integers(), max_size=20))
def test_sync_and_async_drivers_send_each_answer_and_return_the_result(questions: list[int]) -> None:
    expected = [2 * q for q in questions]
    assert drive(summing(questions), double) == expected
    assert asyncio.run(adrive(summing(questions), adouble)) == expected


def tolerant(urls: list[str]) -> Generator[str, str, list[str]]:
    """Treats an unreachable URL as absent, as the IMDS credential source does."""
    found = []
    for url in urls:
        try:
            found.append((yield url))
        except Unreachable:
            found.append("-")
    return found


def fetch(url: str) -> str:
    if url.startswith("down"):
        raise Unreachable(url)
    return url.upper()


async def afetch(url: str) -> str:
    return fetch(url)


@given(st.lists(st.sampled_from(["a", "b", "down1", "down2"]), max_size=10))
def test_listed_errors_are_thrown_into_the_flow(urls: list[str]) -> None:
    expected = ["-" if u.startswith("down") else u.upper() for u in urls]
    assert drive(tolerant(urls), fetch, throws=(Unreachable,)) == expected
    assert asyncio.run(adrive(tolerant(urls), afetch, throws=(Unreachable,))) == expected


def test_other_errors_propagate_out_of_the_driver() -> None:
    with pytest.raises(Unreachable):
        drive(tolerant(["a", "down"]), fetch)
    with pytest.raises(Unreachable):
        asyncio.run(adrive(tolerant(["a", "down"]), afetch))


def test_an_error_the_flow_does_not_handle_propagates() -> None:
    def unreachable(question: int) -> int:
        raise Unreachable(str(question))

    with pytest.raises(Unreachable):
        drive(summing([1, 2]), unreachable, throws=(Unreachable,))


def test_a_flow_that_asks_nothing_returns_at_once() -> None:
    def answered() -> int:
        raise AssertionError("no question was asked")

    assert drive(summing([]), lambda q: answered()) == []
    assert asyncio.run(adrive(summing([]), adouble)) == []


def test_stop_iteration_from_an_answer_is_an_error_not_the_flows_return() -> None:
    """Taken for the flow's return, it would make the guard's authentication answer "no
    credentials" (``None``) instead of failing."""

    def leaky(question: int) -> int:
        return next(iter([]))

    async def aleaky(question: int) -> int:
        return leaky(question)

    with pytest.raises(RuntimeError, match="StopIteration"):
        drive(summing([1]), leaky)
    with pytest.raises(RuntimeError, match="StopIteration"):
        asyncio.run(adrive(summing([1]), aleaky))
