"""The soak test's worker: the S3 example app as each gunicorn worker process serves it.

Configured only by the environment the driver (tests/soak/soak.py) sets: ``SOAK_STORE_URL`` (the
run's PostgreSQL schema), ``SOAK_DATA`` (the objects' SQLite file), ``SOAK_LOG_DIR``, plus
iamguard's own ``IAMGUARD_MASTER_KEY`` and ``IAMGUARD_STS_KEYS_FILE``. The keyring is a
:class:`~iamguard.sts.keyring_source.FollowingKeyRing`, so the admin's rotations and
retirements reach every worker without a restart.

:class:`RequestLog` wraps the app and writes one JSON line per request to
``worker-<pid>.jsonl``: the client's request id (``x-soak-id``), the access key id from the
``Authorization`` header, the status, the error code, iamguard's decisions, and
``time.monotonic()`` read on entry (before authentication reads the store) and after the body
was produced. CLOCK_MONOTONIC is one clock for every process of the machine, which is what lets
the checker compare these times with the admin's commit times. No secret is logged.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from examples.s3_service.app import create_app
from iamguard.authn.session_token import SessionTokenService
from iamguard.enforce.guard import RequestState
from iamguard.store import open_store
from iamguard.sts.keyring_source import keyring_from_env

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]{16,32})/")
_CODE = re.compile(rb"<Code>([A-Za-z.]+)</Code>")


class RequestLog:
    """WSGI middleware: one attributable line per request (see the module docstring)."""

    def __init__(self, app: Any, directory: Path) -> None:
        self.app = app
        self.directory = directory
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._pid = 0

    def _out(self) -> IO[str]:
        pid = os.getpid()
        if self._file is None or pid != self._pid:  # opened in the worker, after the fork
            self._pid = pid
            # Line-buffered and kept open for the worker's life: a SIGKILL loses only the line of
            # the request in flight, which the client then records as a connection error.
            self._file = open(self.directory / f"worker-{pid}.jsonl", "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        return self._file

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        t_in = time.monotonic()
        seen: dict[str, Any] = {}

        def recording_start_response(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            headers.append(("x-soak-worker", str(os.getpid())))
            return start_response(status, headers, *exc)

        body = b"".join(self.app(environ, recording_start_response))
        t_out = time.monotonic()
        status = seen.get("status", 0)
        code = _CODE.search(body) if status >= 400 else None
        state = environ.get("iamguard")
        credential = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        line = {
            "rid": environ.get("HTTP_X_SOAK_ID", ""),
            "pid": os.getpid(),
            "akid": credential.group(1) if credential else "",
            "method": environ.get("REQUEST_METHOD", ""),
            "status": status,
            "code": code.group(1).decode() if code else "",
            "decisions": [d.kind.value for d in state.decisions] if isinstance(state, RequestState) else [],
            "t_in": t_in,
            "t_out": t_out,
        }
        with self._lock:
            self._out().write(json.dumps(line) + "\n")
        return [body]


def build() -> RequestLog:
    store = open_store(os.environ["SOAK_STORE_URL"])
    sessions = SessionTokenService(keyring_from_env())
    app = create_app(store, data=os.environ["SOAK_DATA"], sessions=sessions)
    directory = Path(os.environ["SOAK_LOG_DIR"])
    (directory / f"ready-{os.getpid()}").touch()  # the driver waits for every worker's
    return RequestLog(app, directory)


application = build()
