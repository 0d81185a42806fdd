"""GetServiceLastAccessedDetails lists the services an entity's policies allow but never used,
without ``LastAuthenticated``, beside the used ones (boto3 over the IAM API endpoint).

"Services that the entity has not accessed ... are returned without last accessed data"; which
services a policy allows is decided by ``iamguard.analysis.unused`` with the evaluator (a Deny or
a permissions boundary removes a service).
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLastAccessedDetails.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_ServiceLastAccessed.html
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from iamguard.store import AccessActivity
from iamguard.store.records import PrincipalKind

from ._more_fixtures import ACCOUNT, Endpoint, endpoint

__all__ = ["endpoint"]

CAROL = f"arn:aws:iam::{ACCOUNT}:user/carol"
AT = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "sqs:SendMessage", "dynamodb:GetItem", "kms:Decrypt"],
            "Resource": "*",
        },
        {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"},
    ],
}
BOUNDARY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sqs:*", "dynamodb:*"], "Resource": "*"}],
}


def _services(endpoint: Endpoint, arn: str) -> dict[str, dict[str, Any]]:
    iam = endpoint.iam()
    job_id = iam.generate_service_last_accessed_details(Arn=arn)["JobId"]
    details = iam.get_service_last_accessed_details(JobId=job_id)
    return {s["ServiceNamespace"]: s for s in details["ServicesLastAccessed"]}


def _carol(endpoint: Endpoint) -> None:
    store = endpoint.store
    store.create_user("carol")
    store.put_inline_policy(PrincipalKind.USER, "carol", "work", POLICY)
    store.record_access_activity(
        [
            AccessActivity(
                at=AT, entity_arn=CAROL, service_namespace="s3", action="s3:GetObject", region="us-east-1"
            )
        ]
    )


def test_allowed_but_unused_services_are_listed_without_last_authenticated(endpoint: Endpoint) -> None:
    _carol(endpoint)
    services = _services(endpoint, CAROL)
    # dynamodb: allowed, then denied by the explicit Deny, so not listed.
    assert sorted(services) == ["kms", "s3", "sqs"]
    assert services["s3"]["LastAuthenticated"] == AT
    for unused in ("kms", "sqs"):
        assert "LastAuthenticated" not in services[unused]
        assert "LastAuthenticatedEntity" not in services[unused]
        assert services[unused]["TotalAuthenticatedEntities"] == 0
        assert services[unused]["ServiceName"] == unused


def test_a_permissions_boundary_removes_a_service(endpoint: Endpoint) -> None:
    _carol(endpoint)
    endpoint.store.put_user_permissions_boundary("carol", _boundary(endpoint))
    # kms is allowed by the identity policy but not by the boundary.
    assert sorted(_services(endpoint, CAROL)) == ["s3", "sqs"]


def test_a_group_lists_what_its_members_may_use(endpoint: Endpoint) -> None:
    _carol(endpoint)
    endpoint.store.create_group("team")
    endpoint.store.add_user_to_group("team", "carol")
    services = _services(endpoint, f"arn:aws:iam::{ACCOUNT}:group/team")
    assert sorted(services) == ["kms", "s3", "sqs"]
    assert "LastAuthenticated" not in services["sqs"]


def _boundary(endpoint: Endpoint) -> str:
    return endpoint.store.create_policy("boundary", BOUNDARY).arn
