"""``iamguard simulate-principal PRINCIPAL``: the simulator run on a stored user, role or group.

Like IAM's ``SimulatePrincipalPolicy``: the policies that apply are read from the store through
stage 3 (``resolve.py``: a user's own and its groups' inline and attached policies, a role's
policies, each capped by the permissions boundary; for a group ARN, the group's own policies
evaluated for a simulated member, ``--caller-arn``), then evaluated by the engine for every
(action, resource) pair. ``PRINCIPAL`` is an ARN or, for convenience, a bare name looked up
among the store's users, then roles, then groups (``simulate-principal bob``). The principal's tags and unique id feed ``aws:PrincipalTag/*`` and
``aws:userid`` as they would on a real request.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html

::

    iamguard simulate-principal alice --action s3:GetObject
        [--resource ARN ...] [--context KEY=TYPE:VALUE ...] [--resource-policy FILE]
        [--resource-owner ACCOUNT] [--store URL] [--json]

Exit status: 0 when every (action, resource) is allowed, 1 when any is denied, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from iamguard.cli._store_args import add_store_args, open_from_args
from iamguard.cli.simulate import add_request_args, context_from_options, report
from iamguard.errors import InvalidParameterError, NoSuchEntityError
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.arn import parse_arn
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal
from iamguard.resolve import resolve_policy_set
from iamguard.simulate import simulate_policy_set
from iamguard.store.records import PrincipalKind
from iamguard.store.service import IdentityService

__all__ = ["group_policy_set", "principal_arn", "register", "run", "stored_principal"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate-principal",
        help="evaluate actions as a stored user, role or group (like SimulatePrincipalPolicy)",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument(
        "arn", metavar="PRINCIPAL", help="ARN (or name) of a user, role or group in the store"
    )
    add_request_args(parser, context_help="context key (repeatable; same syntax as 'iamguard simulate')")
    parser.add_argument("--resource-policy", metavar="FILE", help="resource-based policy file")
    parser.add_argument("--resource-owner", metavar="ACCOUNT", help="account owning the resource")
    parser.add_argument(
        "--caller-arn", metavar="ARN", help="for a group: the simulated member (default user/simulated)"
    )
    add_store_args(parser)
    parser.set_defaults(func=run)


def stored_principal(service: IdentityService, arn: str) -> Principal:
    """The :class:`Principal` a request from the stored user or role ``arn`` carries."""
    parsed = parse_arn(arn)
    resource = parsed.resource if parsed is not None else ""
    kind = resource.split("/", 1)[0]
    if parsed is None or parsed.service != "iam" or kind not in ("user", "role"):
        raise InvalidParameterError(f"expected the ARN of an IAM user, group or role, got {arn!r}")
    resolved = service.resolve_principal(arn)
    if resolved is None:
        raise NoSuchEntityError(f"no {kind} with ARN {arn} in this store")
    return Principal.from_arn(resolved.arn, tags=dict(resolved.tags), user_id=resolved.unique_id)


def group_policy_set(service: IdentityService, arn: str) -> PolicySet:
    """A group's own inline and attached policies (SimulatePrincipalPolicy on a group ARN)."""
    name = arn.rsplit("/", 1)[-1]
    group = service.get_group(name)
    if group.arn != arn:
        raise NoSuchEntityError(f"no group with ARN {arn} in this store")
    identity = [
        parse_policy(
            service.get_inline_policy(PrincipalKind.GROUP, name, n).document, name=f"group/{name}/inline/{n}"
        )
        for n in service.list_inline_policies(PrincipalKind.GROUP, name)
    ]
    for policy in service.list_attached_policies(PrincipalKind.GROUP, name):
        version = service.get_policy_version(policy.arn, policy.default_version_id)
        identity.append(parse_policy(version.document, name=policy.arn))
    return PolicySet(identity=tuple(identity), generation=service.generation())


def principal_arn(service: IdentityService, name_or_arn: str) -> str:
    """The ARN ``name_or_arn`` names: itself when it is an ARN, else the ARN of the stored user,
    role or group of that name (IAM names ignore case); two entities of the name are refused."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    found: list[str] = []
    for get in (service.get_user, service.get_role, service.get_group):
        try:
            found.append(get(name_or_arn).arn)
        except NoSuchEntityError:
            continue
    if len(found) == 1:
        return found[0]
    if not found:
        raise NoSuchEntityError(
            f"no user, role or group named {name_or_arn!r} in this store (or pass an ARN)"
        )
    raise InvalidParameterError(
        f"{name_or_arn!r} names more than one entity; pass one ARN: {', '.join(found)}"
    )


def run(args: argparse.Namespace) -> int:
    service = open_from_args(args, write=False)
    args.arn = principal_arn(service, args.arn)
    parsed = parse_arn(args.arn)
    if parsed is not None and parsed.service == "iam" and parsed.resource.startswith("group/"):
        policies = group_policy_set(service, args.arn)
        caller = args.caller_arn or f"arn:{parsed.partition}:iam::{parsed.account}:user/simulated"
        principal = Principal.from_arn(caller)
    else:
        if args.caller_arn:
            raise InvalidParameterError("--caller-arn applies to group simulations only")
        principal = stored_principal(service, args.arn)
        policies = resolve_policy_set(principal, service)
    if args.resource_policy:
        text = Path(args.resource_policy).read_text(encoding="utf-8")
        resource_policy = parse_policy(text, name=args.resource_policy, kind=PolicyKind.RESOURCE)
        policies = dataclasses.replace(policies, resource=resource_policy)
    context = context_from_options(args.context)
    resources = args.resource or ["*"]
    decisions = simulate_policy_set(principal, policies, args.action, resources, context, args.resource_owner)
    alone = None
    if policies.boundary is not None:  # the boundary alone, for PermissionsBoundaryDecisionDetail
        only = PolicySet(identity=(policies.boundary,))
        alone = simulate_policy_set(principal, only, args.action, resources, context)
    return report(args, decisions, alone)
