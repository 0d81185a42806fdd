"""The package's one pair of flow drivers: :func:`drive` (sync) and :func:`adrive` (async).

Code that needs I/O midway (a store lookup, an HTTP request) is written once as a generator
that yields what it needs and receives the answer (STYLE.md §5; the shape of httpx's
``Auth.auth_flow`` driven by ``Client._send_handling_auth``). Only the answering differs between
sync and async callers, so the loop that runs a flow lives here, once, for every flow in the
package: authentication and authorization (``enforce/guard.py``), policy resolution
(``resolve.py``), credential sources over HTTP (``credentials/_http.py``) and OIDC key fetches
(``sts/oidc.py``).

``answer`` maps what the flow yielded to what it receives. An exception the answer raises
propagates out of the driver unless its type is listed in ``throws``: those are thrown *into*
the flow at the yield that asked (``generator.throw``), so the flow decides what they mean (a
credential source treats an unreachable endpoint as "not here, try the next provider").
A ``StopIteration`` leaking out of an answer becomes a ``RuntimeError`` (as PEP 479 does inside
generators): taken for the flow's own return, it would end authentication with "no
credentials" rather than an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import TypeVar

__all__ = ["adrive", "drive"]

Y = TypeVar("Y")  # what the flow yields: a lookup, a request
S = TypeVar("S")  # what it is sent back: the answer
R = TypeVar("R")  # what it returns

_NOTHING: tuple[type[BaseException], ...] = ()


def _leaked(error: StopIteration) -> RuntimeError:
    return RuntimeError(f"an answer raised StopIteration ({error!r}), which would end the flow")


def drive(
    flow: Generator[Y, S, R],
    answer: Callable[[Y], S],
    *,
    throws: tuple[type[BaseException], ...] = _NOTHING,
) -> R:
    """Run ``flow`` to completion, answering each thing it yields with ``answer(thing)``."""
    try:
        asked = next(flow)
        while True:
            try:
                reply = answer(asked)
            except throws as error:
                asked = flow.throw(error)
            except StopIteration as leaked:
                raise _leaked(leaked) from leaked
            else:
                asked = flow.send(reply)
    except StopIteration as done:
        result: R = done.value
        return result


async def adrive(
    flow: Generator[Y, S, R],
    answer: Callable[[Y], Awaitable[S]],
    *,
    throws: tuple[type[BaseException], ...] = _NOTHING,
) -> R:
    """The async twin of :func:`drive`: each answer is awaited before it is sent."""
    try:
        asked = next(flow)
        while True:
            try:
                reply = await answer(asked)
            except throws as error:
                asked = flow.throw(error)
            except StopIteration as leaked:
                raise _leaked(leaked) from leaked
            else:
                asked = flow.send(reply)
    except StopIteration as done:
        result: R = done.value
        return result
