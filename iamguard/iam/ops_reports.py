"""Reports: the credential report (CSV) and access-advisor service-last-accessed jobs.

Part of ``iam/``; declared with :func:`~iamguard.iam._operation.operation`. The credential report
has AWS's columns exactly (:data:`CREDENTIAL_REPORT_COLUMNS`), a row for the root user
(``<root_account>``) and one per IAM user, AWS's literal values (``true``/``false``, ``N/A``,
``not_supported``, ``no_information``) and ISO 8601 times, so existing parsers read it.
``GenerateCredentialReport`` builds it at once (``STARTED``) unless one younger than four hours
exists (``COMPLETE``); ``GetCredentialReport`` returns it base64-encoded as ``text/csv``, or
``ReportNotPresent``/``ReportExpired`` (410). Service-last-accessed jobs read the access-advisor
data the guard records (``iamguard/store/_activity.py``) and complete at once. Reports live in
the store, so every process serving the account answers the same.
https://docs.aws.amazon.com/IAM/latest/UserGuide/credential-reports.html#id_credentials_understanding_the_report_format
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateServiceLastAccessedDetails.html
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from iamguard.errors import IAMGuardError, InvalidInputError, NoSuchEntityError
from iamguard.iam._operation import Call, Result, Target, operation
from iamguard.iam._paging import page
from iamguard.policy.arn import parse_arn
from iamguard.store._activity import ServiceLastAccessed
from iamguard.store.records import AccessKey, PrincipalKind

__all__ = ["CREDENTIAL_REPORT_COLUMNS"]

#: The credential report's header row, in AWS's order (the "Understanding the report format" list).
CREDENTIAL_REPORT_COLUMNS: tuple[str, ...] = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
_REPORT = "credential-report"
_JOB = "service-last-accessed/"
_REPORT_LIFETIME = timedelta(hours=4)  # AWS regenerates, and expires, a report after four hours
_NA = "N/A"


def _anything(call: Call) -> Iterable[Target]:
    return [Target.on("*")]


def _now(call: Call) -> datetime:
    """Now by the store's clock (the one its records are dated by, and tests move)."""
    return datetime.fromtimestamp(call.store._clock(), timezone.utc)


def _time(value: datetime | None) -> str:
    """AWS's report time: ISO 8601 with seconds and ``+00:00``; ``N/A`` when there is none."""
    if value is None:
        return _NA
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _flag(value: bool) -> str:
    return "true" if value else "false"


# ---------------------------------------------------------------------- the credential report


def _key_columns(call: Call, keys: Sequence[AccessKey]) -> list[str]:
    """The ten access-key columns: the user's first two keys by creation time."""
    columns: list[str] = []
    ordered = sorted(keys, key=lambda k: k.create_date)[:2]
    for index in range(2):
        if index >= len(ordered):
            columns += ["false", _NA, _NA, _NA, _NA]
            continue
        key = ordered[index]
        _, service, region = call.store.access_key_last_used(key.access_key_id)
        used = key.last_used_date
        columns += [
            _flag(key.active),
            _time(key.create_date),
            _time(used),
            (region or _NA) if used else _NA,
            (service or _NA) if used else _NA,
        ]
    return columns


def _mfa_users(call: Call) -> tuple[set[str], bool]:
    """Lower-cased names of users with an enabled MFA device, and whether the root user has one."""
    devices = [d for d in call.store.list_mfa_devices() if d.enable_date is not None]
    return {d.user_name.lower() for d in devices if d.user_name}, any(d.is_root for d in devices)


def _root_row(call: Call, root_mfa: bool) -> list[str]:
    account = call.store.account()
    return [
        "<root_account>",
        f"arn:{account.partition}:iam::{account.account_id}:root",
        _time(call.store.account_created()),
        "not_supported",
        "no_information",
        "not_supported",
        "not_supported",
        _flag(root_mfa),
        *_key_columns(call, call.store.list_access_keys(None)),
        "false",
        _NA,
        "false",
        _NA,
    ]


