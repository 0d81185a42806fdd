"""Raw HTTP/1.1 over a socket, so malformed framing reaches the server as written, and the
server processes the wire tests start and stop (by their own pid only)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def exchange(port: int, raw: bytes, *, timeout: float = 15.0) -> Answer:
    """Send ``raw``, close our sending side (an unterminated body then ends), read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        with contextlib.suppress(OSError):  # the server may already have answered and closed
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)


def request(method: str, target: str, headers: Sequence[tuple[str, str | bytes]], body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    for name, value in headers:
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode("latin-1")))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class Server:
    """One server process on 127.0.0.1:``port``; :meth:`stop` ends exactly that process."""

    def __init__(self, argv: list[str], port: int) -> None:
        self.port = port
        self.process = subprocess.Popen(
            argv, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited: {self.process.stderr.read().decode()[-2000:] if self.process.stderr else ''}"
                )
            try:
                exchange(port, request("GET", "/", []), timeout=5)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> str:
        """Stop the process; returns what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stderr is None:
            return ""
        with self.process.stderr:
            return self.process.stderr.read().decode("utf-8", "replace")


def werkzeug(kind: str) -> Server:
    port = free_port()
    return Server([sys.executable, str(HERE / "wire_apps.py"), kind, str(port)], port)


def gunicorn(app: str, worker: str) -> Server:
    port = free_port()
    argv = [
        str(VENV_BIN / "gunicorn"),
        "--workers",
        "1",
        "--worker-class",
        worker,
        "--threads",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--pythonpath",
        str(HERE),
        "--timeout",
        "30",
        f"wire_apps:{app}",
    ]
    return Server(argv, port)


def uvicorn(app: str) -> Server:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        f"wire_apps:{app}",
    ]
    return Server(argv, port)
