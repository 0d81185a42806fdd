"""Declarative account files: describe users, groups, roles and policies; make the store match.

An account file (YAML or JSON) states what an account should hold::

    version: 1
    account:
      account_id: "123456789012"         # optional; the store must hold this account (AccountId also read)
      alias: example-co                  # null removes the alias
      password_policy: {MinimumPasswordLength: 14, RequireSymbols: true}   # AWS field names
    policies:                            # customer managed policies
      - name: S3Read
        path: /                          # fixed at creation (AWS cannot move a policy)
        description: Read the data bucket
        document: {Version: "2012-10-17", Statement: [...]}
    groups:
      - {name: devs, attached_policies: [S3Read], inline_policies: {Extra: {...}}}
    users:
      - name: alice
        path: /eng/
        tags: {team: eng}
        groups: [devs]
        permissions_boundary: S3Read     # null: no boundary
        attached_policies: [arn:aws:iam::iamguard:policy/ReadOnlyAccess]
        inline_policies: {}
    roles:
      - name: deployer
        trust_policy: {...}              # required to create a role
        description: CI deploys
        max_session_duration: 3600
        tags: {}
        permissions_boundary: null
        attached_policies: []
        inline_policies: {}

Rules, chosen so that applying a file is predictable and safe:

* **One account.** ``account_id`` pins the file to an account: applying it to a store that
  holds another account is refused, and ``apply --create`` makes a new store with that id.
* **Never secrets.** Access keys, passwords and MFA seeds are not part of a file, and deleting an
  entity is the only way apply touches them (``--prune`` with ``force``).
* **A field left out is left alone**; a field present is made exactly true (``tags: {}`` removes
  every tag, ``attached_policies: []`` detaches everything). ``export`` writes every field, so
  an exported file pins the whole account.
* **Entities not in the file are never deleted** unless ``prune=True``; without it the plan
  lists them as left alone.
* Policy references are a customer policy's name (one in the file, or in the store), a
  built-in policy's name, or any managed policy ARN.
* Applying computes a :class:`Plan` (create/update/delete, each with its steps), and runs every
  step in **one store transaction** (``IdentityService.atomic``): a failure leaves nothing
  half-applied. Applying a plan re-computes it inside the transaction and refuses if the store
  changed since the plan was shown.
* What IAM cannot change in place (a role's or policy's path, a policy's description) is a
  problem or a warning, never a silent delete-and-recreate (which would change unique ids).
"""

from __future__ import annotations

from iamguard.declarative.export import dump_account_file, export_account
from iamguard.declarative.plan import Change, Plan, Step, apply_plan, make_plan
from iamguard.declarative.spec import (
    KEEP,
    AccountSpec,
    GroupSpec,
    PolicySpec,
    RoleSpec,
    UserSpec,
    load_account_file,
    parse_account_file,
    spec_from_data,
)

__all__ = [
    "KEEP",
    "AccountSpec",
    "Change",
    "GroupSpec",
    "Plan",
    "PolicySpec",
    "RoleSpec",
    "Step",
    "UserSpec",
    "apply_plan",
    "dump_account_file",
    "export_account",
    "load_account_file",
    "make_plan",
    "parse_account_file",
    "spec_from_data",
]
