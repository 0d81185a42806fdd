#!/usr/bin/env python
"""Cost of iamguard's Security Token Service: session tokens per call, AssumeRole per second.

Measured, each as the median of ``--rounds`` rounds:

* ``pyjwt encode`` / ``pyjwt decode``: one ``jwt.encode`` / ``jwt.decode`` of a claim set the size of
  a role session's, with the same key (Ed25519 by default, ``--alg HS256`` to compare): the floor
  any JWT-based session token pays;
* ``SessionTokenService.issue``: mint a role session (claims, signature, derived secret);
* ``SessionTokenService.verify + secret_for (uncached)``: what authenticating an ``ASIA...`` request
  costs before SigV4 itself the first time a token is seen (canonical-segment checks, header,
  signature, strict claims, key derivation), measured with ``cache_size=0``;
* ``... (cached)``: the same calls once the token is in the verified-token cache (SHA-256 of the
  token, a locked lookup, the time and access-key checks), as every later request with the same
  session credentials pays; ``verify_with_secret (cached)`` is the one-call form;
* ``AssumeRole end to end``: a botocore-signed ``AssumeRole`` POST handed to the WSGI app
  in-process (no sockets): body hash, SigV4 verification against the store's access key, two
  policy evaluations (identity + trust), token issue and the XML answer; reported in requests/s
  on one thread.

Run: ``python benchmarks/sts_bench.py [--calls 2000] [--rounds 7] [--requests 500] [--alg EdDSA]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from iamguard.authn.session_token import SessionTokenService
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox
from iamguard.sts.keys import KeyRing
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

ACCOUNT = "111122223333"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/Bench"
HOST = "sts.bench.local"


def _per_call_us(body: Callable[[int], None], calls: int, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        body(calls)
        samples.append((time.perf_counter_ns() - start) / calls / 1000)
    return statistics.median(samples)


def _session_kwargs() -> dict[str, Any]:
    return {
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Bench/bench-session",
        "account": ACCOUNT,
        "principal_type": "AssumedRole",
        "user_id": "AROAEXAMPLEEXAMPLE123:bench-session",
        "duration_seconds": 3600,
        "role_arn": ROLE_ARN,
        "session_name": "bench-session",
        "tags": {"team": "red"},
    }


def token_costs(alg: str, calls: int, rounds: int) -> dict[str, float]:
    keyring = KeyRing.generate(alg=alg)
    tokens = SessionTokenService(keyring, cache_size=0)
    cached = SessionTokenService(keyring)
    key = keyring.primary()
    signing = key.signing_material
    assert signing is not None  # a freshly generated key can sign
    credentials, _ = tokens.issue(**_session_kwargs())
    payload = jwt.decode(credentials.session_token, options={"verify_signature": False})
    encoded = jwt.encode(payload, signing, algorithm=alg, headers={"kid": key.kid})

    def floor_encode(n: int) -> None:
        for _ in range(n):
            jwt.encode(payload, signing, algorithm=alg, headers={"kid": key.kid})

    def floor_decode(n: int) -> None:
        for _ in range(n):
            jwt.decode(encoded, key.verification_material, algorithms=[alg], options={"verify_exp": False})

    def issue(n: int) -> None:
        kwargs = _session_kwargs()
        for _ in range(n):
            tokens.issue(**kwargs)

    def verify(n: int) -> None:
        token, akid = credentials.session_token, credentials.access_key_id
        for _ in range(n):
            tokens.secret_for(tokens.verify(token, access_key_id=akid))

    def verify_cached(n: int) -> None:
        token, akid = credentials.session_token, credentials.access_key_id
        for _ in range(n):
            cached.secret_for(cached.verify(token, access_key_id=akid))

    def verify_with_secret_cached(n: int) -> None:
        token, akid = credentials.session_token, credentials.access_key_id
        for _ in range(n):
            cached.verify_with_secret(token, access_key_id=akid)

    cached.verify(credentials.session_token)  # warm: the cached rows measure hits only

    return {
        "pyjwt encode (floor)": _per_call_us(floor_encode, calls, rounds),
        "SessionTokenService.issue": _per_call_us(issue, calls, rounds),
        "pyjwt decode (floor)": _per_call_us(floor_decode, calls, rounds),
        "SessionTokenService.verify + secret_for (uncached)": _per_call_us(verify, calls, rounds),
        "SessionTokenService.verify + secret_for (cached)": _per_call_us(verify_cached, calls, rounds),
        "SessionTokenService.verify_with_secret (cached)": _per_call_us(
            verify_with_secret_cached, calls, rounds
        ),
    }


def _signed_environ(key_id: str, secret: str) -> Callable[[], dict[str, Any]]:
    """A botocore-signed AssumeRole request as a WSGI environ factory (signed once: SigV4 allows
    replays inside the 15-minute window, which is what lets the loop reuse it)."""
    from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    body = (
        f"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A{ACCOUNT}%3Arole%2FBench"
        "&RoleSessionName=bench"
    ).encode()
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(key_id, secret), "sts", "us-east-1").add_auth(request)
    base = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": request.headers["Content-Type"],
        "HTTP_HOST": HOST,
    }
    for name, value in request.headers.items():
        if name.lower() != "content-type":
            base["HTTP_" + name.upper().replace("-", "_")] = value

    def environ() -> dict[str, Any]:
        return {**base, "wsgi.input": io.BytesIO(body)}

    return environ


def assume_role_rate(requests: int, rounds: int, alg: str) -> float:
    store = open_store("memory://", account_id=ACCOUNT, secret_box=SecretBox({"b": bytes(32)}, "b"))
    store.create_user("bench")
    store.put_inline_policy(
        PrincipalKind.USER,
        "bench",
        "p",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}],
        },
    )
    store.create_role(
        "Bench",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
    )
    key = store.create_access_key("bench")
    app = StsWsgiApp(TokenService(store, SessionTokenService(KeyRing.generate(alg=alg))))
    environ = _signed_environ(key.access_key_id, key.secret_access_key)
    statuses: list[str] = []
    app(environ(), lambda status, headers: statuses.append(status))
    if statuses != ["200 OK"]:
        raise SystemExit(f"AssumeRole through the WSGI app failed: {statuses}")

    def run(n: int) -> None:
        for _ in range(n):
            app(environ(), lambda status, headers: None)

    return 1e6 / _per_call_us(run, requests, rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="token operations per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=500, help="AssumeRole requests per round")
    parser.add_argument("--alg", default="EdDSA", choices=("EdDSA", "HS256"))
    args = parser.parse_args(argv)
    print(f"session tokens ({args.alg}), median of {args.rounds} rounds x {args.calls} calls:")
    for name, micros in token_costs(args.alg, args.calls, args.rounds).items():
        print(f"  {name:<52} {micros:9.1f} us")
    rate = assume_role_rate(args.requests, args.rounds, args.alg)
    print(f"AssumeRole end to end through the WSGI app (in-process, 1 thread): {rate:,.0f} requests/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
