"""Stage 6 of the request path: act on the decision. The guards, ``@require``, the WSGI and ASGI
middlewares, audit sinks and the one error renderer.

This module is the public API of ``iamguard.enforce``: import from here (or from ``iamguard``).
The modules inside the package (``guard``, ``require``, ``wsgi``, ``asgi``, ...) are private;
their names and contents may change between releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamguard._lazy import lazy_exports

# Imported now, not lazily: the function shares its name with its module, and a lazy name would
# be shadowed by the submodule attribute as soon as anything imported ``iamguard.enforce.require``.
from iamguard.enforce.require import require

if TYPE_CHECKING:
    from iamguard._wire import receive_body
    from iamguard.enforce.asgi import IAMGuardASGIMiddleware, view_from_scope
    from iamguard.enforce.audit import (
        AccessTracker,
        ActivityStore,
        AuditEvent,
        AuditSink,
        JsonLinesAuditSink,
        LoggingAuditSink,
    )
    from iamguard.enforce.errors import (
        ErrorResponse,
        ErrorStyle,
        RenderError,
        log_error_response,
        log_server_error,
        render_error,
    )
    from iamguard.enforce.guard import AsyncGuard, Guard, RequestState
    from iamguard.enforce.request_id import REQUEST_ID_KEY, new_request_id
    from iamguard.enforce.require import ResourceTemplate, acting_as, current_request
    from iamguard.enforce.wsgi import IAMGuardMiddleware
    from iamguard.errors import AccessDeniedError, EncodedAccessDeniedError

_LAZY = {
    "ActivityStore": "iamguard.enforce.audit",
    "receive_body": "iamguard._wire",
    "IAMGuardASGIMiddleware": "iamguard.enforce.asgi",
    "view_from_scope": "iamguard.enforce.asgi",
    "AccessTracker": "iamguard.enforce.audit",
    "AuditEvent": "iamguard.enforce.audit",
    "AuditSink": "iamguard.enforce.audit",
    "JsonLinesAuditSink": "iamguard.enforce.audit",
    "LoggingAuditSink": "iamguard.enforce.audit",
    "ErrorResponse": "iamguard.enforce.errors",
    "ErrorStyle": "iamguard.enforce.errors",
    "RenderError": "iamguard.enforce.errors",
    "log_error_response": "iamguard.enforce.errors",
    "log_server_error": "iamguard.enforce.errors",
    "render_error": "iamguard.enforce.errors",
    "AsyncGuard": "iamguard.enforce.guard",
    "Guard": "iamguard.enforce.guard",
    "RequestState": "iamguard.enforce.guard",
    "REQUEST_ID_KEY": "iamguard.enforce.request_id",
    "new_request_id": "iamguard.enforce.request_id",
    "ResourceTemplate": "iamguard.enforce.require",
    "acting_as": "iamguard.enforce.require",
    "current_request": "iamguard.enforce.require",
    "IAMGuardMiddleware": "iamguard.enforce.wsgi",
    "AccessDeniedError": "iamguard.errors",
    "EncodedAccessDeniedError": "iamguard.errors",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "REQUEST_ID_KEY",
    "AccessDeniedError",
    "AccessTracker",
    "ActivityStore",
    "AsyncGuard",
    "AuditEvent",
    "AuditSink",
    "EncodedAccessDeniedError",
    "ErrorResponse",
    "ErrorStyle",
    "Guard",
    "IAMGuardASGIMiddleware",
    "IAMGuardMiddleware",
    "JsonLinesAuditSink",
    "LoggingAuditSink",
    "RenderError",
    "RequestState",
    "ResourceTemplate",
    "acting_as",
    "current_request",
    "log_error_response",
    "log_server_error",
    "new_request_id",
    "receive_body",
    "render_error",
    "require",
    "view_from_scope",
]
