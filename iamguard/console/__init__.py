"""The console: sign-in at the account's login URL and an IAM dashboard in the browser.

A WSGI application (:class:`ConsoleApp`; :class:`ConsoleMount` puts it under a prefix of a
WSGI app, :func:`mount_console_asgi` of an ASGI one) with server-rendered Jinja2 pages, plain CSS and one
small script. Every page runs operations of the IAM layer (:mod:`iamguard.iam`) as the
signed-in principal, whose console session is a session credential from iamguard's own token
service; :class:`ConsoleSessionAuthenticator` lets a host app guarded by iamguard accept it.

This module is the public API of ``iamguard.console``: import from here. The modules inside the
package are private; their names and contents may change between releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamguard._lazy import lazy_exports

if TYPE_CHECKING:
    from iamguard.console.app import ConsoleApp, login_label
    from iamguard.console.asgi import ConsoleAsgiApp, ConsoleAsgiMount, mount_console_asgi
    from iamguard.console.authenticator import ConsoleSessionAuthenticator
    from iamguard.console.mount import ConsoleMount, mount_console

_LAZY = {
    "ConsoleApp": "iamguard.console.app",
    "login_label": "iamguard.console.app",
    "ConsoleSessionAuthenticator": "iamguard.console.authenticator",
    "ConsoleMount": "iamguard.console.mount",
    "ConsoleAsgiApp": "iamguard.console.asgi",
    "ConsoleAsgiMount": "iamguard.console.asgi",
    "mount_console_asgi": "iamguard.console.asgi",
    "mount_console": "iamguard.console.mount",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "ConsoleApp",
    "ConsoleAsgiApp",
    "ConsoleAsgiMount",
    "ConsoleMount",
    "ConsoleSessionAuthenticator",
    "login_label",
    "mount_console",
    "mount_console_asgi",
]
