"""A local container-credentials endpoint: hand role credentials to SDKs on this machine.

Serves the protocol of the ECS/EKS container credentials endpoint, which every AWS SDK reads
when ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` points at it
(https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html):
``GET <path>`` with ``Authorization: <token>`` (the token read from
``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``) answers ``200`` and the JSON document
``{"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"?, "AccountId"?}``
(botocore's ``ContainerProvider`` requires the first four;
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html shows the shape).

Security choices, all failing closed:

* bound to a loopback address unless ``allow_non_loopback`` is set (SDKs only accept plain
  http to loopback hosts anyway), and requests whose ``Host`` is not a loopback name are
  refused while bound to loopback (a DNS-rebinding page cannot name this server);
* a random token compared with :func:`hmac.compare_digest`; 401 without it, 403 when wrong;
* only temporary credentials with an expiration are served, and never expired ones (the
  source, typically a :class:`~iamguard.credentials.refresh.RefreshableCredentials`, refreshes
  ahead of expiry);
* error bodies and the access log carry no secret, token or session token.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from iamguard.credentials.provider import Credentials, CredentialSource
from iamguard.credentials.refresh import Clock, RefreshWindows
from iamguard.errors import CredentialsError, IAMGuardError, InvalidParameterError

__all__ = [
    "DEFAULT_PATH",
    "CredentialsServer",
    "credentials_document",
    "generate_token",
    "is_loopback_host",
    "serving_windows",
    "write_token_file",
]

logger = logging.getLogger(__name__)

DEFAULT_PATH = "/creds"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def generate_token() -> str:
    """A fresh 256-bit URL-safe token (no line breaks: it must be a legal header value)."""
    return secrets.token_urlsafe(32)


def write_token_file(path: str | os.PathLike[str], token: str) -> Path:
    """Write ``token`` to ``path`` readable by the owner only (0600), without a trailing newline.

    The SDKs send the file's content verbatim as the header value, so a newline would make the
    token illegal (botocore and iamguard both refuse it).
    """
    target = Path(path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT: fix it
        os.write(fd, token.encode("utf-8"))
    finally:
        os.close(fd)
    return target


def serving_windows(duration_seconds: float) -> RefreshWindows:
    """Refresh windows for credentials handed to other SDKs: refresh well before *their* windows.

    botocore refreshes 15 min (advisory) / 10 min (mandatory) before expiry; serving
    credentials with less left makes every client refetch on every call. So the server refreshes
    at half the lifetime (at most 25 min before expiry) and never serves credentials with less
    than a quarter of it (at most 15 min) left.
    """
    lifetime = max(duration_seconds, 0.0)
    return RefreshWindows(advisory=min(lifetime / 2, 25 * 60.0), mandatory=min(lifetime / 4, 15 * 60.0))


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP address (``127.0.0.0/8``, ``::1``)."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def credentials_document(credentials: Credentials, *, role_arn: str | None = None) -> dict[str, str]:
    """The container-credentials JSON for ``credentials`` (temporary credentials only)."""
    if credentials.expiration is None or not credentials.session_token:
        raise CredentialsError(
            "the container credentials protocol serves temporary credentials only "
            "(a session token and an expiration); assume a role first"
        )
    document = {
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
        "Token": credentials.session_token,
        "Expiration": _iso(credentials.expiration),
    }
    if role_arn:
        document["RoleArn"] = role_arn
    if credentials.account_id:
        document["AccountId"] = credentials.account_id
    return document


def _host_name(host_header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8080`` → ``::1``, ``a:80`` → ``a``)."""
    value = host_header.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    endpoint: CredentialsServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a local client answers in milliseconds; do not let a stuck one hold a thread
    server_version = "iamguard-credentials"
    sys_version = ""

    def do_GET(self) -> None:
        status, body, note = self.server.endpoint.answer(
            self.path, self.headers.get_all("Authorization") or [], self.headers.get("Host")
        )
        self.server.endpoint.log_access(self.client_address[0], "GET", self.path, status, note)
        self._send(status, body)

    def _refuse_method(self) -> None:
        self.server.endpoint.log_access(self.client_address[0], self.command, self.path, 405, "")
        self._send(405, _error("MethodNotAllowed", "only GET is supported"), {"Allow": "GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse_method

    def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return  # CredentialsServer.log_access writes the access log, without header values

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("credentials server: " + format, *args)


def _error(code: str, message: str) -> bytes:
    return json.dumps({"Code": code, "Message": message}).encode()


class CredentialsServer:
    """The endpoint: ``start()`` in a background thread (or ``serve_forever()``), then ``shutdown()``.

    ``source.get()`` is called for every request, so a refreshing source decides freshness;
    ``token`` defaults to :func:`generate_token`. ``port=0`` picks a free port (see :attr:`url`).
    """

    def __init__(
        self,
        source: CredentialSource,
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = DEFAULT_PATH,
        role_arn: str | None = None,
        allow_non_loopback: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if not allow_non_loopback and not is_loopback_host(host):
            raise InvalidParameterError(
                f"refusing to serve credentials on non-loopback address {host!r}; "
                "pass allow_non_loopback=True (--allow-non-loopback) if you really mean it"
            )
        if not path.startswith("/"):
            raise InvalidParameterError("path must start with '/'")
        self.token = token if token is not None else generate_token()
        if not self.token or "\r" in self.token or "\n" in self.token:
            raise InvalidParameterError(
                "the authorization token must be non-empty and contain no line breaks"
            )
        self._token_bytes = self.token.encode("utf-8")
        self._source = source
        self.path = path
        self.role_arn = role_arn
        self._loopback_only = not allow_non_loopback
        self._clock: Clock = clock or (lambda: datetime.now(timezone.utc))
        self._httpd = self._bind(host, port)
        self._thread: threading.Thread | None = None
        self._serving = False  # serve_forever was (or is about to be) entered: shutdown must signal it

    def _bind(self, host: str, port: int) -> _Server:
        server_class: type[_Server] = _Server
        if ":" in host.strip("[]"):
            server_class = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
        httpd = server_class((host.strip("[]"), port), _Handler)
        httpd.endpoint = self
        return httpd

    # ------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        """The port the server listens on (the one chosen when started with port 0)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """What to export as ``AWS_CONTAINER_CREDENTIALS_FULL_URI``."""
        host = str(self._httpd.server_address[0])
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}{self.path}"

    def start(self) -> CredentialsServer:
        """Serve in a daemon thread; returns ``self`` for chaining."""
        self._serving = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="iamguard-credentials-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`shutdown` is called from another one."""
        self._serving = True
        self._httpd.serve_forever(poll_interval=0.05)

    def shutdown(self) -> None:
        """Stop serving (from another thread than :meth:`serve_forever`'s) and close the socket."""
        if self._serving:
            self._httpd.shutdown()  # returns once the serving loop has exited
            self._serving = False
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> CredentialsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------ one request (no I/O)

    def answer(
        self, request_path: str, authorizations: list[str], host: str | None
    ) -> tuple[int, bytes, str]:
        """``(status, body, log note)`` for one GET; the note names an access key id, never a secret."""
        if self._loopback_only and (host is None or not is_loopback_host(_host_name(host))):
            return 403, _error("AccessDenied", "the Host header must name a loopback address"), "bad host"
        if not authorizations:
            return 401, _error("Unauthorized", "the Authorization header is missing"), "no token"
        presented = authorizations[0].encode("utf-8", "surrogateescape")
        if len(authorizations) != 1 or not hmac.compare_digest(presented, self._token_bytes):
            return 403, _error("AccessDenied", "the authorization token is not valid"), "bad token"
        if request_path.split("?", 1)[0] != self.path:
            return 404, _error("NotFound", "no credentials at this path"), ""
        return self._credentials()

    def _credentials(self) -> tuple[int, bytes, str]:
        try:
            credentials = self._source.get()
            if credentials.expired(self._clock()):
                raise CredentialsError("the credentials source returned expired credentials")
            document = credentials_document(credentials, role_arn=self.role_arn)
        except IAMGuardError as exc:
            logger.error("credentials server: cannot serve credentials: %s: %s", exc.code, exc)
            return (
                503,
                _error(
                    "CredentialsUnavailable",
                    "credentials are not available right now; see the credentials server's log",
                ),
                exc.code,
            )
        except Exception as exc:
            logger.error("credentials server: credentials source failed: %s", type(exc).__name__)
            return (
                503,
                _error(
                    "CredentialsUnavailable",
                    "credentials are not available right now; see the credentials server's log",
                ),
                type(exc).__name__,
            )
        return (
            200,
            json.dumps(document).encode(),
            f"served {credentials.access_key_id} until {document['Expiration']}",
        )

    def log_access(self, client: str, method: str, path: str, status: int, note: str) -> None:
        """One access-log line; header values (the token) are never part of it."""
        logger.info("%s %s %s %d %s", client, method, path.split("?", 1)[0], status, note)
