"""What the long-running ``serve-*`` commands share: the bind checks and serving until a signal.

Each command's ``serve(args, stop=...)`` runs until a :class:`threading.Event` is set, so tests
can stop it without signals; :func:`run_until_signalled` is the command-line driver that sets the
event on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from iamguard.credentials.server import is_loopback_host
from iamguard.errors import InvalidParameterError

__all__ = ["check_bind_address", "run_until_signalled", "stop_on_signals", "wait_for"]

_POLL_SECONDS = 0.5


def run_until_signalled(serve: Callable[..., int], args: argparse.Namespace) -> int:
    """``serve(args, stop=event)`` with access logs on stderr, the event set by SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    stop = threading.Event()
    with stop_on_signals(stop):
        return serve(args, stop=stop)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGINT/SIGTERM while inside; the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def check_bind_address(args: argparse.Namespace) -> None:
    """Refuse a ``--port`` out of range, or a non-loopback ``--host`` without ``--allow-non-loopback``
    (what is served travels unencrypted)."""
    if not 0 <= args.port <= 65535:
        raise InvalidParameterError("--port must be between 0 and 65535")
    if not args.allow_non_loopback and not is_loopback_host(args.host):
        raise InvalidParameterError(
            f"--host {args.host} is not a loopback address; add --allow-non-loopback to bind it anyway"
        )


def wait_for(stop: threading.Event) -> None:
    """Block until ``stop`` is set, waking regularly so a signal handler gets to run."""
    while not stop.wait(_POLL_SECONDS):
        pass
