"""Role credentials from the container credentials endpoint (ECS task roles, EKS Pod Identity).

https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html
``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` is appended to ``http://169.254.170.2``; otherwise
``AWS_CONTAINER_CREDENTIALS_FULL_URI`` is used as is, but only over https, to a loopback address,
or to the ECS/EKS link-local hosts (botocore's allow-list), so a leaked variable cannot send the
authorization token anywhere. The token comes from ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``
(re-read each time; preferred) or ``AWS_CONTAINER_AUTHORIZATION_TOKEN``.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from iamguard.credentials._http import (
    EndpointUnavailable,
    Flow,
    HttpRequest,
    HttpResponse,
    HttpSettings,
    run_async,
    run_sync,
)
from iamguard.credentials.provider import Credentials, parse_expiration
from iamguard.errors import CredentialsError

__all__ = ["ALLOWED_HOSTS", "ECS_HOST", "ContainerProvider", "container_url_allowed"]

ECS_HOST = "169.254.170.2"
ALLOWED_HOSTS = frozenset({ECS_HOST, "169.254.170.23", "fd00:ec2::23", "localhost"})
RELATIVE_VAR = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
FULL_VAR = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_VAR = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
TOKEN_FILE_VAR = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"


def container_url_allowed(url: str) -> bool:
    """https anywhere; http only to a loopback address or an allow-listed ECS/EKS host."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname in ALLOWED_HOSTS:
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def parse_container_credentials(response: HttpResponse, *, url: str, source: str) -> Credentials:
    if response.status != 200:
        raise CredentialsError(
            f"{source}: {url} answered HTTP {response.status}; check the task/pod role "
            "and the authorization token"
        )
    try:
        data: Any = json.loads(response.body)
        return Credentials(
            data["AccessKeyId"],
            data["SecretAccessKey"],
            data.get("Token") or None,
            expiration=parse_expiration(data["Expiration"]) if data.get("Expiration") else None,
            source=source,
            account_id=data.get("AccountId") or None,
        )
    except (ValueError, TypeError, KeyError) as exc:
        missing = f" (missing {exc.args[0]})" if isinstance(exc, KeyError) else ""
        raise CredentialsError(f"{source}: {url} returned an invalid credentials document{missing}") from None


class ContainerProvider:
    name = "container"
    role = True

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        settings: HttpSettings | None = None,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._env = env
        # botocore: 2 s timeout, 3 attempts; the endpoint is local so failures are real errors.
        self._settings = settings or HttpSettings(connect_timeout=1.0, read_timeout=2.0, attempts=3)
        self._client = client
        self._async_client = async_client

    def _environ(self) -> Mapping[str, str]:
        return os.environ if self._env is None else self._env

    def is_configured(self) -> bool:
        env = self._environ()
        return bool(env.get(RELATIVE_VAR) or env.get(FULL_VAR))

    def url(self) -> str | None:
        env = self._environ()
        if env.get(RELATIVE_VAR):
            return f"http://{ECS_HOST}{env[RELATIVE_VAR]}"
        full = env.get(FULL_VAR)
        if full and not container_url_allowed(full):
            raise CredentialsError(
                f"container: {FULL_VAR} host {urlsplit(full).hostname!r} is not allowed; use https, a "
                f"loopback address or one of {', '.join(sorted(ALLOWED_HOSTS))}"
            )
        return full or None

    def _headers(self) -> tuple[tuple[str, str], ...]:
        env = self._environ()
        token: str | None = None
        if env.get(TOKEN_FILE_VAR):
            try:
                with open(env[TOKEN_FILE_VAR], encoding="utf-8") as handle:
                    token = handle.read()
            except OSError as exc:
                raise CredentialsError(
                    f"container: cannot read {TOKEN_FILE_VAR} ({exc.strerror or type(exc).__name__})"
                ) from None
        elif env.get(TOKEN_VAR):
            token = env[TOKEN_VAR]
        if token is None:
            return ()
        if "\r" in token or "\n" in token:
            raise CredentialsError(
                "container: the authorization token contains a line break; it is not a "
                "legal header value (check the token file for a trailing newline)"
            )
        return (("Authorization", token),)

    def _flow(self, url: str) -> Flow[Credentials]:
        request = HttpRequest("GET", url, (*self._headers(), ("Accept", "application/json")))
        try:
            response = yield request
        except EndpointUnavailable as exc:
            raise CredentialsError(
                f"container: {exc}; is this running in ECS/EKS with a task/pod role?"
            ) from None
        return parse_container_credentials(response, url=url, source=self.name)

    def load_or_reason(self) -> Credentials | str:
        url = self.url()
        if url is None:
            return f"neither {RELATIVE_VAR} nor {FULL_VAR} is set"
        return run_sync(self._flow(url), self._settings, self._client)

    def load(self) -> Credentials | None:
        found = self.load_or_reason()
        return found if isinstance(found, Credentials) else None

    async def aload(self) -> Credentials | None:
        url = self.url()
        if url is None:
            return None
        return await run_async(self._flow(url), self._settings, self._async_client)
