"""The console in an ASGI app (FastAPI, Starlette, any ASGI 3 server), under a path prefix.

Part of ``console/``. The console is a WSGI application; no web framework may be imported inside
``iamguard`` (an import-linter contract), so this is a small hand-written bridge rather than a
framework's mount helper. :class:`ConsoleAsgiApp` answers one HTTP request by collecting its
body (bounded by :data:`~iamguard.console._http.MAX_FORM_BYTES`), building the WSGI environ of
PEP 3333 from the ASGI scope, and running the console in a worker thread (a sign-in verifies an
argon2id hash: tens of milliseconds the event loop must not wait for; anyio's threads when
anyio is installed, asyncio's otherwise), then sending the one
response the console makes. The mount point is the scope's ``root_path`` (what FastAPI's
``app.mount("/console", ...)`` sets), which becomes ``SCRIPT_NAME``, so every link and cookie
path the console makes stays under it.

:func:`mount_console_asgi` wraps a whole ASGI app instead: paths under ``prefix`` go to the
console, everything else (``lifespan`` and websockets included) to the app.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Any

from iamguard._wire import (
    AsgiApp,
    Receive,
    Scope,
    Send,
    acknowledge_lifespan,
    parse_content_length,
    receive_body,
    send_response,
)
from iamguard.console._http import MAX_FORM_BYTES, Response
from iamguard.errors import BodyReadError, BodyTooLargeError, InvalidParameterError

if TYPE_CHECKING:
    from iamguard.console.app import ConsoleApp

__all__ = ["ConsoleAsgiApp", "ConsoleAsgiMount", "mount_console_asgi"]


class ConsoleAsgiApp:
    """``console`` as an ASGI 3 application, mounted at the scope's ``root_path``."""

    def __init__(self, console: ConsoleApp) -> None:
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await acknowledge_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # the console has no websocket routes
        try:
            declared = parse_content_length(_header(scope, b"content-length"))
            body = await receive_body(receive, MAX_FORM_BYTES, declared)
        except BodyTooLargeError:
            await _send(send, Response(b"Request body too large", 413, "text/plain; charset=utf-8"))
            return
        except BodyReadError:
            await _send(send, Response(b"Bad request body", 400, "text/plain; charset=utf-8"))
            return
        environ = wsgi_environ(scope, body)
        status, headers, chunks = await _in_thread(self.console, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(chunks)})


class ConsoleAsgiMount:
    """``console`` at ``prefix``, the ASGI ``app`` everywhere else."""

    def __init__(self, app: AsgiApp, console: ConsoleApp, *, prefix: str = "/console") -> None:
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise InvalidParameterError(
                f"the console's prefix {prefix!r} must start with '/' and not end with one"
            )
        self.app = app
        self.console = ConsoleAsgiApp(console)
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root = str(scope.get("root_path", "")).rstrip("/")
        inside = _inside_root(str(scope.get("path", "/")), root)
        if inside != self.prefix and not inside.startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return
        await self.console({**scope, "root_path": root + self.prefix}, receive, send)


def mount_console_asgi(app: AsgiApp, console: ConsoleApp, *, prefix: str = "/console") -> ConsoleAsgiMount:
    """The ASGI ``app`` with ``console`` answering under ``prefix`` (give the console
    ``cookie_path="/"`` when ``app``'s own routes, guarded by iamguard, should accept its session)."""
    return ConsoleAsgiMount(app, console, prefix=prefix)


def wsgi_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The PEP 3333 environ of ASGI HTTP ``scope`` with its whole ``body``: ``SCRIPT_NAME`` is the
    scope's ``root_path`` and ``PATH_INFO`` the rest of the path."""
    root = str(scope.get("root_path", "")).rstrip("/")
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": str(scope.get("method", "GET")).upper(),
        "SCRIPT_NAME": root,
        "PATH_INFO": _inside_root(str(scope.get("path", "/")), root),
        "QUERY_STRING": bytes(scope.get("query_string", b"")).decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]) if client else "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": str(scope.get("scheme", "http")),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    cookies: list[str] = []
    for raw_name, raw_value in scope.get("headers", []):
        name = bytes(raw_name).decode("latin-1").upper().replace("-", "_")
        value = bytes(raw_value).decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif name == "COOKIE":
            cookies.append(value)
        elif name != "CONTENT_LENGTH":
            key = f"HTTP_{name}"
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    if cookies:  # HTTP/2 may split them: they join with "; " (RFC 9113 section 8.2.3)
        environ["HTTP_COOKIE"] = "; ".join(cookies)
    return environ


def _inside_root(path: str, root: str) -> str:
    """``path`` below ``root`` (Starlette's mounts keep the full path in ``path``; others strip it)."""
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path or "/"


async def _in_thread(
    app: ConsoleApp, environ: dict[str, Any]
) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
    """Run the console off the event loop: with anyio's worker threads when it is installed
    (Starlette and FastAPI bring it, and it serves trio as well as asyncio), else asyncio's."""
    try:
        from anyio import to_thread
    except ImportError:
        return await asyncio.to_thread(_run_wsgi, app, environ)
    return await to_thread.run_sync(_run_wsgi, app, environ)


def _run_wsgi(app: ConsoleApp, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], list[bytes]]:
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started.append((status, headers))

    chunks = list(app(environ, start_response))
    status, headers = started[-1]
    encoded = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
    return int(status.split(" ", 1)[0]), encoded, chunks


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _send(send: Send, response: Response) -> None:
    await send_response(send, response.status, response.wsgi_headers(), response.body)
