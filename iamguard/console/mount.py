"""Mount the console under a path prefix of another WSGI app (``iamguard serve`` mounts it at
``/console`` beside the IAM API and STS).

Part of ``console/``. Requests whose path starts with the prefix go to the console, with the
prefix moved from ``PATH_INFO`` to ``SCRIPT_NAME`` as WSGI mounting does (PEP 3333), so every
link and cookie path the console makes stays inside it; everything else goes to the host app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from iamguard.console.app import ConsoleApp
from iamguard.errors import InvalidParameterError

if TYPE_CHECKING:
    from iamguard.authn.session_token import SessionTokenService
    from iamguard.store.service import IdentityService

__all__ = ["ConsoleMount", "mount_console"]

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class ConsoleMount:
    """``console`` at ``prefix``, ``app`` everywhere else."""

    def __init__(self, app: WsgiApp, console: ConsoleApp, *, prefix: str = "/console") -> None:
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise InvalidParameterError(
                f"the console's prefix {prefix!r} must start with '/' and not end with one"
            )
        self.app = app
        self.console = console
        self.prefix = prefix

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return self.app(environ, start_response)
        inner = dict(environ)
        inner["SCRIPT_NAME"] = str(environ.get("SCRIPT_NAME", "")).rstrip("/") + self.prefix
        inner["PATH_INFO"] = path[len(self.prefix) :] or "/"
        return self.console(inner, start_response)


def mount_console(
    app: WsgiApp,
    store: IdentityService,
    tokens: SessionTokenService,
    *,
    prefix: str = "/console",
    root_password_hash: str | None = None,
    cookie_path: str | None = None,
) -> ConsoleMount:
    """``app`` with a :class:`~iamguard.console.app.ConsoleApp` over ``store`` at ``prefix``
    (``cookie_path="/"`` lets ``app``'s own guarded routes receive the console session)."""
    console = ConsoleApp(store, tokens, root_password_hash=root_password_hash, cookie_path=cookie_path)
    return ConsoleMount(app, console, prefix=prefix)
