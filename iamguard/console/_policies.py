"""Policies, the policy simulator and the credential report.

Part of ``console/``. A policy typed into the editor is parsed and linted here
(:func:`~iamguard.policy.parse.parse_policy`, :func:`~iamguard.policy.validate.validate_policy`)
and each problem is shown beside the editor with its location (``Statement[0].Action``) before
anything is saved; the page's script asks ``/policies/validate`` for the same findings while the
author types. Saving is ``CreatePolicy`` / ``CreatePolicyVersion`` as the signed-in principal.
The simulator runs ``SimulatePrincipalPolicy`` or ``SimulateCustomPolicy`` and shows each
decision with its matched statements and missing context values.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from iamguard.console._http import Response
from iamguard.errors import PolicyError
from iamguard.policy.parse import parse_policy
from iamguard.policy.validate import validate_policy

if TYPE_CHECKING:
    from iamguard.console.app import Handler, Page

__all__ = ["ROUTES", "findings_for"]

_STARTER = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]},
    indent=2,
)


def findings_for(text: str) -> tuple[list[dict[str, str]], bool]:
    """The located problems of policy ``text`` and whether any is an error (which blocks saving)."""
    try:
        policy = parse_policy(text)
    except PolicyError as error:
        return [
            {"severity": "ERROR", "location": p.location or "(document)", "message": p.message}
            for p in error.problems
        ], True
    found = [
        {"severity": str(f.severity), "location": f.location, "message": f"{f.code}: {f.message}"}
        for f in validate_policy(policy)
    ]
    return found, any(f["severity"].upper() == "ERROR" for f in found)


# ---------------------------------------------------------------------- policies


def _service_action(action: str) -> tuple[str, str]:
    if action == "*":
        return "All services", "*"
    service, _, name = action.partition(":")
    return service.lower(), name or "*"


def summary(text: str) -> list[dict[str, str]]:
    """A readable summary of what a policy grants or denies, one row per service and effect
    (AWS's console shows such a "policy summary"; NotAction lines say "all except")."""
    try:
        policy = parse_policy(text)
    except PolicyError:
        return []
    rows: dict[tuple[str, str], dict[str, set[str]]] = {}
    for statement in policy.statements:
        effect = statement.effect.value
        if statement.action is None:  # NotAction: every service, less what is listed
            entries = [("All services", "all except " + ", ".join(statement.not_action or ()))]
        else:
            entries = [_service_action(action) for action in statement.action]
        for service, name in entries:
            row = rows.setdefault(
                (service, effect), {"actions": set(), "resources": set(), "conditions": set()}
            )
            row["actions"].add(name)
            row["resources"].update(
                statement.resource or [f"all except {r}" for r in statement.not_resource or ()]
            )
            row["conditions"].update(c.key for c in statement.conditions)
    return [
        {
            "service": service,
            "effect": effect,
            "actions": ", ".join(sorted(row["actions"])),
            "resources": ", ".join(sorted(row["resources"])) or "*",
            "conditions": ", ".join(sorted(row["conditions"])) or "None",
        }
        for (service, effect), row in sorted(rows.items())
    ]


def policies(page: Page) -> Response:
    listed = (page.call("ListPolicies") or {}).get("Policies", [])
    return page.render("policies.html", policies=listed)


def new_policy(page: Page) -> Response:
    return page.render("policy_new.html", name="", document=_STARTER, findings=[], error=None)


def create_policy(page: Page) -> Response:
    name = page.request.form.get("policy_name", "").strip()
    document = page.request.form.get("document", "")
    findings, blocked = findings_for(document)
    if blocked:
        return page.render(
            "policy_new.html",
            status=400,
            name=name,
            document=document,
            findings=findings,
            error="Fix the errors below before saving.",
            summary=[],
        )
    created = (page.call("CreatePolicy", {"PolicyName": name, "PolicyDocument": document}) or {})["Policy"]
    return Response.redirect(page.url(f"/policy?arn={quote(created['Arn'], safe=':/')}"))


def validate(page: Page) -> Response:
    """The editor's live check: the findings as JSON."""
    findings, blocked = findings_for(page.request.form.get("document", ""))
    body = json.dumps({"findings": findings, "blocked": blocked}).encode()
    return Response(body, 200, "application/json")


def policy_detail(page: Page) -> Response:
    arn = page.request.query.get("arn", "")
    policy = (page.call("GetPolicy", {"PolicyArn": arn}) or {})["Policy"]
    versions = (page.call("ListPolicyVersions", {"PolicyArn": arn}) or {}).get("Versions", [])
    default = (
        page.call("GetPolicyVersion", {"PolicyArn": arn, "VersionId": policy["DefaultVersionId"]}) or {}
    )["PolicyVersion"]
    document = _document_text(default["Document"])
    return page.render(
        "policy_detail.html",
        policy=policy,
        versions=versions,
        document=document,
        findings=[],
        error=None,
        summary=summary(document),
    )


def _document_text(document: Any) -> str:
    if isinstance(document, str):
        text = unquote(document)
        try:
            return json.dumps(json.loads(text), indent=2)
        except ValueError:
            return text
    return json.dumps(document, indent=2)


def policy_version(page: Page) -> Response:
    form = page.request.form
    arn = form.get("arn", "")
    if form.get("action") == "default":
        page.call("SetDefaultPolicyVersion", {"PolicyArn": arn, "VersionId": form.get("version_id", "")})
        return Response.redirect(page.url(f"/policy?arn={quote(arn, safe=':/')}"))
    document = form.get("document", "")
    findings, blocked = findings_for(document)
    if blocked:
        policy = (page.call("GetPolicy", {"PolicyArn": arn}) or {})["Policy"]
        versions = (page.call("ListPolicyVersions", {"PolicyArn": arn}) or {}).get("Versions", [])
        return page.render(
            "policy_detail.html",
            status=400,
            policy=policy,
            versions=versions,
            document=document,
            findings=findings,
            error="Fix the errors below before saving.",
            summary=[],
        )
    page.call(
        "CreatePolicyVersion",
        {"PolicyArn": arn, "PolicyDocument": document, "SetAsDefault": form.get("set_default") == "on"},
    )
    return Response.redirect(page.url(f"/policy?arn={quote(arn, safe=':/')}"))


# ---------------------------------------------------------------------- simulator


def simulator(page: Page) -> Response:
    return page.render("simulator.html", form={}, results=None, principals=_principals(page))


def _principals(page: Page) -> list[str]:
    users = (page.call("ListUsers") or {}).get("Users", [])
    roles = (page.call("ListRoles") or {}).get("Roles", [])
    return [u["Arn"] for u in users] + [r["Arn"] for r in roles]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _context(text: str) -> list[dict[str, Any]]:
    entries = []
    for line in _lines(text):
        key, _, value = line.partition("=")
        values = [v.strip() for v in value.split(",")]
        entries.append(
            {"ContextKeyName": key.strip(), "ContextKeyValues": values, "ContextKeyType": "string"}
        )
    return entries


def simulate(page: Page) -> Response:
    form = page.request.form
    params: dict[str, Any] = {"ActionNames": _lines(form.get("actions", ""))}
    resources = _lines(form.get("resources", ""))
    if resources:
        params["ResourceArns"] = resources
    if form.get("context"):
        params["ContextEntries"] = _context(form["context"])
    if form.get("source") == "custom":
        params["PolicyInputList"] = [form.get("policy", "")]
        result = page.call("SimulateCustomPolicy", params) or {}
    else:
        params["PolicySourceArn"] = form.get("principal", "")
        result = page.call("SimulatePrincipalPolicy", params) or {}
    return page.render(
        "simulator.html", form=form, results=result.get("EvaluationResults", []), principals=_principals(page)
    )


# ---------------------------------------------------------------------- credential report


def credential_report(page: Page) -> Response:
    page.call("GenerateCredentialReport")
    report = page.call("GetCredentialReport") or {}
    content = report["Content"]
    body = bytes(content) if isinstance(content, (bytes, bytearray)) else base64.b64decode(content)
    response = Response(body, 200, "text/csv; charset=utf-8")
    response.headers.append(("Content-Disposition", 'attachment; filename="credential-report.csv"'))
    return response


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", r"/policies", policies, True),
    ("GET", r"/policies/new", new_policy, True),
    ("POST", r"/policies/new", create_policy, True),
    ("POST", r"/policies/validate", validate, True),
    ("GET", r"/policy", policy_detail, True),
    ("POST", r"/policy", policy_version, True),
    ("GET", r"/simulator", simulator, True),
    ("POST", r"/simulator", simulate, True),
    ("POST", r"/reports/credential", credential_report, True),
]
