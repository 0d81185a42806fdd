"""An IAM + STS endpoint on 127.0.0.1 for the login/MFA/account/provider/simulator/report tests.

The same app ``iamguard serve`` runs (:class:`~iamguard.iam.wsgi.IamStsWsgiApp`: IAM and STS on
one port, routed by the SigV4 scope's service) over a memory store, in a thread; clients are
unmodified boto3 ``iam``/``sts`` clients (and the AWS CLI) pointed at it with ``endpoint_url``.
The account's root user has an access key (``Endpoint.root``), as an operator's would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from iamguard.authn.session_token import SessionTokenService
from iamguard.cli.serve_sts import ThreadingWSGIServer
from iamguard.iam.query_api import IamEndpoint
from iamguard.iam.wsgi import IamStsWsgiApp, IamWsgiApp
from iamguard.keyring import KeyRing
from iamguard.store import IdentityService, open_store
from iamguard.store.records import AccessKeyCreated
from iamguard.store.secrets import SecretBox
from iamguard.sts.oidc import OidcVerifier
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

ACCOUNT = "111122223333"
BOX = SecretBox({"t": bytes(range(32))}, "t")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Clock:
    """``time.time()`` plus an offset a test can move (MFA codes, report ages)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Endpoint:
    store: IdentityService
    url: str
    root: AccessKeyCreated
    clock: Clock

    def client(self, service: str, key: AccessKeyCreated | None = None, token: str | None = None) -> Any:
        key = key or self.root
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
            aws_session_token=token,
            # the server checks parameters: botocore's own checks would stop bad values first
            config=Config(retries={"max_attempts": 1}, parameter_validation=False),
        )

    def iam(self, key: AccessKeyCreated | None = None) -> Any:
        return self.client("iam", key)

    def user_with_key(self, name: str, *policy_arns: str) -> AccessKeyCreated:
        """A new IAM user with the given managed policies attached, and an access key."""
        self.store.create_user(name)
        for arn in policy_arns:
            self.store.attach_user_policy(name, arn)
        return self.store.create_access_key(name)


def serve_endpoint(store: IdentityService, clock: Clock) -> tuple[Any, threading.Thread, str]:
    tokens = SessionTokenService(KeyRing.generate())
    sts = TokenService(store, tokens, oidc_verifier=OidcVerifier(), clock=clock)
    app = IamStsWsgiApp(IamWsgiApp(IamEndpoint(store, sessions=tokens)), StsWsgiApp(sts))
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    clock = Clock()
    store = open_store("memory://", account_id=ACCOUNT, secret_box=BOX, clock=clock)
    server, thread, url = serve_endpoint(store, clock)
    try:
        yield Endpoint(store, url, store.create_access_key(None), clock)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def error_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    """``(Code, HTTP status, Message)`` of the ClientError the call raises (fails if it succeeds)."""
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )
