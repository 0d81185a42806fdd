"""``iamguard serve``: the IAM API and STS together on one port, for boto3 and the AWS CLI.

::

    iamguard serve [--store URL] [--port P] [--host 127.0.0.1] [--allow-non-loopback]
        [--keys-file F] [--oidc-provider URL=CLIENT_ID[,CLIENT_ID...]]...
        [--saml-provider ARN=METADATA_XML_FILE]...

Each request goes to IAM or STS by the service its SigV4 credential scope names (``iam`` or
``sts``; unsigned federation calls go to STS). Every IAM call is authorized by iamguard's own
policies in the store, as in AWS (the root user's keys may do anything). Options and keyring as
for ``iamguard serve-sts``, which stays for STS alone. Point SDKs at it with
``AWS_ENDPOINT_URL_IAM`` and ``AWS_ENDPOINT_URL_STS`` (both printed on start).

It needs the store's master key (``IAMGUARD_MASTER_KEY`` or ``IAMGUARD_MASTER_KEY_FILE``;
``IAMGUARD_DEV_MASTER_KEY=1`` for development) and refuses to start without one: the access keys
IAM and STS verify, and the console's half-done sign-ins, are sealed with it.

Each authenticated call records its access key's last use (date, service ``iam`` or ``sts``,
region), as AWS does, for GetAccessKeyLastUsed and the credential report; the records are
written every second and on shutdown.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any, TextIO
from wsgiref.simple_server import make_server

from iamguard.cli import EXIT_OK
from iamguard.cli._serve import check_bind_address, run_until_signalled, wait_for
from iamguard.cli._store_args import store_url
from iamguard.cli.serve_sts import ThreadingWSGIServer, _QuietHandler, add_server_options, build_token_service
from iamguard.console._login import SERVE_CONSOLE_PATH, login_url
from iamguard.console.mount import mount_console
from iamguard.enforce.audit import AccessTracker
from iamguard.errors import StoreError
from iamguard.iam.query_api import IamEndpoint
from iamguard.iam.wsgi import IamStsWsgiApp, IamWsgiApp
from iamguard.store.service import IdentityService
from iamguard.sts.query_api import StsEndpoint
from iamguard.sts.wsgi import StsWsgiApp

__all__ = ["COMMAND", "LAST_USED_INTERVAL", "build_app", "build_served", "register", "run", "serve"]

#: Seconds between writes of the access keys' last-used records (and once more on shutdown).
LAST_USED_INTERVAL = 1.0

COMMAND = "serve"


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand (``serve-sts``'s options, with IAM served beside STS)."""
    parser = subparsers.add_parser(
        COMMAND,
        help="serve the IAM API and STS on one port for boto3 and the AWS CLI",
        description="Run iamguard's IAM API (users, groups, roles, policies, keys, ...) and its "
        "Security Token Service on one HTTP port, over the identities of --store; every IAM call "
        "is authorized by the store's own policies. Without --store: $IAMGUARD_STORE, else sqlite:///iam.db.",
    )
    add_server_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM."""
    return run_until_signalled(serve, args)


def build_app(args: argparse.Namespace, err: TextIO) -> IamStsWsgiApp:
    """The WSGI app ``serve`` runs: IAM and STS over the store of ``args.store``."""
    return build_served(args, err)[0]


def build_served(
    args: argparse.Namespace, err: TextIO, *, interval: float | None = LAST_USED_INTERVAL
) -> tuple[IamStsWsgiApp, AccessTracker, IdentityService]:
    """:func:`build_app`'s app, the tracker its IAM and STS endpoints record access keys' last use
    into (written every ``interval`` seconds; close it on shutdown to write the rest) and the store."""
    service = build_token_service(args, err)
    store = next(iter(service.stores.values()))
    if not isinstance(store, IdentityService):  # pragma: no cover - open_store returns one
        raise TypeError("the IAM API needs an iamguard identity store")
    try:
        store.secret_box  # noqa: B018 - built from the environment here, raising what is missing
    except StoreError as exc:  # refused before the port is bound, not as a 500 on first use
        store.backend.close()
        raise StoreError(
            f"{exc} (iamguard serve needs the master key: the access keys IAM and STS verify, and "
            "the console's sign-ins waiting for an MFA code or a new password, are sealed with it)"
        ) from None
    tracker = AccessTracker(store, interval=interval)
    iam = IamWsgiApp(IamEndpoint(store, sessions=service.tokens, tracker=tracker))
    sts = StsWsgiApp(StsEndpoint(service, tracker=tracker))
    # unsigned browser requests reach the STS side; the console takes those under /console
    return IamStsWsgiApp(iam, mount_console(sts, store, service.tokens)), tracker, store


def serve(
    args: argparse.Namespace, *, stop: threading.Event, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run until ``stop`` is set; prints the ``AWS_ENDPOINT_URL_IAM``/``_STS`` lines to export."""
    out, err = out or sys.stdout, err or sys.stderr
    check_bind_address(args)
    app, tracker, store = build_served(args, err)
    server = make_server(
        args.host,
        args.port,
        app,
        server_class=ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name="iamguard-serve", daemon=True)
    thread.start()
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{server.server_port}"
    try:
        out.write(f"export AWS_ENDPOINT_URL_IAM={url}\nexport AWS_ENDPOINT_URL_STS={url}\n")
        out.flush()
        err.write(f"iamguard IAM + STS serving {store_url(args)} on {url}; press Ctrl-C to stop\n")
        console = url + SERVE_CONSOLE_PATH
        err.write(f"IAM console on {console}/; sign in at {login_url(store.account(), console)}\n")
        err.flush()
        wait_for(stop)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        tracker.close()  # the last requests' last-used records
    err.write("IAM + STS server stopped\n")
    return EXIT_OK
