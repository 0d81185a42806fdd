"""Action name → :class:`~iamguard.iam._operation.Operation`: which IAM actions exist here.

Part of ``iam/``. Each ``ops_*`` module declares its operations with
:func:`~iamguard.iam._operation.operation`; :func:`operations` imports every module named in
``_OPERATION_MODULES`` once and returns the filled table.

**Adding a module**: append its name to ``_OPERATION_MODULES`` (a one-line edit; nothing else
here changes). Modules of the identity half (users, groups, roles, policies, inline policies,
boundaries, access keys) come first; login profiles, MFA, account, identity providers, the
simulator and reports follow.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from types import MappingProxyType

from iamguard.errors import IAMGuardError
from iamguard.iam._model import API_VERSION, operation_names
from iamguard.iam._operation import OPERATIONS, Operation

__all__ = ["find", "operations"]

_OPERATION_MODULES: tuple[str, ...] = (
    "ops_users",
    "ops_groups",
    "ops_roles",
    "ops_policies",
    "ops_attachments",
    "ops_inline",
    "ops_keys",
    "ops_login",
    "ops_mfa",
    "ops_account",
    "ops_providers",
    "ops_simulate",
    "ops_reports",
)

_lock = threading.Lock()
_loaded = False


def operations() -> Mapping[str, Operation]:
    """Every declared operation by action name (the modules are imported on first call)."""
    global _loaded
    if not _loaded:
        with _lock:
            if not _loaded:
                for name in _OPERATION_MODULES:
                    importlib.import_module(f"iamguard.iam.{name}")
                _loaded = True
    return MappingProxyType(OPERATIONS)


def find(action: str, version: str | None = API_VERSION) -> Operation:
    """The operation for ``action``; AWS's ``InvalidAction`` (400) for an unknown action or API
    version, and for an action AWS has that iamguard does not implement."""
    found = operations().get(action) if version == API_VERSION else None
    if found is None:
        known = action in operation_names()
        detail = " (not implemented by iamguard)" if known and version == API_VERSION else ""
        raise IAMGuardError(
            f"Could not find operation {action[:64]} for version {version}{detail}",
            code="InvalidAction",
            http_status=400,
        )
    return found
