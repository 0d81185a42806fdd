"""Reports through boto3's ``iam`` client and the AWS CLI: the credential report (AWS's CSV,
parsed with Python's ``csv`` and AWS's header row) and service-last-accessed jobs over the
access-advisor data the guard records.
https://docs.aws.amazon.com/IAM/latest/UserGuide/credential-reports.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetServiceLastAccessedDetails.html
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.iam.ops_reports import CREDENTIAL_REPORT_COLUMNS
from iamguard.iam.service import IamService
from iamguard.store import AccessActivity, PasswordPolicy, mfa, open_store
from iamguard.store.records import AccessKeyStatus, PrincipalKind

from ._more_fixtures import ACCOUNT, BOX, Endpoint, endpoint, error_of

__all__ = ["endpoint"]

DATA = Path(__file__).resolve().parent.parent / "data" / "iam" / "reports"
FORMAT = json.loads((DATA / "credential_report_format.json").read_text())
PASSWORD = "Str0ng-Passw0rd!"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def _rows(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(content.decode("utf-8")))
    return list(reader.fieldnames or []), list(reader)


def _populate(endpoint: Endpoint) -> str:
    """alice: password, MFA, two keys (the first used for s3, the second inactive); bob: nothing."""
    store = endpoint.store
    store.create_user("alice")
    store.create_user("bob")
    store.create_login_profile("alice", PASSWORD)
    device = store.create_virtual_mfa_device("alice")
    now = endpoint.clock()
    store.enable_mfa_device(
        "alice",
        device.device.serial_number,
        mfa.totp(device.base32_seed, now - 30),
        mfa.totp(device.base32_seed, now),
    )
    first = store.create_access_key("alice")
    second = store.create_access_key("alice")
    store.update_access_key(second.access_key_id, AccessKeyStatus.INACTIVE)
    used_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    store.record_access_activity(
        [
            AccessActivity(
                at=used_at,
                entity_arn=ALICE,
                service_namespace="s3",
                action="s3:GetObject",
                region="eu-west-1",
                access_key_id=first.access_key_id,
                authenticated_entity=ALICE,
            )
        ]
    )
    return first.access_key_id


def test_credential_report_before_generation(endpoint: Endpoint) -> None:
    assert error_of(endpoint.iam().get_credential_report)[:2] == ("ReportNotPresent", 410)


def test_credential_report_columns_are_aws(endpoint: Endpoint) -> None:
    assert list(CREDENTIAL_REPORT_COLUMNS) == FORMAT["header"]


def test_credential_report_content(endpoint: Endpoint) -> None:
    _populate(endpoint)
    iam = endpoint.iam()
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "COMPLETE"  # younger than four hours: kept
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv" and isinstance(report["GeneratedTime"], datetime)
    header, rows = _rows(report["Content"])
    assert header == FORMAT["header"]
    by_user = {r["user"]: r for r in rows}
    assert [r["user"] for r in rows] == [FORMAT["root_user"], "alice", "bob"]
    root = by_user[FORMAT["root_user"]]
    assert root["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert all(root[c] == "not_supported" for c in FORMAT["root_not_supported"])
    assert root["access_key_1_active"] == "true"  # the operator's root key the fixture made
    alice = by_user["alice"]
    assert alice["arn"] == ALICE and alice["password_enabled"] == "true" and alice["mfa_active"] == "true"
    datetime.fromisoformat(alice["user_creation_time"])
    datetime.fromisoformat(alice["password_last_changed"])
    assert alice["password_next_rotation"] == "N/A"  # no MaxPasswordAge
    assert alice["access_key_1_active"] == "true" and alice["access_key_2_active"] == "false"
    assert alice["access_key_1_last_used_service"] == "s3"
    assert alice["access_key_1_last_used_region"] == "eu-west-1"
    assert datetime.fromisoformat(alice["access_key_1_last_used_date"]).tzinfo is not None
    assert alice["access_key_2_last_used_date"] == "N/A"
    bob = by_user["bob"]
    assert bob["password_enabled"] == "false" and bob["mfa_active"] == "false"
    assert {
        bob[c] for c in ("password_last_changed", "access_key_1_last_rotated", "cert_1_last_rotated")
    } == {"N/A"}
    assert bob["access_key_1_active"] == bob["cert_1_active"] == "false"


def test_password_next_rotation_follows_max_password_age(endpoint: Endpoint) -> None:
    _populate(endpoint)
    endpoint.store.update_account_password_policy(PasswordPolicy(max_password_age=90))
    iam = endpoint.iam()
    iam.generate_credential_report()
    _, rows = _rows(iam.get_credential_report()["Content"])
    alice = next(r for r in rows if r["user"] == "alice")
    changed = datetime.fromisoformat(alice["password_last_changed"])
    assert datetime.fromisoformat(alice["password_next_rotation"]) == changed + timedelta(days=90)


def test_credential_report_expires_after_four_hours(endpoint: Endpoint) -> None:
    iam = endpoint.iam()
    iam.generate_credential_report()
    endpoint.clock.offset = 4 * 3600 + 1
    assert error_of(iam.get_credential_report)[:2] == ("ReportExpired", 410)
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.get_credential_report()["ReportFormat"] == "text/csv"


def test_aws_cli_get_credential_report(endpoint: Endpoint, tmp_path: Path) -> None:
    """``aws iam get-credential-report``: the CLI prints Content as base64; decoded, it is AWS's CSV."""
    _populate(endpoint)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=endpoint.root.access_key_id,
        AWS_SECRET_ACCESS_KEY=endpoint.root.secret_access_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    aws = [
        str(Path(sys.executable).parent / "aws"),
        "--endpoint-url",
        endpoint.url,
        "--output",
        "json",
        "iam",
    ]
    generated = subprocess.run(
        [*aws, "generate-credential-report"], env=env, capture_output=True, text=True, timeout=120
    )
    assert generated.returncode == 0, generated.stderr
    assert json.loads(generated.stdout)["State"] in ("STARTED", "COMPLETE")
    got = subprocess.run(
        [*aws, "get-credential-report"], env=env, capture_output=True, text=True, timeout=120
    )
    assert got.returncode == 0, got.stderr
    answer = json.loads(got.stdout)
    assert answer["ReportFormat"] == "text/csv"
    header, rows = _rows(base64.b64decode(answer["Content"]))
    assert header == FORMAT["header"]
    assert [r["user"] for r in rows] == ["<root_account>", "alice", "bob"]
    assert rows[1]["access_key_1_last_used_service"] == "s3"


