"""``python -m iamguard.console``: the console over a seeded in-memory account, to try it out.

(``python3 tasks.py console`` runs it in the project's venv.) Seeds account ``123456789012``
with the alias ``demo``, an administrator ``admin`` (AdministratorAccess), a read-only user
``viewer`` (ReadOnlyAccess, must change the password at first sign-in), a group, a role and a
customer managed policy, then serves the console on loopback and prints the login URL and the
demo sign-ins (random passwords, made for this run only). Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from iamguard.authn.session_token import SessionTokenService
from iamguard.console._pages import generate_password
from iamguard.console.app import ConsoleApp
from iamguard.keyring import KeyRing
from iamguard.store import IdentityService, open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox

_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
_REPORTS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}],
}


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def seed() -> tuple[IdentityService, dict[str, str]]:
    """A fresh in-memory account and the demo passwords by user (``<root>`` for the root user)."""
    store = open_store(
        "memory://",
        create=True,
        account_id="123456789012",
        secret_box=SecretBox({"demo": os.urandom(32)}, "demo"),
    )
    store.create_account_alias("demo")
    passwords = {"<root>": generate_password(), "admin": generate_password(), "viewer": generate_password()}
    store.set_root_password(passwords["<root>"])
    store.create_user("admin")
    store.create_login_profile("admin", passwords["admin"])
    store.attach_policy(PrincipalKind.USER, "admin", "arn:aws:iam::iamguard:policy/AdministratorAccess")
    store.create_user("viewer")
    store.create_login_profile("viewer", passwords["viewer"], password_reset_required=True)
    store.attach_policy(PrincipalKind.USER, "viewer", "arn:aws:iam::iamguard:policy/ReadOnlyAccess")
    store.attach_policy(PrincipalKind.USER, "viewer", "arn:aws:iam::iamguard:policy/IAMUserChangePassword")
    store.create_group("analysts")
    store.add_user_to_group("analysts", "viewer")
    store.create_role("reporting", _TRUST)
    store.create_policy("reports-read", _REPORTS)
    return store, passwords


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iamguard.console", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--port", type=int, default=8080, help="loopback port (default 8080; 0 picks a free one)"
    )
    args = parser.parse_args(argv)
    store, passwords = seed()
    app = ConsoleApp(store, SessionTokenService(KeyRing.generate()))
    server = make_server("127.0.0.1", args.port, app, server_class=_ThreadingServer, handler_class=_Quiet)
    base = f"http://127.0.0.1:{server.server_port}"
    print(f"iamguard console (demo account, in memory): {base}{app.login_path()}")
    print(f"  admin  / {passwords['admin']}   (AdministratorAccess)")
    print(f"  viewer / {passwords['viewer']}   (ReadOnlyAccess; must change the password first)")
    print(f"  root user: {base}{app.login_path()}/root  password {passwords['<root>']}")
    print("Ctrl-C to stop", flush=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
