"""A keyring that follows its file, so a rotation written once reaches every serving process.

Part of ``sts/``. :meth:`KeyRing.load` reads ``IAMGUARD_STS_KEYS_FILE`` once, at start: in a fleet
(gunicorn workers, several hosts on one shared volume) a rotation or a retirement would reach a
process only when it restarts, and a retired key would keep verifying tokens until then.

The file is the one source of truth; nothing is pushed. :class:`FollowingKeyRing` re-reads it
lazily, on the request path, **at most once per** ``interval`` (default 1 s), and swaps in the new
ring when the bytes differ (so a rewrite is noticed even when size and mtime are unchanged). The
bound this gives: a keyring written by :func:`write_keyring_file` before time *t* governs every
verification a process starts after *t* + ``interval``. Swapping bumps :attr:`version`, which
empties :class:`~iamguard.authn.session_token.SessionTokenService`'s verified-token cache, so a
token of a just-retired key is not served from it either.

Fail closed: a file that turns unreadable or invalid leaves a ring with **no keys** (it verifies
nothing and signs nothing), logged once, retried every ``interval``; at construction it raises
:class:`~iamguard.errors.KeyRingError`, so a misconfigured process never starts.

Writers use :func:`write_keyring_file` (temporary file in the same directory, ``fsync``, then
``os.replace``): readers see the old bytes or the new, never a torn file. :func:`update_keyring_file`
is the read-modify-write an operator's rotation runs, under an advisory lock so two admins do
not lose each other's change. To rotate a fleet without refusing anyone, *stage* the new key at
least ``interval`` ahead (``SigningKey.generate(now=now + lead)``; ``KeyRing.add``): every
process knows it before any signs with it. Retire the old key when its tokens should die.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from iamguard.errors import InvalidParameterError, KeyRingError
from iamguard.keyring import ENV_KEYS, ENV_KEYS_FILE, KeyRing, SigningKey

__all__ = [
    "DEFAULT_INTERVAL",
    "FollowingKeyRing",
    "keyring_from_env",
    "update_keyring_file",
    "write_keyring_file",
]

#: How stale a process's view of the keyring file may be, in seconds.
DEFAULT_INTERVAL = 1.0

_log = logging.getLogger("iamguard.sts.keys")
T = TypeVar("T")


class FollowingKeyRing(KeyRing):
    """A :class:`KeyRing` whose keys are those of the file at ``path``, re-read at most once per
    ``interval`` seconds of ``monotonic``; see the module docstring for the bound and failure mode.

    Changing keys in place (``add``, ``rotate``, ``retire``, ``prune``) is refused: the next read
    of the file would undo it. Change the file with :func:`update_keyring_file` instead.
    """

    __slots__ = (
        "_checked_at",
        "_generation",
        "_interval",
        "_monotonic",
        "_path",
        "_reload_lock",
        "_ring",
        "_text",
    )

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= 0:
            raise InvalidParameterError("the keyring re-read interval must be positive")
        super().__init__((), clock=clock)
        self._path = Path(path)
        self._interval = interval
        self._monotonic = monotonic
        self._reload_lock = threading.Lock()
        self._generation = 0
        started = monotonic()
        text = _read(self._path)
        self._ring = KeyRing.from_json(text, clock=clock)
        self._text: str | None = text  # raises: never start misconfigured
        self._checked_at = started

    def __repr__(self) -> str:
        return f"FollowingKeyRing({os.fspath(self._path)!r}, kids={[key.kid for key in self.keys]!r})"

    def __len__(self) -> int:
        return len(self._current())

    @property
    def path(self) -> Path:
        """The keyring file this ring follows."""
        return self._path

    @property
    def version(self) -> int:
        """Bumped each time a re-read finds different bytes (and so a possibly different ring)."""
        self._current()
        return self._generation

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """The keys of the file as last read (re-read at most once per interval)."""
        return self._current().keys

    def get(self, kid: str) -> SigningKey | None:
        return self._current().get(kid)

    def primary(self, now: float | None = None) -> SigningKey:
        return self._current().primary(now)

    def to_json(self) -> str:
        return self._current().to_json()

    def reload(self) -> None:
        """Read the file now, whatever the interval (for the process that just wrote it)."""
        self._refresh(force=True)

    def add(self, key: SigningKey) -> None:
        raise self._read_only()

    def rotate(self, *, alg: str | None = None, kid: str | None = None) -> SigningKey:
        raise self._read_only()

    def retire(self, kid: str) -> None:
        raise self._read_only()

    def prune(self, *, max_session_seconds: int, now: float | None = None) -> tuple[str, ...]:
        raise self._read_only()

    def _read_only(self) -> KeyRingError:
        return KeyRingError(
            f"this keyring follows {os.fspath(self._path)!r}; change the file (update_keyring_file)"
        )

    def _current(self) -> KeyRing:
        if self._monotonic() - self._checked_at >= self._interval:
            self._refresh(force=False)
        return self._ring

    def _refresh(self, *, force: bool) -> None:
        with self._reload_lock:
            started = self._monotonic()
            if not force and started - self._checked_at < self._interval:
                return  # another thread re-read it while this one waited for the lock
            text: str | None = None
            problem = ""
            try:
                text = _read(self._path)
            except KeyRingError as exc:
                problem = str(exc)
            if text != self._text:
                self._ring = self._parse(text, problem)
                self._text = text
                self._generation += 1
            # INVARIANT: set only after the swap, to the time read *before* the file was read, so
            # a thread that skips the re-read because of it already sees the ring read after it.
            self._checked_at = started

    def _parse(self, text: str | None, problem: str) -> KeyRing:
        """The new ring, or an empty one (fail closed) when the file is unusable."""
        if text is not None:
            try:
                return KeyRing.from_json(text, clock=self._clock)
            except KeyRingError as exc:
                problem = str(exc)
        _log.error(
            "STS keyring %s is unusable (%s): refusing every session token until it is fixed",
            os.fspath(self._path),
            problem,
        )
        return KeyRing((), clock=self._clock)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise KeyRingError(f"cannot read keyring file {os.fspath(path)!r}: {reason}") from None


def write_keyring_file(ring: KeyRing, path: str | os.PathLike[str]) -> None:
    """Replace the file at ``path`` with ``ring`` atomically, readable by the owner only."""
    target = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp made it 0600
            handle.write(ring.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(target.parent)


def update_keyring_file(
    path: str | os.PathLike[str], change: Callable[[KeyRing], T], *, clock: Callable[[], float] = time.time
) -> T:
    """Load the ring at ``path``, apply ``change`` (e.g. ``KeyRing.rotate``) and write it back
    atomically; returns what ``change`` returned. Serialized with other updaters of ``path``."""
    with _locked(Path(path)):
        ring = KeyRing.load(path, clock=clock)
        result = change(ring)
        write_keyring_file(ring, path)
    return result


def keyring_from_env(
    environ: Mapping[str, str] | None = None, *, interval: float = DEFAULT_INTERVAL
) -> KeyRing:
    """The configured keyring: a :class:`FollowingKeyRing` for ``IAMGUARD_STS_KEYS_FILE``, the
    fixed ring of ``IAMGUARD_STS_KEYS`` otherwise (errors as :meth:`KeyRing.from_env`)."""
    env = os.environ if environ is None else environ
    path = env.get(ENV_KEYS_FILE)
    if path and not env.get(ENV_KEYS):
        return FollowingKeyRing(path, interval=interval)
    return KeyRing.from_env(env)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An advisory lock on ``<path>.lock`` (POSIX); elsewhere updates are not serialized."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