def test_credential_report_actions_are_authorized_on_star(endpoint: Endpoint) -> None:
    key = endpoint.user_with_key("auditor")
    endpoint.store.put_inline_policy(
        PrincipalKind.USER,
        "auditor",
        "reports",
        {
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "iam:GetCredentialReport", "Resource": "*"},
        },
    )
    auditor = endpoint.iam(key)
    assert error_of(auditor.generate_credential_report)[:2] == ("AccessDenied", 403)
    endpoint.iam().generate_credential_report()
    assert auditor.get_credential_report()["ReportFormat"] == "text/csv"


# ---------------------------------------------------------------------- service last accessed


def _activity(endpoint: Endpoint) -> datetime:
    store = endpoint.store
    store.create_user("alice")
    store.create_user("bob")
    store.create_group("devs")
    store.add_user_to_group("devs", "alice")
    store.add_user_to_group("devs", "bob")
    policy = store.create_policy(
        "p", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    store.attach_policy(PrincipalKind.GROUP, "devs", policy.arn)
    store.create_role("worker", TRUST)
    at = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    store.record_access_activity(
        [
            AccessActivity(
                at=at, entity_arn=ALICE, service_namespace="s3", action="s3:GetObject", region="us-east-1"
            ),
            AccessActivity(
                at=at + timedelta(hours=1),
                entity_arn=bob,
                service_namespace="s3",
                action="s3:PutObject",
                region="eu-west-1",
            ),
            AccessActivity(
                at=at, entity_arn=ALICE, service_namespace="sqs", action="sqs:SendMessage", region="us-east-1"
            ),
            AccessActivity(
                at=at,
                entity_arn=ROLE,
                service_namespace="dynamodb",
                action="dynamodb:GetItem",
                region="us-east-1",
                authenticated_entity=f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/i-1",
            ),
        ]
    )
    return at


def _job(endpoint: Endpoint, arn: str, **params: Any) -> dict[str, Any]:
    iam = endpoint.iam()
    job_id = iam.generate_service_last_accessed_details(Arn=arn, **params)["JobId"]
    assert len(job_id) == 36
    details: dict[str, Any] = iam.get_service_last_accessed_details(JobId=job_id)
    assert details["JobStatus"] == "COMPLETED" and details["JobCompletionDate"] >= details["JobCreationDate"]
    return details


def test_service_last_accessed_for_a_user(endpoint: Endpoint) -> None:
    at = _activity(endpoint)
    details = _job(endpoint, ALICE)
    assert details["JobType"] == "SERVICE_LEVEL" and details["IsTruncated"] is False
    services = {s["ServiceNamespace"]: s for s in details["ServicesLastAccessed"]}
    assert set(services) == {"s3", "sqs"}
    assert services["s3"]["LastAuthenticated"] == at and services["s3"]["LastAuthenticatedEntity"] == ALICE
    assert services["s3"]["LastAuthenticatedRegion"] == "us-east-1"
    assert services["s3"]["TotalAuthenticatedEntities"] == 1
    assert "TrackedActionsLastAccessed" not in services["s3"]


def test_service_last_accessed_for_a_group_and_a_policy(endpoint: Endpoint) -> None:
    at = _activity(endpoint)
    for arn in (f"arn:aws:iam::{ACCOUNT}:group/devs", f"arn:aws:iam::{ACCOUNT}:policy/p"):
        services = {s["ServiceNamespace"]: s for s in _job(endpoint, arn)["ServicesLastAccessed"]}
        # Both members used s3: the latest use (bob's) and two entities.
        assert services["s3"]["LastAuthenticated"] == at + timedelta(hours=1)
        assert services["s3"]["LastAuthenticatedEntity"].endswith(":user/bob")
        assert services["s3"]["TotalAuthenticatedEntities"] == 2


def test_service_last_accessed_action_level_for_a_role(endpoint: Endpoint) -> None:
    _activity(endpoint)
    details = _job(endpoint, ROLE, Granularity="ACTION_LEVEL")
    [dynamo] = details["ServicesLastAccessed"]
    assert dynamo["LastAuthenticatedEntity"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/i-1"
    [action] = dynamo["TrackedActionsLastAccessed"]
    assert action["ActionName"] == "GetItem" and action["LastAccessedRegion"] == "us-east-1"


def test_service_last_accessed_paginates(endpoint: Endpoint) -> None:
    _activity(endpoint)
    iam = endpoint.iam()
    job_id = iam.generate_service_last_accessed_details(Arn=ALICE)["JobId"]
    first = iam.get_service_last_accessed_details(JobId=job_id, MaxItems=1)
    assert first["IsTruncated"] is True and [
        s["ServiceNamespace"] for s in first["ServicesLastAccessed"]
    ] == ["s3"]
    second = iam.get_service_last_accessed_details(JobId=job_id, MaxItems=1, Marker=first["Marker"])
    assert [s["ServiceNamespace"] for s in second["ServicesLastAccessed"]] == ["sqs"] and second[
        "IsTruncated"
    ] is False


@pytest.mark.parametrize(
    ("method", "params", "code", "status"),
    [
        (
            "get_service_last_accessed_details",
            {"JobId": "00000000-0000-0000-0000-000000000000"},
            "NoSuchEntity",
            404,
        ),
        ("get_service_last_accessed_details", {"JobId": "short"}, "ValidationError", 400),
        (
            "generate_service_last_accessed_details",
            {"Arn": f"arn:aws:iam::{ACCOUNT}:user/nobody"},
            "NoSuchEntity",
            404,
        ),
        (
            "generate_service_last_accessed_details",
            {"Arn": f"arn:aws:iam::{ACCOUNT}:policy/none"},
            "NoSuchEntity",
            404,
        ),
        (
            "generate_service_last_accessed_details",
            {"Arn": "arn:aws:s3:::a-bucket-name-here"},
            "InvalidInput",
            400,
        ),
        (
            "generate_service_last_accessed_details",
            {"Arn": ALICE, "Granularity": "FINE"},
            "ValidationError",
            400,
        ),
    ],
)
def test_service_last_accessed_errors(
    endpoint: Endpoint, method: str, params: dict[str, Any], code: str, status: int
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateServiceLastAccessedDetails.html#API_GenerateServiceLastAccessedDetails_Errors"""
    _activity(endpoint)
    assert error_of(getattr(endpoint.iam(), method), **params)[:2] == (code, status)


# ---------------------------------------------------------------------- property


_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-"


@settings(max_examples=25, deadline=None)
@given(names=st.lists(st.text(_NAME_CHARS, min_size=1, max_size=64), max_size=8, unique_by=str.lower))
def test_any_user_names_parse_back_with_csv(names: list[str]) -> None:
    """Whatever IAM allows in a user name (``,`` included: a CSV separator), ``csv`` reads back
    exactly the account's users, in AWS's column layout."""
    store = open_store("memory://", account_id=ACCOUNT, secret_box=BOX)
    for name in names:
        store.create_user(name)
    service = IamService(store)
    service.call("GenerateCredentialReport", caller=service.root())
    report = service.call("GetCredentialReport", caller=service.root())
    assert report is not None
    header, rows = _rows(report["Content"])
    assert header == FORMAT["header"]
    assert [r["user"] for r in rows] == ["<root_account>", *sorted(names, key=str.lower)]
    assert all(len(r) == len(header) and None not in r for r in rows)
