#!/usr/bin/env python
"""Call a SigV4-protected endpoint with httpx, using iamguard's roles-first credential chain.

    python examples/client_with_roles.py --dry-run
    python examples/client_with_roles.py --url https://sts.amazonaws.com/ \\
        --data 'Action=GetCallerIdentity&Version=2011-06-15' --service sts --region us-east-1

Defaults come from the environment: ``IAMGUARD_EXAMPLE_URL``, ``IAMGUARD_EXAMPLE_SERVICE``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_PROFILE``. The script prints which credential source
won (and why the others were skipped), then signs the request with
:class:`iamguard.credentials.auth.SigV4Auth`. ``--dry-run`` signs without sending and prints the
signed headers (the session token is redacted); it contacts nothing, not even the credential
sources that live on the network (roles, container endpoint, IMDS); with no local credentials it signs with
AWS's documented example keys so the output can still be inspected. To try it against a role,
run ``iamguard serve-credentials --role-arn ...`` in another shell and export the two lines it
prints: the chain's container provider then supplies the role's credentials.
"""

from __future__ import annotations

import argparse
import os
import sys

import httpx

from iamguard import Credentials, IAMGuardError, SigV4Auth, default_credential_chain

#: AWS's documentation example key pair (never valid anywhere).
EXAMPLE_KEYS = Credentials(
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", source="example"
)
STS_URL = "https://sts.amazonaws.com/"
STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("IAMGUARD_EXAMPLE_URL", STS_URL))
    parser.add_argument("--method", default=None, help="default: POST with --data, else GET")
    parser.add_argument(
        "--data", default=None, help="request body (default: an STS GetCallerIdentity form for the STS URL)"
    )
    parser.add_argument("--service", default=os.environ.get("IAMGUARD_EXAMPLE_SERVICE", "sts"))
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
    parser.add_argument("--profile", default=None, help="profile to use (default: AWS_PROFILE / default)")
    parser.add_argument(
        "--unsigned-payload", action="store_true", help="sign UNSIGNED-PAYLOAD instead of the body"
    )
    parser.add_argument("--dry-run", action="store_true", help="sign and print the headers; send nothing")
    return parser.parse_args(argv)


def _show_signed(request: httpx.Request) -> httpx.Response:
    """A MockTransport handler: print what would have been sent, answer locally."""
    print(f"\n{request.method} {request.url}")
    for name, value in request.headers.multi_items():
        shown = "<redacted session token>" if name.lower() == "x-amz-security-token" else value
        print(f"{name}: {shown}")
    return httpx.Response(200, text="(dry run: nothing was sent)")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.data is None and args.url == STS_URL:
        args.data = STS_BODY
    # A dry run sends nothing at all: the chain skips the sources that would call the network
    # (STS for roles, the container endpoint, the instance metadata service at 169.254.169.254).
    chain = default_credential_chain(profile=args.profile, offline=args.dry_run)
    explanation = chain.explain()
    print(explanation)
    source: object = chain
    if explanation.winner is None:
        if not args.dry_run:
            print("no credentials: configure a source above (or use --dry-run)", file=sys.stderr)
            return 2
        print("(dry run: signing with AWS's documented example keys)")
        source = EXAMPLE_KEYS
    auth = SigV4Auth(source, region=args.region, service=args.service, sign_payload=not args.unsigned_payload)
    method = args.method or ("POST" if args.data is not None else "GET")
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"} if args.data else {}
    transport = httpx.MockTransport(_show_signed) if args.dry_run else None
    try:
        with httpx.Client(auth=auth, transport=transport, timeout=10) as client:
            response = client.request(
                method,
                args.url,
                headers=headers,
                content=args.data.encode() if args.data is not None else None,
            )
    except IAMGuardError as exc:
        print(f"credentials: {exc.code}: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"request failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"\nHTTP {response.status_code}\n{response.text[:2000]}")
    return 0 if response.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
