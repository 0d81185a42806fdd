"""``iamguard serve-sts``: run iamguard's Security Token Service over HTTP for boto3 and the AWS CLI.

::

    iamguard serve-sts [--store URL] [--port P] [--host 127.0.0.1] [--allow-non-loopback]
        [--keys-file F] [--oidc-provider URL=CLIENT_ID[,CLIENT_ID...]]...
        [--saml-provider ARN=METADATA_XML_FILE]...

The store holds the users, access keys and roles (``memory://``, ``sqlite:///path.db``,
``postgresql://...``); without ``--store`` it is ``$IAMGUARD_STORE``, else ``sqlite:///iam.db``,
as for every other command. Session tokens are signed with the keyring from ``IAMGUARD_STS_KEYS`` /
``IAMGUARD_STS_KEYS_FILE`` or ``--keys-file``; without one a fresh keyring lives only as long as
the process (tokens die with it), which the command says on stderr. Encoded authorization
messages use the AES-256 key in ``IAMGUARD_STS_MESSAGE_KEY`` (base64), else a per-process key.
Point SDKs at it with ``AWS_ENDPOINT_URL_STS=http://127.0.0.1:PORT``. Each signed call records
its access key's last use (date, service ``sts``, region), written every second and on shutdown.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import logging
import os
import sys
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, TextIO
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from iamguard.authn.session_token import SessionTokenService
from iamguard.cli import EXIT_OK
from iamguard.cli._serve import check_bind_address, run_until_signalled, wait_for
from iamguard.cli._store_args import STORE_HELP, store_url, warn_if_memory
from iamguard.enforce.audit import AccessTracker
from iamguard.errors import InvalidParameterError
from iamguard.keyring import ENV_KEYS, ENV_KEYS_FILE, KeyRing
from iamguard.sts._federation import stored_saml_provider
from iamguard.sts.auth_message import AuthorizationMessageCodec
from iamguard.sts.keyring_source import FollowingKeyRing, keyring_from_env
from iamguard.sts.oidc import OidcProvider, OidcVerifier
from iamguard.sts.query_api import StsEndpoint
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

__all__ = ["COMMAND", "ThreadingWSGIServer", "build_token_service", "register", "run", "serve"]

COMMAND = "serve-sts"
ENV_MESSAGE_KEY = "IAMGUARD_STS_MESSAGE_KEY"
_log = logging.getLogger("iamguard.sts")


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """wsgiref's server, one thread per connection (boto3 keeps connections alive)."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        _log.info("%s %s", self.address_string(), format % args)


def register(subparsers: Any) -> None:
    """Add the ``serve-sts`` subcommand to the ``iamguard`` parser."""
    parser = subparsers.add_parser(
        COMMAND,
        help="serve the STS Query API (AssumeRole & co.) for boto3 and the AWS CLI",
        description="Run iamguard's Security Token Service on HTTP: AssumeRole, AssumeRoleWithWebIdentity, "
        "AssumeRoleWithSAML, GetSessionToken, GetFederationToken, GetCallerIdentity and "
        "DecodeAuthorizationMessage, over the identities of --store.",
    )
    add_server_options(parser)
    parser.set_defaults(func=run)


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The options ``serve-sts`` and ``serve`` share: store, bind address, STS keyring, providers."""
    parser.add_argument("--store", metavar="URL", default=None, help=STORE_HELP)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow binding a non-loopback address (use TLS in front of it)",
    )
    parser.add_argument("--keys-file", help=f"STS keyring file (default: ${ENV_KEYS} / ${ENV_KEYS_FILE})")
    parser.add_argument(
        "--oidc-provider",
        action="append",
        default=[],
        metavar="URL=CLIENT_ID[,CLIENT_ID]",
        help="register an OIDC identity provider for AssumeRoleWithWebIdentity (repeatable)",
    )
    parser.add_argument(
        "--saml-provider",
        action="append",
        default=[],
        metavar="ARN=METADATA_FILE",
        help="register a SAML provider for AssumeRoleWithSAML (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM."""
    return run_until_signalled(serve, args)