def _password_columns(call: Call, user_name: str) -> list[str]:
    try:
        profile = call.store.get_login_profile(user_name)
    except NoSuchEntityError:
        return ["false", _NA, _NA, _NA]
    changed = profile.password_last_changed or profile.create_date
    max_age = call.store.effective_password_policy().max_password_age
    rotation = _time(changed + timedelta(days=max_age)) if max_age else _NA
    # iamguard records failed sign-ins, not the last successful one.
    return ["true", "no_information", _time(changed), rotation]


def credential_report_rows(call: Call) -> list[list[str]]:
    """Every row of the report after the header: the root user's, then each user's by name."""
    mfa_users, root_mfa = _mfa_users(call)
    rows = [_root_row(call, root_mfa)]
    for user in sorted(call.store.list_users(), key=lambda u: u.name.lower()):
        rows.append(
            [
                user.name,
                user.arn,
                _time(user.create_date),
                *_password_columns(call, user.name),
                _flag(user.name.lower() in mfa_users),
                *_key_columns(call, call.store.list_access_keys(user.name)),
                "false",
                _NA,
                "false",
                _NA,
            ]
        )
    return rows


def _csv(rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CREDENTIAL_REPORT_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def _stored_report(call: Call) -> tuple[datetime, str] | None:
    text = call.store.get_account_report(_REPORT)
    if text is None:
        return None
    data = json.loads(text)
    return datetime.fromisoformat(data["generated"]), str(data["content"])


# Generating writes only a report (no decision changes), in its own unversioned write: not
# inside the operation's transaction, which would bump the generation for nothing.
@operation("GenerateCredentialReport", targets=_anything, mutates=False)
def generate_credential_report(call: Call) -> Result:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateCredentialReport.html"""
    now = _now(call)
    stored = _stored_report(call)
    if stored is not None and now - stored[0] < _REPORT_LIFETIME:
        return {"State": "COMPLETE"}
    content = _csv(credential_report_rows(call))
    call.store.put_account_report(_REPORT, json.dumps({"generated": now.isoformat(), "content": content}))
    return {"State": "STARTED", "Description": "No report exists. Starting a new report generation task"}


@operation("GetCredentialReport", targets=_anything)
def get_credential_report(call: Call) -> Result:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetCredentialReport.html"""
    stored = _stored_report(call)
    if stored is None:
        raise IAMGuardError(
            "Credential report not present. Generate one with GenerateCredentialReport.",
            code="ReportNotPresent",
            http_status=410,
        )
    generated, content = stored
    if _now(call) - generated >= _REPORT_LIFETIME:
        raise IAMGuardError(
            "The credential report has expired (older than four hours). Generate a new one.",
            code="ReportExpired",
            http_status=410,
        )
    return {"Content": content.encode("utf-8"), "ReportFormat": "text/csv", "GeneratedTime": generated}


# ---------------------------------------------------------------------- service last accessed


def _entities(call: Call, arn: str) -> list[str]:
    """The user and role ARNs whose activity ``arn`` (a user, group, role or managed policy) covers."""
    parsed = parse_arn(arn)
    kind = parsed.resource.split("/", 1)[0] if parsed is not None and parsed.service == "iam" else ""
    name = arn.rsplit("/", 1)[-1]
    store = call.store
    if kind == "user":
        found = [store.get_user(name).arn]
    elif kind == "role":
        found = [store.get_role(name).arn]
    elif kind == "group":
        found = [u.arn for u in store.get_group_members(name)]
    elif kind == "policy":
        found = []
        for owner_kind, owner in store.list_entities_for_policy(store.get_policy(arn).arn):
            if owner_kind is PrincipalKind.USER:
                found.append(store.get_user(owner).arn)
            elif owner_kind is PrincipalKind.ROLE:
                found.append(store.get_role(owner).arn)
            else:
                found += [u.arn for u in store.get_group_members(owner)]
    else:
        raise InvalidInputError(f"Arn must name an IAM user, group, role or managed policy: {arn[:256]}")
    return sorted(set(found))


def _service_entries(
    records: Sequence[tuple[str, ServiceLastAccessed]], action_level: bool
) -> list[dict[str, Any]]:
    """One ``ServiceLastAccessed`` per service namespace: the latest use across the entities."""
    by_service: dict[str, list[ServiceLastAccessed]] = {}
    for _, record in records:
        by_service.setdefault(record.service_namespace, []).append(record)
    entries = []
    for namespace in sorted(by_service):
        uses = by_service[namespace]
        last = max(uses, key=lambda r: r.last_authenticated)
        entry: dict[str, Any] = {
            "ServiceName": namespace,
            "ServiceNamespace": namespace,
            "LastAuthenticated": last.last_authenticated.isoformat(),
            "LastAuthenticatedEntity": last.last_authenticated_entity,
            "LastAuthenticatedRegion": last.last_authenticated_region,
            "TotalAuthenticatedEntities": len({e for e, r in records if r.service_namespace == namespace}),
        }
        if action_level:
            entry["TrackedActionsLastAccessed"] = [
                {
                    "ActionName": last.last_action.split(":", 1)[-1],
                    "LastAccessedEntity": last.last_authenticated_entity,
                    "LastAccessedTime": last.last_authenticated.isoformat(),
                    "LastAccessedRegion": last.last_authenticated_region,
                }
            ]
        entries.append(entry)
    return entries


def _unused_entries(call: Call, arn: str, used: set[str]) -> list[dict[str, Any]]:
    """Services the entities' policies allow but that were never used: listed without
    ``LastAuthenticated``, as AWS lists them.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ServiceLastAccessed.html"""
    from iamguard.analysis.unused import allowed_services

    allowed: set[str] = set()
    for entity in _entities(call, arn):
        allowed.update(allowed_services(call.store, entity))
    return [
        {"ServiceName": namespace, "ServiceNamespace": namespace, "TotalAuthenticatedEntities": 0}
        for namespace in sorted(allowed - {u.lower() for u in used})
    ]


@operation("GenerateServiceLastAccessedDetails", targets=lambda call: [Target.on(call["Arn"])], mutates=False)
def generate_service_last_accessed_details(call: Call) -> Result:
    """A job over the entity's access-advisor data; it completes at once.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateServiceLastAccessedDetails.html"""
    granularity = call.get("Granularity", "SERVICE_LEVEL")
    records = [
        (arn, r) for arn in _entities(call, call["Arn"]) for r in call.store.get_service_last_accessed(arn)
    ]
    now = _now(call).isoformat()
    job_id = str(uuid.uuid4())
    job = {
        "arn": call["Arn"],
        "type": granularity,
        "created": now,
        "completed": now,
        "services": _service_entries(records, granularity == "ACTION_LEVEL")
        + _unused_entries(call, call["Arn"], {r.service_namespace for _, r in records}),
    }
    call.store.put_account_report(_JOB + job_id, json.dumps(job))
    return {"JobId": job_id}


def _dates(entry: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: datetime.fromisoformat(v) if k in names else v for k, v in entry.items()}


@operation("GetServiceLastAccessedDetails", targets=_anything)
def get_service_last_accessed_details(call: Call) -> Result:
    text = call.store.get_account_report(_JOB + call["JobId"])
    if text is None:
        raise NoSuchEntityError(f"No service last accessed job with id {call['JobId']}")
    job = json.loads(text)
    services = [
        {
            **_dates(entry, "LastAuthenticated"),
            "TrackedActionsLastAccessed": [
                _dates(a, "LastAccessedTime") for a in entry.get("TrackedActionsLastAccessed", ())
            ]
            or None,
        }
        for entry in job["services"]
    ]
    result = page(call, services, "ServicesLastAccessed", lambda e: e, key=lambda e: e["ServiceNamespace"])
    result.update(
        {
            "JobStatus": "COMPLETED",
            "JobType": job["type"],
            "JobCreationDate": datetime.fromisoformat(job["created"]),
            "JobCompletionDate": datetime.fromisoformat(job["completed"]),
        }
    )
    return result
