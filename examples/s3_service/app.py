"""An S3-compatible object service as a Flask app, guarded by iamguard's Flask extension.

``create_app(store, data=...)`` returns a WSGI app that unmodified boto3 and the AWS CLI talk to
(``endpoint_url=http://127.0.0.1:PORT``). Authentication (SigV4 header and presigned, session
credentials from iamguard's STS, aws-chunked bodies) is iamguard's WSGI middleware installed by
:class:`~flask_iamguard.IAMGuard`; each operation in
:mod:`.operations` is wrapped in ``@require(action, resource)``. This module only routes.

Addressing (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html):

* path style ``http://127.0.0.1:9000/bucket/key`` — what boto3 uses when the endpoint is an IP
  address;
* virtual-hosted style ``http://bucket.localhost:9000/key`` — what boto3 uses for a DNS name
  (even ``localhost``). The bucket is the ``Host`` label(s) before one of
  ``virtual_host_domains``.

Legacy SigV2 presigned URLs (``?AWSAccessKeyId=…&Signature=…&Expires=…``), which boto3 still
generates for custom endpoints unless the client is configured with
``Config(signature_version="s3v4")``, are refused with an S3 ``InvalidRequest`` that says so.

Serving: anything reachable from another machine runs under gunicorn, e.g.
``gunicorn --workers 4 --worker-class gthread --bind 0.0.0.0:9000
'examples.s3_service.app:create_app("sqlite:///iam.db", data="s3.db")'``. Werkzeug's development
server (``serve.py``, ``app.run()``) is for local tries on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from flask import Flask, Response, current_app, request
from flask_iamguard import IAMGuard
from werkzeug.exceptions import HTTPException

from iamguard import (
    AuditSink,
    AuthorizationMessageCodec,
    Guard,
    IAMGuardError,
    Policy,
    PolicyError,
    PolicyKind,
    RequestState,
    SessionTokenService,
    parse_policy,
    render_error,
)
from iamguard.enforce import REQUEST_ID_KEY, new_request_id
from iamguard.store import IdentityService, open_store
from iamguard.sts import ENV_KEYS, ENV_KEYS_FILE, keyring_from_env

from . import operations as ops
from .s3xml import S3Error, error_document
from .storage import ObjectStorage, StorageError

__all__ = ["S3ServiceState", "create_app"]

SIGV2_PRESIGN_MESSAGE = (
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256. "
    "This is a legacy Signature Version 2 presigned URL; boto3 makes those for custom endpoints "
    'unless the client is created with botocore.config.Config(signature_version="s3v4").'
)
_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]
#: Query parameters that select an ordinary operation (anything else names a subresource).
_PLAIN_PARAMS = frozenset(
    {
        "x-id",
        "list-type",
        "prefix",
        "delimiter",
        "max-keys",
        "continuation-token",
        "start-after",
        "fetch-owner",
        "encoding-type",
        "response-content-type",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    }
)


@dataclass
class S3ServiceState:
    """Per-app state in ``app.extensions["s3_service"]``: storage and service identity."""

    storage: ObjectStorage
    account_id: str
    region: str
    virtual_host_domains: tuple[str, ...]
    clock: Callable[[], float] = time.time
    _policies: dict[str, Policy] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def parsed_policy(self, text: str | None) -> Policy | None:
        """The bucket policy as a parsed resource policy, parsed once per distinct text.

        One object per text also lets the guard's evaluator reuse its compiled form.
        """
        if text is None:
            return None
        with self._lock:
            policy = self._policies.get(text)
            if policy is None:
                policy = parse_policy(text, name="bucket-policy", kind=PolicyKind.RESOURCE)
                if len(self._policies) > 1024:
                    self._policies.clear()
                self._policies[text] = policy
            return policy

    def validate_policy(self, bucket: str, text: str) -> Policy:
        """A bucket policy S3 would accept: a valid resource policy on this bucket's ARNs only.

        https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html
        (``MalformedPolicy``: "Policy has invalid resource" for ARNs outside the bucket).
        """
        try:
            policy = self.parsed_policy(text)
        except PolicyError as error:
            raise S3Error("MalformedPolicy", 400, str(error) or "Policies must be valid JSON") from None
        assert policy is not None
        own = f"arn:aws:s3:::{bucket}"
        for statement in policy.statements:
            for arn in (statement.resource or ()) + (statement.not_resource or ()):
                if arn != own and not arn.startswith(own + "/"):
                    raise S3Error("MalformedPolicy", 400, "Policy has invalid resource")
        return policy

    def canonical_id(self, account: str) -> str:
        """A stable 64-hex canonical user id for an account (S3's Owner/ID shape)."""
        return hashlib.sha256(f"iamguard-s3-owner:{account}".encode()).hexdigest()


def create_app(
    store: str | IdentityService,
    *,
    data: str = ":memory:",
    sessions: SessionTokenService | None = None,
    messages: AuthorizationMessageCodec | None = None,
    region: str = "us-east-1",
    virtual_host_domains: Sequence[str] = ("localhost",),
    audit: AuditSink | None = None,
    max_body_size: int = 64 * 1024 * 1024,
) -> Flask:
    """The S3 example app over the identity ``store`` (URL or store) and object storage ``data``.

    ``sessions`` verifies temporary credentials issued by iamguard's STS (use the same keyring);
    without it the keyring comes from ``IAMGUARD_STS_KEYS`` / ``IAMGUARD_STS_KEYS_FILE`` when set
    (what ``iamguard keys generate`` prints), so a separate ``iamguard serve-sts`` given the same
    keyring issues credentials this app accepts. ``store`` as a URL must name an existing store
    (never created here) whose master key check passes: a misconfiguration fails now, at start.
    ``messages`` encodes the authorization failure message carried by ``AccessDenied`` errors
    (use the STS's codec so ``DecodeAuthorizationMessage`` opens it). Real S3 returns no encoded
    message; this example adds one so a denial can be explained.
    """
    source = open_store(store) if isinstance(store, str) else store
    if sessions is None and (os.environ.get(ENV_KEYS) or os.environ.get(ENV_KEYS_FILE)):
        sessions = SessionTokenService(keyring_from_env())
    app = Flask("s3_service")
    app.url_map.merge_slashes = False  # keys may hold "//"
    app.config["IAMGUARD_ERROR_STYLE"] = "s3"
    state = S3ServiceState(
        ObjectStorage(data), source.account().account_id, region, tuple(virtual_host_domains)
    )
    app.extensions["s3_service"] = state
    app.add_url_rule("/", "s3", _dispatch, methods=_METHODS, defaults={"path": ""}, strict_slashes=False)
    app.add_url_rule("/<path:path>", "s3", _dispatch, methods=_METHODS, strict_slashes=False)
    app.register_error_handler(S3Error, _render_s3_error)
    app.register_error_handler(StorageError, _render_storage_error)
    app.register_error_handler(HTTPException, _render_http_exception)
    app.after_request(_common_headers)
    guard = Guard(source, sessions=sessions, service="s3", region=region, messages=messages, audit=audit)
    IAMGuard(app, guard=guard)
    app.wsgi_app.max_body_size = max_body_size  # type: ignore[attr-defined]
    app.wsgi_app = _RefuseSigV2Presign(app.wsgi_app)  # type: ignore[method-assign]
    return app


# ---------------------------------------------------------------- routing


def _target() -> tuple[str | None, str]:
    """(bucket, key) from the Host header and the raw path, key percent-decoded once."""
    state: S3ServiceState = current_app.extensions["s3_service"]
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    path = unquote(str(raw).split("?", 1)[0]) if raw else request.path
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    host = host.lower()
    for domain in state.virtual_host_domains:
        if host.endswith("." + domain):
            return host[: -len(domain) - 1], path[1:]
    bucket, _, key = path[1:].partition("/")
    return (bucket or None), key


def _dispatch(path: str) -> Response:
    del path  # the route only catches everything; _target reads the raw path and the Host
    bucket, key = _target()
    subresources = {name for name in request.args if name not in _PLAIN_PARAMS}
    method = request.method
    if bucket is None:
        if method == "GET" and not subresources:
            return ops.list_buckets()
        raise S3Error(
            "MethodNotAllowed",
            405,
            "The specified method is not allowed against this resource.",
            Method=method,
            ResourceType="SERVICE",
        )
    if not key:
        return _bucket_operation(method, bucket, subresources)
    if subresources:
        raise _not_implemented(subresources)
    handler = {
        "PUT": ops.put_object,
        "GET": ops.get_object,
        "HEAD": ops.head_object,
        "DELETE": ops.delete_object,
    }.get(method)
    if handler is None:
        raise S3Error(
            "MethodNotAllowed",
            405,
            "The specified method is not allowed against this resource.",
            Method=method,
            ResourceType="OBJECT",
        )
    return handler(bucket, key)


def _bucket_operation(method: str, bucket: str, subresources: set[str]) -> Response:
    if subresources == {"policy"}:
        handler = {
            "PUT": ops.put_bucket_policy,
            "GET": ops.get_bucket_policy,
            "DELETE": ops.delete_bucket_policy,
        }.get(method)
    elif subresources == {"publicAccessBlock"}:
        handler = {
            "PUT": ops.put_public_access_block,
            "GET": ops.get_public_access_block,
            "DELETE": ops.delete_public_access_block,
        }.get(method)
    elif subresources == {"location"} and method == "GET":
        handler = ops.get_bucket_location
    elif subresources:
        raise _not_implemented(subresources)
    elif method == "GET":
        if request.args.get("list-type") != "2":
            raise S3Error(
                "NotImplemented",
                501,
                "Only ListObjectsV2 (list-type=2) is implemented by this example service.",
            )
        handler = ops.list_objects_v2
    else:
        handler = {"PUT": ops.create_bucket, "HEAD": ops.head_bucket, "DELETE": ops.delete_bucket}.get(method)
    if handler is None:
        raise S3Error(
            "MethodNotAllowed",
            405,
            "The specified method is not allowed against this resource.",
            Method=method,
            ResourceType="BUCKET",
        )
    return handler(bucket)


def _not_implemented(subresources: Iterable[str]) -> S3Error:
    names = ", ".join(sorted(subresources))
    return S3Error(
        "NotImplemented",
        501,
        f"A header or query you provided implies functionality that is not implemented ({names}).",
    )


# ---------------------------------------------------------------- responses


def _request_id() -> str:
    state = request.environ.get("iamguard")
    if isinstance(state, RequestState) and state.authenticated is not None and state.authenticated.request_id:
        return state.authenticated.request_id
    return str(request.environ.get(REQUEST_ID_KEY, ""))  # unauthenticated: the middleware's id


def _error_response(error: S3Error) -> Response:
    body = error_document(error, _request_id())
    return Response(body, status=error.status, content_type="application/xml")


def _render_s3_error(error: S3Error) -> Response:
    return _error_response(error)


def _render_storage_error(error: StorageError) -> Response:
    return _error_response(S3Error(error.code, error.status, error.message, **error.details))


def _render_http_exception(error: HTTPException) -> Response:
    return _error_response(
        S3Error("InvalidRequest", error.code or 400, error.description or "Invalid request")
    )


def _common_headers(response: Response) -> Response:
    request_id = _request_id()
    response.headers.setdefault("x-amz-request-id", request_id)
    response.headers.setdefault("x-amz-id-2", request_id)
    return response


class _RefuseSigV2Presign:
    """Refuse legacy SigV2 presigned URLs before authentication, naming the boto3 setting.

    Only a clearer message: iamguard's verifier refuses SigV2 anyway (fail closed).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        names = {name for name, _ in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)}
        if {"AWSAccessKeyId", "Signature"} <= names:
            error = IAMGuardError(SIGV2_PRESIGN_MESSAGE, code="InvalidRequest", http_status=400)
            status, headers, body = render_error(error, style="s3", request_id=new_request_id())
            start_response(f"{status} Bad Request", headers)
            return [body]
        answer: Iterable[bytes] = self.app(environ, start_response)
        return answer
