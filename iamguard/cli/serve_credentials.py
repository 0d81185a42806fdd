"""``iamguard serve-credentials``: assume a role and serve it to local SDKs as container credentials.

::

    iamguard serve-credentials --role-arn ARN [--session-name N] [--duration S] [--external-id ID]
        [--port P] [--host 127.0.0.1] [--allow-non-loopback] [--token-file F]
        [--profile P] [--endpoint-url URL] [--region R]

Source credentials come from the default chain (or ``--profile``); the role is assumed through
STS at ``--endpoint-url`` or the configured STS endpoint (``AWS_ENDPOINT_URL_STS``, profile
``endpoint_url``…, else the regional endpoint) and refreshed ahead of expiry. The command prints
the two lines to export in the shell whose programs should use the role, then serves until
SIGINT/SIGTERM::

    export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/creds
    export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/tmp/iamguard-creds-…/token

The token is new on every start, written with mode 0600 (to ``--token-file`` if given) and
removed when the server stops, since it is worthless afterwards.
Every AWS SDK reads this endpoint (https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from iamguard.cli import EXIT_OK
from iamguard.cli._serve import check_bind_address, run_until_signalled, wait_for
from iamguard.credentials.chain import default_credential_chain
from iamguard.credentials.config_files import ProfileScope
from iamguard.credentials.endpoints import resolve_endpoint_url
from iamguard.credentials.provider import Credentials
from iamguard.credentials.refresh import RefreshableCredentials
from iamguard.credentials.server import (
    DEFAULT_PATH,
    CredentialsServer,
    serving_windows,
    write_token_file,
)
from iamguard.credentials.sts_client import StsClient
from iamguard.errors import InvalidParameterError

__all__ = ["COMMAND", "register", "run", "serve"]

COMMAND = "serve-credentials"
FULL_URI_VAR = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_FILE_VAR = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"

#: AssumeRole limits: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_MIN_DURATION, _MAX_DURATION = 900, 43200


def register(subparsers: Any) -> None:
    """Add the ``serve-credentials`` subcommand to the ``iamguard`` parser."""
    parser = subparsers.add_parser(
        COMMAND,
        help="assume a role and serve it to local SDKs on the container credentials endpoint",
        description="Assume a role (refreshing it ahead of expiry) and serve it on 127.0.0.1 in the "
        "ECS/EKS container-credentials protocol that every AWS SDK reads.",
    )
    parser.add_argument("--role-arn", required=True, help="ARN of the role to assume")
    parser.add_argument(
        "--session-name",
        default="iamguard-serve-credentials",
        help="RoleSessionName (2-64 of [A-Za-z0-9_+=,.@-])",
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=3600,
        metavar="SECONDS",
        help=f"DurationSeconds of each session ({_MIN_DURATION}-{_MAX_DURATION}; default 3600)",
    )
    parser.add_argument("--external-id", help="ExternalId the role's trust policy requires")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow binding a non-loopback address (the credentials travel unencrypted)",
    )
    parser.add_argument(
        "--token-file",
        metavar="FILE",
        help="write the authorization token here (mode 0600; default: a private temp dir)",
    )
    parser.add_argument("--profile", help="profile whose credentials assume the role (default: the chain)")
    parser.add_argument("--endpoint-url", help="STS endpoint (default: configured or regional endpoint)")
    parser.add_argument("--region", help="region for STS and its signature (default: configured region)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM, logging accesses to stderr."""
    return run_until_signalled(serve, args)


def _validate(args: argparse.Namespace) -> None:
    if not _SESSION_NAME.fullmatch(args.session_name):
        raise InvalidParameterError("--session-name must be 2-64 characters of letters, digits and _+=,.@-")
    if not _MIN_DURATION <= args.duration <= _MAX_DURATION:
        raise InvalidParameterError(f"--duration must be between {_MIN_DURATION} and {_MAX_DURATION} seconds")
    check_bind_address(args)


def _role_credentials(args: argparse.Namespace) -> RefreshableCredentials:
    """Source credentials from the chain, AssumeRole now (fail fast), refresh ahead of expiry."""
    scope = ProfileScope(profile=args.profile)
    config = scope.shared_config()
    region = args.region or scope.region(config)
    endpoint = resolve_endpoint_url(
        "STS", env=scope.environ(), config=config, profile=args.profile, explicit=args.endpoint_url
    )
    sts = StsClient(region=region, endpoint_url=endpoint)
    source = default_credential_chain(profile=args.profile).resolve()

    def assume() -> Credentials:
        return sts.assume_role(
            source.get(),
            role_arn=args.role_arn,
            role_session_name=args.session_name,
            duration_seconds=args.duration,
            external_id=args.external_id,
            source="assume-role",
        )

    first = assume()
    # STS may grant less than asked (role chaining caps sessions at 1 h): size windows on what we got.
    assert first.expiration is not None  # INVARIANT: parse_sts_credentials requires Expiration
    lifetime = (first.expiration - datetime.now(timezone.utc)).total_seconds()
    return RefreshableCredentials(
        assume, initial=first, windows=serving_windows(lifetime), name="assume-role"
    )


def serve(
    args: argparse.Namespace, *, stop: threading.Event, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command until ``stop`` is set (the signal handlers of :func:`run` set it)."""
    out = out or sys.stdout
    err = err or sys.stderr
    _validate(args)
    credentials = _role_credentials(args)
    server = CredentialsServer(
        credentials,
        host=args.host,
        port=args.port,
        path=DEFAULT_PATH,
        role_arn=args.role_arn,
        allow_non_loopback=args.allow_non_loopback,
    )
    temp_dir = None if args.token_file else tempfile.mkdtemp(prefix="iamguard-creds-")  # mode 0700
    token_path = Path(args.token_file) if args.token_file else Path(temp_dir or "") / "token"
    try:
        write_token_file(token_path, server.token)
        server.start()
        current = credentials.get()
        out.write(f"export {FULL_URI_VAR}={shlex.quote(server.url)}\n")
        out.write(f"export {TOKEN_FILE_VAR}={shlex.quote(str(token_path.resolve()))}\n")
        out.flush()
        err.write(
            f"serving {args.role_arn} as {current.access_key_id} (session expires "
            f"{current.expiration:%Y-%m-%dT%H:%M:%SZ}, refreshed ahead of expiry) on {server.url}; "
            "press Ctrl-C to stop\n"
        )
        err.flush()
        wait_for(stop)
    finally:
        server.shutdown()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        elif token_path.exists():
            os.unlink(token_path)  # the token dies with the server; leave nothing reusable behind
    err.write("credentials server stopped\n")
    return EXIT_OK
