"""Which AWS service a SigV4-signed request is for, read from its credential scope.

Part of ``iam/``; pure. ``Credential=AKIA.../20261207/us-east-1/iam/aws4_request`` in the
``Authorization`` header, or ``X-Amz-Credential`` in a presigned query string, names the service
the signature was made for; one server answering IAM and STS routes by it before reading the
body. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["IAM_VERSION_PARAM", "names_iam_version", "scope_service"]

#: ``Version=2010-05-08``: how an unsigned request names the IAM API (STS's is 2011-06-15).
IAM_VERSION_PARAM = "Version=2010-05-08"
_VERSION = re.compile(r"(?:^|&)Version=2010-05-08(?:&|$)")

_HEADER_SCOPE = re.compile(r"Credential=[^/,\s]+/[0-9]{8}/[^/,\s]+/([a-z0-9-]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"(?:^|&)X-Amz-Credential=([^&]*)")


def names_iam_version(form: str) -> bool:
    """Whether a form body or query string asks for IAM's API version."""
    return _VERSION.search(form) is not None


def scope_service(authorization: str | None, query_string: str = "") -> str | None:
    """The service of the request's SigV4 scope, ``None`` when it carries none (unsigned)."""
    if authorization:
        found = _HEADER_SCOPE.search(authorization)
        return found.group(1) if found else None
    if "X-Amz-Credential" in query_string:
        found = _QUERY_SCOPE.search(query_string)
        if found:
            parts = unquote(found.group(1)).split("/")
            return parts[3] if len(parts) == 5 else None
    return None
