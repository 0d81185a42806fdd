"""The IAM + STS app ``iamguard serve`` runs, on 127.0.0.1 in a thread, for boto3 and the AWS CLI.

:class:`Server` serves :class:`~iamguard.iam.wsgi.IamStsWsgiApp` (IAM and STS on one port,
routed by the SigV4 scope's service) over a store (memory by default, or any store a test opens);
the account's root user has an access key, as an operator's would. Clients are unmodified boto3
``iam``/``sts`` clients pointed at it with ``endpoint_url``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
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
from iamguard.store.secrets import SecretBox
from iamguard.sts.service import TokenService
from iamguard.sts.wsgi import StsWsgiApp

ACCOUNT = "111122223333"
BOX = SecretBox({"k": bytes(range(32))}, "k")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Server:
    """IAM + STS over ``store`` on an ephemeral loopback port."""

    def __init__(self, store: IdentityService) -> None:
        self.store = store
        tokens = SessionTokenService(KeyRing.generate())
        self.tokens = tokens
        app = IamStsWsgiApp(
            IamWsgiApp(IamEndpoint(store, sessions=tokens)), StsWsgiApp(TokenService(store, tokens))
        )
        self.server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()
        self.root = store.create_access_key(None)

    def client(
        self,
        key_id: str,
        secret: str,
        token: str | None = None,
        *,
        service: str = "iam",
        validate: bool = True,
    ) -> Any:
        """A boto3 client; ``validate=False`` turns botocore's own parameter checks off, so the
        server's validation is what a test sees."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1}, parameter_validation=validate),
        )

    def iam(self, *, validate: bool = True) -> Any:
        """An ``iam`` client signing as the account's root user."""
        return self.client(self.root.access_key_id, self.root.secret_access_key, validate=validate)

    def iam_as(self, user_name: str) -> Any:
        """An ``iam`` client signing with a new access key of IAM user ``user_name``."""
        key = self.store.create_access_key(user_name)
        return self.client(key.access_key_id, key.secret_access_key)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def memory_store() -> IdentityService:
    return open_store("memory://", account_id=ACCOUNT, secret_box=BOX)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server(memory_store())
    try:
        yield running
    finally:
        running.close()


def error_of(method: Callable[..., Any], **params: Any) -> tuple[str, int, str]:
    """``(code, HTTP status, message)`` of the ClientError ``method(**params)`` raises."""
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        method(**params)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )
