"""The test suite's network guard: connections anywhere but loopback fail at once.

Tests must never reach a real network (a CI host may sit next to a real instance-metadata
service or a production database). :func:`install` wraps ``socket.socket.connect`` and
``connect_ex`` (``socket.create_connection``, http.client, httpx, asyncio and psycopg's Python
paths all end there) so that anything but ``127.0.0.0/8``, ``::1``, ``localhost`` and ``AF_UNIX``
raises :class:`NetworkGuardError` instead of connecting, and reports it to ``on_violation``
(pytest fails the test from there even when library code swallows the exception).
libpq connects from C without Python's socket module; the PostgreSQL URLs the tests use are
loopback, and ``IAMGUARD_TEST_POSTGRES_URL`` is checked by :func:`check_url`.

``sitecustomize.py`` beside this module installs it in child Python processes: the suite's
conftest puts this folder first on ``PYTHONPATH``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["NetworkGuardError", "allowed", "check_url", "install", "violations"]

#: Every refused connection since the list was last cleared (the suite's fixture clears it).
violations: list[str] = []

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class NetworkGuardError(ConnectionRefusedError):
    """A test tried to connect to a non-loopback address. An ``OSError`` subclass, so code under
    test sees an ordinary refused connection; the test fails anyway (see ``on_violation``)."""


def allowed(family: int, address: Any) -> bool:
    """Whether a ``connect(address)`` on a socket of ``family`` stays on this machine."""
    if family == getattr(socket, "AF_UNIX", object()):
        return True
    if not isinstance(address, tuple) or not address:
        return False
    host = str(address[0]).split("%", 1)[0].lower()
    if host in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name could resolve anywhere
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def check_url(url: str) -> None:
    """Raise :class:`NetworkGuardError` unless ``url``'s host is loopback."""
    host = urlsplit(url).hostname or "localhost"
    if not allowed(socket.AF_INET, (host, 0)):
        raise NetworkGuardError(f"test network guard: {url!r} is not a loopback address")


def install(on_violation: Callable[[str], None] | None = None) -> None:
    """Wrap ``socket.socket.connect``/``connect_ex`` (idempotent)."""
    cls: Any = socket.socket
    if getattr(cls.connect, "_iamguard_netguard", False):
        return
    original_connect, original_connect_ex = cls.connect, cls.connect_ex

    def refuse(sock: socket.socket, address: Any) -> NetworkGuardError:
        message = f"test network guard: connection to {address!r} refused (only loopback is allowed in tests)"
        violations.append(message)
        if on_violation is not None:
            on_violation(message)
        return NetworkGuardError(message)

    def connect(self: socket.socket, address: Any) -> None:
        if not allowed(self.family, address):
            raise refuse(self, address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not allowed(self.family, address):
            raise refuse(self, address)
        result: int = original_connect_ex(self, address)
        return result

    connect._iamguard_netguard = True  # type: ignore[attr-defined]
    cls.connect, cls.connect_ex = connect, connect_ex
