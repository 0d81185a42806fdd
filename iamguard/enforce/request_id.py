"""Request ids for audit records, error bodies and ``x-amz-request-id`` headers.

An id must be unique, not secret (AWS prints them in every error body). So instead of asking
the OS for random bytes per request (a system call), each process takes one random 8-hex prefix
and counts: ``3F9A61C2`` + ``00000001`` → ``3F9A61C200000001``, 16 upper-case hex characters
like S3's ids. A forked child (gunicorn and uwsgi workers fork after import) draws a new prefix,
so workers never repeat each other's ids.
"""

from __future__ import annotations

import itertools
import os

__all__ = ["REQUEST_ID_KEY", "new_request_id"]

#: The environ / scope key under which the middlewares leave the request's id, for the app's
#: own error bodies (set for every request, authenticated or not).
REQUEST_ID_KEY = "iamguard.request_id"

_prefix = ""
_counter = itertools.count(1)


def _reseed() -> None:
    global _prefix, _counter
    _prefix = os.urandom(4).hex().upper()
    _counter = itertools.count(1)


_reseed()
os.register_at_fork(after_in_child=_reseed)


def new_request_id() -> str:
    """A fresh request id (16 upper-case hex characters), unique within this process."""
    return f"{_prefix}{next(_counter) & 0xFFFFFFFF:08X}"
