"""IAM's rules over any storage backend: :class:`IdentityService`.

Part of ``store/``; what ``open_store`` returns. Everything AWS IAM decides about identities is
here once — name and path rules, ARNs and unique ids, quotas, managed-policy versions,
attachments, inline policies, trust policies, boundaries, tags, access keys, console passwords,
MFA devices, delete conflicts — while a :class:`~iamguard.store.protocols.StoreBackend` only
stores rows. The service is also the :class:`~iamguard.store.protocols.PolicySource` the request
path reads (``resolve_principal``), with parsed policies cached per (policy id, version).

Every public write runs in one backend transaction (so it bumps the store generation exactly
once and either happens completely or not at all); :meth:`IdentityService.atomic` groups several
writes into one such transaction.

This module only composes the service; each IAM area is a mixin in its own module:

========================  ==================================================================
``_rules.py``             name/path/description/tag/alias rules, unique ids, :class:`Quotas`
``_rows.py``              how values are encoded in backend rows
``_base.py``              shared state: backend, transactions, account, clock, secret box
``_lookups.py``           row lookups and row-to-record conversions the areas share
``_read_path.py``         ``PolicySource``: ``resolve_principal``, parsed-policy cache, keys
``_activity.py``          access-key last-used and service last-accessed data
``_account.py``           account alias and account-wide reports
``_users_groups.py``      users, groups and group membership
``_roles.py``             roles and trust policies
``_policies.py``          managed policies and policy versions
``_attachments.py``       managed-policy attachments and inline policies
``_access_keys.py``       access keys and master-key rotation
``_passwords.py``         password policy, login profiles and sign-in checks
``_mfa_devices.py``       virtual MFA devices and code verification
``_providers.py``         OIDC and SAML identity-provider records (STS federation reads them)
``_replay.py``            one-time-use records shared by every process (SAML assertion IDs)
``_sessions.py``          revoking a role's older sessions (``AWSRevokeOlderSessions``)
========================  ==================================================================

IAM API reference: https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html
Quotas and name rules: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

from __future__ import annotations

from iamguard.store._access_keys import _AccessKeys
from iamguard.store._account import _AccountAdmin
from iamguard.store._activity import AccessActivity, ServiceLastAccessed, _Activity
from iamguard.store._attachments import _PolicyAttachments
from iamguard.store._mfa_devices import _MfaDevices
from iamguard.store._passwords import _Passwords
from iamguard.store._policies import _ManagedPolicies
from iamguard.store._providers import _IdentityProviders
from iamguard.store._read_path import _ReadPath
from iamguard.store._replay import _OneTimeUse
from iamguard.store._roles import _Roles
from iamguard.store._rules import (
    DEFAULT_ACCOUNT_ID,
    Quotas,
    check_description,
    check_name,
    check_path,
    check_tags,
    new_unique_id,
    valid_account_alias,
)
from iamguard.store._sessions import _RoleSessions
from iamguard.store._users_groups import _UsersGroups

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "AccessActivity",
    "IdentityService",
    "Quotas",
    "ServiceLastAccessed",
    # re-exported rules (the CLI, declarative files and benchmarks import them from here)
    "check_description",
    "check_name",
    "check_path",
    "check_tags",
    "new_unique_id",
    "valid_account_alias",
]


class IdentityService(
    _ReadPath,
    _Activity,
    _AccountAdmin,
    _UsersGroups,
    _Roles,
    _ManagedPolicies,
    _RoleSessions,
    _PolicyAttachments,
    _AccessKeys,
    _Passwords,
    _MfaDevices,
    _IdentityProviders,
    _OneTimeUse,
):
    """The identity store: the IAM API over a backend, plus the read path.

    ``IdentityService(backend, *, account_id=None, partition="aws", secret_box=None,
    quotas=None, lockout=None, clock=time.time, cache_size=4096)`` (see ``_base._Base``).
    ``secret_box`` seals access-key secrets and MFA seeds (``SecretBox.from_env()`` when not
    given). ``clock`` returns Unix seconds and exists so tests can drive MFA and lockout time.
    """
