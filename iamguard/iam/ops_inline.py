"""Inline policies: Put/Get/List/Delete{User,Group,Role}Policy.

Part of ``iam/``. Authorization is on the owning entity (see ``_owners.py``). Get*Policy returns
the document URL-encoded, as AWS does; the owner's inline policies share a size quota
(``LimitExceeded``), a bad document is ``MalformedPolicyDocument``.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUserPolicy.html
"""

from __future__ import annotations

from iamguard.iam._operation import Call, Result, Target, operation
from iamguard.iam._owners import OWNER_WORDS, owner_target
from iamguard.iam._paging import page
from iamguard.iam._quota import require_within
from iamguard.iam._records import encoded_document
from iamguard.store.records import PrincipalKind

__all__: list[str] = []


def _declare(kind: PrincipalKind) -> None:
    word = OWNER_WORDS[kind]
    name_param = f"{word}Name"

    def targets(call: Call) -> list[Target]:
        return [owner_target(call, kind, call[name_param])]

    def put(call: Call) -> Result:
        require_within(call["PolicyDocument"], call.store.quotas.inline_limit(kind))
        call.store.put_inline_policy(kind, call[name_param], call["PolicyName"], call["PolicyDocument"])
        return None

    def get(call: Call) -> Result:
        found = call.store.get_inline_policy(kind, call[name_param], call["PolicyName"])
        return {
            name_param: found.owner_name,
            "PolicyName": found.policy_name,
            "PolicyDocument": encoded_document(found.document),
        }

    def list_names(call: Call) -> Result:
        names = call.store.list_inline_policies(kind, call[name_param])
        return page(call, names, "PolicyNames", lambda n: n, key=str.lower)

    def delete(call: Call) -> Result:
        call.store.delete_inline_policy(kind, call[name_param], call["PolicyName"])
        return None

    operation(f"Put{word}Policy", targets=targets)(put)
    operation(f"Get{word}Policy", targets=targets)(get)
    operation(f"List{word}Policies", targets=targets)(list_names)
    operation(f"Delete{word}Policy", targets=targets)(delete)


for _kind in (PrincipalKind.USER, PrincipalKind.GROUP, PrincipalKind.ROLE):
    _declare(_kind)
