"""The login/MFA/account/provider/simulator/report tests' endpoint: part 1's IAM + STS server
(``tests/iam/_endpoint.py``, the app ``iamguard serve`` runs) over a store whose clock a test
can move (MFA codes, report ages, dated SAML assertions).

Clients are unmodified boto3 ``iam``/``sts`` clients pointed at it with ``endpoint_url``, with
botocore's own parameter checks off so the server's validation is what a test sees.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import make_server

import pytest

from iamguard.cli.serve_sts import ThreadingWSGIServer
from iamguard.iam.query_api import IamEndpoint
from iamguard.iam.wsgi import IamStsWsgiApp, IamWsgiApp
from iamguard.store import IdentityService, open_store
from iamguard.store.records import AccessKeyCreated
from iamguard.sts.oidc import OidcVerifier
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

from ._endpoint import ACCOUNT, BOX, Server, _Quiet, error_of

__all__ = ["ACCOUNT", "BOX", "Clock", "Endpoint", "endpoint", "error_of", "sts_on_clock"]


class Clock:
    """``time.time()`` plus an offset a test can move."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Endpoint:
    server: Server
    clock: Clock

    @property
    def store(self) -> IdentityService:
        return self.server.store

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def root(self) -> AccessKeyCreated:
        return self.server.root

    def client(self, service: str, key: AccessKeyCreated | None = None) -> Any:
        key = key or self.root
        return self.server.client(key.access_key_id, key.secret_access_key, service=service, validate=False)

    def iam(self, key: AccessKeyCreated | None = None) -> Any:
        return self.client("iam", key)

    def user_with_key(self, name: str, *policy_arns: str) -> AccessKeyCreated:
        """A new IAM user with the given managed policies attached, and an access key."""
        self.store.create_user(name)
        for arn in policy_arns:
            self.store.attach_user_policy(name, arn)
        return self.store.create_access_key(name)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    clock = Clock()
    server = Server(open_store("memory://", account_id=ACCOUNT, secret_box=BOX, clock=clock))
    try:
        yield Endpoint(server, clock)
    finally:
        server.close()


@pytest.fixture
def sts_on_clock(endpoint: Endpoint) -> Iterator[str]:
    """A second IAM + STS server over ``endpoint``'s store whose token service reads the store's
    clock (part 1's server uses the wall clock); its URL."""
    tokens = endpoint.server.tokens
    sts = TokenService(endpoint.store, tokens, oidc_verifier=OidcVerifier(), clock=endpoint.clock)
    app = IamStsWsgiApp(IamWsgiApp(IamEndpoint(endpoint.store, sessions=tokens)), StsWsgiApp(sts))
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