def _keyring(args: argparse.Namespace, err: TextIO) -> KeyRing:
    # A keyring file is followed (re-read at most once a second): rotations reach a running server.
    if args.keys_file:
        return FollowingKeyRing(args.keys_file)
    if os.environ.get(ENV_KEYS) or os.environ.get(ENV_KEYS_FILE):
        return keyring_from_env()
    err.write(
        f"serve-sts: no keyring configured (${ENV_KEYS} / ${ENV_KEYS_FILE} / --keys-file); "
        "using a new one for this process only: its tokens stop working when it exits\n"
    )
    return KeyRing.generate()


def _message_codec() -> AuthorizationMessageCodec:
    text = os.environ.get(ENV_MESSAGE_KEY)
    if not text:
        return AuthorizationMessageCodec(AuthorizationMessageCodec.generate_key())
    try:
        return AuthorizationMessageCodec(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        raise InvalidParameterError(f"${ENV_MESSAGE_KEY} must be a base64 32-byte key") from None


def _oidc_providers(specs: list[str], account: str) -> dict[str, OidcProvider]:
    providers = {}
    for spec in specs:
        url, sep, ids = spec.partition("=")
        if not sep or not ids:
            raise InvalidParameterError(f"--oidc-provider {spec!r}: expected URL=CLIENT_ID[,CLIENT_ID...]")
        provider = OidcProvider(url, tuple(i for i in ids.split(",") if i))
        providers[f"arn:aws:iam::{account}:oidc-provider/{provider.condition_prefix}"] = provider
    return providers


def _saml_verifier(specs: list[str], store: Any) -> Any | None:
    if not specs:
        return None
    from iamguard.sts.saml import SamlProvider, SamlVerifier

    providers = {}
    for spec in specs:
        arn, sep, path = spec.partition("=")
        if not sep:
            raise InvalidParameterError(f"--saml-provider {spec!r}: expected ARN=METADATA_FILE")
        providers[arn] = SamlProvider(arn, Path(path).read_text(encoding="utf-8"))
    # Providers named here first, then those IAM's CreateSAMLProvider keeps in the store; replays
    # are refused by every process on the store.
    return SamlVerifier(
        lambda arn: providers.get(arn) or stored_saml_provider(store, arn), replay_store=store
    )


def build_token_service(args: argparse.Namespace, err: TextIO) -> TokenService:
    """The :class:`TokenService` the command serves, from its arguments and environment."""
    from iamguard.store import open_store

    url = store_url(args)
    warn_if_memory(url)
    store = open_store(url)
    account = store.account().account_id
    return TokenService(
        store,
        SessionTokenService(_keyring(args, err)),
        oidc_providers=_oidc_providers(args.oidc_provider, account),
        oidc_verifier=OidcVerifier(),
        saml_verifier=_saml_verifier(args.saml_provider, store),
        message_codec=_message_codec(),
    )


def serve(
    args: argparse.Namespace, *, stop: threading.Event, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run until ``stop`` is set; prints the ``AWS_ENDPOINT_URL_STS`` line to export."""
    out, err = out or sys.stdout, err or sys.stderr
    check_bind_address(args)
    service = build_token_service(args, err)
    # written every second, and once more on shutdown (LAST_USED_INTERVAL, as 'iamguard serve')
    tracker = AccessTracker(next(iter(service.stores.values())), interval=1.0)  # type: ignore[arg-type]
    server = make_server(
        args.host,
        args.port,
        StsWsgiApp(StsEndpoint(service, tracker=tracker)),
        server_class=ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name="iamguard-sts", daemon=True)
    thread.start()
    host = f"[{args.host}]" if ":" in args.host else args.host
    try:
        out.write(f"export AWS_ENDPOINT_URL_STS=http://{host}:{server.server_port}\n")
        out.flush()
        err.write(
            f"iamguard STS serving {store_url(args)} on http://{host}:{server.server_port}; "
            "press Ctrl-C to stop\n"
        )
        err.flush()
        wait_for(stop)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        tracker.close()  # the last requests' last-used records
    err.write("STS server stopped\n")
    return EXIT_OK
