"""Groups (create, members, policies) and roles (create from a trust template, trust editor).

Part of ``console/``. A role's trust policy starts from one of the console's common templates,
as AWS's console offers them, or from JSON typed in; either way it is checked in place like any
policy before ``CreateRole`` / ``UpdateAssumeRolePolicy`` runs:

* another AWS account: ``"Principal": {"AWS": "arn:aws:iam::<account>:root"}``, ``sts:AssumeRole``
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user.html);
* a web identity (OIDC) provider: ``"Principal": {"Federated": <provider ARN>}``,
  ``sts:AssumeRoleWithWebIdentity`` with ``<host>:aud`` equal to the audience
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html);
* a SAML 2.0 provider: ``sts:AssumeRoleWithSAML`` with ``SAML:aud`` the sign-in endpoint
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_saml.html).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from iamguard.console._http import Response
from iamguard.console._policies import findings_for
from iamguard.errors import IAMGuardError

if TYPE_CHECKING:
    from iamguard.console.app import Handler, Page

__all__ = ["ROUTES", "trust_policy"]

_GROUP = r"/groups/(?P<name>[\w+=,.@-]{1,128})"
_ROLE = r"/roles/(?P<name>[\w+=,.@-]{1,64})"
_SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"


def trust_policy(template: str, value: str, audience: str = "") -> dict[str, Any]:
    """The trust policy of console template ``template`` (``account``, ``oidc``, ``saml``) for
    ``value`` (an account id, or the provider's ARN)."""
    if template == "account":
        principal: dict[str, str] = {"AWS": f"arn:aws:iam::{value}:root"}
        statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    elif template == "oidc":
        host = value.split(":oidc-provider/", 1)[-1]
        statement = {
            "Effect": "Allow",
            "Principal": {"Federated": value},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{host}:aud": audience}},
        }
    elif template == "saml":
        statement = {
            "Effect": "Allow",
            "Principal": {"Federated": value},
            "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"SAML:aud": _SAML_AUDIENCE}},
        }
    else:
        raise IAMGuardError(f"unknown trust template {template!r}", code="ValidationError", http_status=400)
    return {"Version": "2012-10-17", "Statement": [statement]}


# ---------------------------------------------------------------------- groups


def groups(page: Page) -> Response:
    listed = (page.call("ListGroups") or {}).get("Groups", [])
    return page.render("groups.html", groups=listed)


def new_group(page: Page) -> Response:
    policies = (page.call("ListPolicies") or {}).get("Policies", [])
    return page.render("group_new.html", policies=policies)


def create_group(page: Page) -> Response:
    name = page.request.form.get("group_name", "").strip()
    page.call("CreateGroup", {"GroupName": name})
    for arn in page.request.form_lists.get("policies", ()):
        page.call("AttachGroupPolicy", {"GroupName": name, "PolicyArn": arn})
    return Response.redirect(page.url(f"/groups/{name}"))


def group_detail(page: Page) -> Response:
    name = page.params["name"]
    group = page.call("GetGroup", {"GroupName": name}) or {}
    attached = (page.call("ListAttachedGroupPolicies", {"GroupName": name}) or {}).get("AttachedPolicies", [])
    members = {u["UserName"] for u in group.get("Users", [])}
    others = [
        u["UserName"] for u in (page.call("ListUsers") or {}).get("Users", []) if u["UserName"] not in members
    ]
    return page.render(
        "group_detail.html",
        group=group["Group"],
        users=group.get("Users", []),
        attached=attached,
        others=others,
    )


def group_members(page: Page) -> Response:
    name, form = page.params["name"], page.request.form
    action = "RemoveUserFromGroup" if form.get("action") == "remove" else "AddUserToGroup"
    page.call(action, {"GroupName": name, "UserName": form.get("user_name", "")})
    return Response.redirect(page.url(f"/groups/{name}"))


# ---------------------------------------------------------------------- roles


def roles(page: Page) -> Response:
    listed = (page.call("ListRoles") or {}).get("Roles", [])
    return page.render("roles.html", roles=listed)


def _role_form(page: Page, *, status: int = 200, **values: Any) -> Response:
    policies = (page.call("ListPolicies") or {}).get("Policies", [])
    oidc = (page.call("ListOpenIDConnectProviders") or {}).get("OpenIDConnectProviderList", [])
    saml = (page.call("ListSAMLProviders") or {}).get("SAMLProviderList", [])
    defaults: dict[str, Any] = {"form": {}, "findings": [], "error": None, "document": ""}
    return page.render(
        "role_new.html", status=status, policies=policies, oidc=oidc, saml=saml, **{**defaults, **values}
    )


def new_role(page: Page) -> Response:
    return _role_form(page)


def create_role(page: Page) -> Response:
    form = page.request.form
    template = form.get("template", "account")
    if template == "custom":
        document = form.get("document", "")
    else:
        value = {
            "account": form.get("account_id", ""),
            "oidc": form.get("oidc_arn", ""),
            "saml": form.get("saml_arn", ""),
        }
        document = json.dumps(
            trust_policy(template, value.get(template, "").strip(), form.get("audience", "").strip()),
            indent=2,
        )
    findings, blocked = findings_for(document)
    if blocked:
        error = "Fix the errors below before saving."
        return _role_form(page, status=400, form=form, findings=findings, error=error, document=document)
    name = form.get("role_name", "").strip()
    page.call("CreateRole", {"RoleName": name, "AssumeRolePolicyDocument": document})
    for arn in page.request.form_lists.get("policies", ()):
        page.call("AttachRolePolicy", {"RoleName": name, "PolicyArn": arn})
    return Response.redirect(page.url(f"/roles/{name}"))


def _role_page(page: Page, *, status: int = 200, **values: Any) -> Response:
    name = page.params["name"]
    role = (page.call("GetRole", {"RoleName": name}) or {})["Role"]
    attached = (page.call("ListAttachedRolePolicies", {"RoleName": name}) or {}).get("AttachedPolicies", [])
    text = unquote(str(role["AssumeRolePolicyDocument"]))
    try:
        text = json.dumps(json.loads(text), indent=2)
    except ValueError:
        pass
    defaults: dict[str, Any] = {"findings": [], "error": None, "document": text}
    return page.render(
        "role_detail.html", status=status, role=role, attached=attached, **{**defaults, **values}
    )


def role_detail(page: Page) -> Response:
    return _role_page(page)


def update_trust(page: Page) -> Response:
    name, document = page.params["name"], page.request.form.get("document", "")
    findings, blocked = findings_for(document)
    if blocked:
        error = "Fix the errors below before saving."
        return _role_page(page, status=400, findings=findings, error=error, document=document)
    page.call("UpdateAssumeRolePolicy", {"RoleName": name, "PolicyDocument": document})
    return Response.redirect(page.url(f"/roles/{name}"))


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", r"/groups", groups, True),
    ("GET", r"/groups/new", new_group, True),
    ("POST", r"/groups/new", create_group, True),
    ("GET", _GROUP, group_detail, True),
    ("POST", _GROUP + r"/members", group_members, True),
    ("GET", r"/roles", roles, True),
    ("GET", r"/roles/new", new_role, True),
    ("POST", r"/roles/new", create_role, True),
    ("GET", _ROLE, role_detail, True),
    ("POST", _ROLE + r"/trust", update_trust, True),
]
