"""Which AWS service a SigV4-signed request is for, read from its credential scope.

Part of ``iam/``; pure. ``Credential=AKIA.../20261207/us-east-1/iam/aws4_request`` in the
``Authorization`` header, or ``X-Amz-Credential`` in a presigned query string, names the service
the signature was made for; one server answering IAM and STS routes by it before reading the
body. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["scope_service"]

_HEADER_SCOPE = re.compile(r"Credential=[^/,\s]+/[0-9]{8}/[^/,\s]+/([a-z0-9-]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"(?:^|&)X-Amz-Credential=([^&]*)")


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
