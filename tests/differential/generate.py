"""Seeded generator of random, valid IAM authorization cases for differential testing.

Each case is one request (principal, action, resource, context) plus the policies that apply
(identity policies, an optional permissions boundary, an optional resource policy) in plain JSON,
so the same case can be fed to iamguard and to the oracle (``node/oracle.mjs``). The generator
stays inside the semantics both implementations share; what it leaves out, and why, is listed in
``README.md`` ("Exclusions"). Every choice comes from ``random.Random(seed)``: the same seed and
count always give the same cases.

Shape of a case (keys are what ``oracle.mjs`` and ``harness.py`` read)::

    {"id", "principal", "action", "resource", "resource_account", "context",
     "identity_policies": [{"name", "policy"}], "permissions_boundary", "session_policy",
     "resource_policy"}

``context`` is complete: it already holds the keys AWS derives from the principal
(``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:username``,
``aws:PrincipalIsAWSService``, ``aws:MultiFactorAuthPresent`` for sessions), because the oracle
does not derive them and iamguard gives request-supplied values precedence.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from typing import Any

JSON = Any
Case = dict[str, Any]

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"

# --------------------------------------------------------------------------- vocabulary

#: Real actions (the oracle validates them against AWS's service reference) of services that
#: iam-simulate evaluates with its default authorizer (kms, sts, iam and s3 have service-specific
#: logic, see README "Exclusions"), with the resource type each takes.
ACTIONS: dict[str, str] = {
    "sqs:SendMessage": "queue",
    "sqs:ReceiveMessage": "queue",
    "sqs:DeleteMessage": "queue",
    "sqs:GetQueueAttributes": "queue",
    "sns:Publish": "topic",
    "sns:Subscribe": "topic",
    "sns:GetTopicAttributes": "topic",
    "dynamodb:GetItem": "table",
    "dynamodb:PutItem": "table",
    "dynamodb:Query": "table",
}

RESOURCE_NAMES = ("orders", "orders-dlq", "alice-jobs", "bob-jobs", "billing")

ACTION_PATTERNS = (
    "*",
    "sqs:*",
    "sns:*",
    "sqs:Send*",
    "sqs:*Message",
    "sqs:Get*",
    "sqs:sendmessage",  # action names match case-insensitively
    "SQS:ReceiveMessage",
    "sns:Publish",
    "sns:Pub?ish",
    "sns:Get*",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sns:Subscribe",
    "sqs:SendMessage",
    "dynamodb:*",
    "dynamodb:*Item",
    "dynamodb:Query",
    "dynamodb:GetItem",
)


def _arn(service: str, account: str, name: str) -> str:
    if service == "dynamodb":
        name = f"table/{name}"
    return f"arn:aws:{service}:{REGION}:{account}:{name}"


RESOURCE_PATTERNS: tuple[Callable[[str], str], ...] = (
    lambda acct: "*",
    lambda acct: _arn("sqs", acct, "orders"),
    lambda acct: _arn("sqs", acct, "*"),
    lambda acct: _arn("sns", acct, "*"),
    lambda acct: f"arn:aws:sqs:*:{acct}:orders*",
    lambda acct: "arn:aws:sqs:*:*:ord?rs",
    # No wildcard (and no other case) in the service segment: "You can't use a wildcard in the
    # service segment", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    # (README, "Exclusions").
    lambda acct: "arn:aws:sqs:us-*:*:billing",
    lambda acct: _arn("sqs", acct, "*-jobs"),
    lambda acct: _arn("sns", acct, "billing"),
    lambda acct: "arn:aws:sqs:us-east-1:*:*",
    lambda acct: _arn("sqs", acct, "Orders"),  # resource ids compare case-sensitively
    lambda acct: _arn("dynamodb", acct, "*"),
    lambda acct: "arn:aws:dynamodb:*:*:table/orders*",
    # Policy variables in Resource (Version 2012-10-17 only), only after a "type/" prefix: the
    # oracle splits a resource id with no "/" at the first ":", which cuts "${aws:username}"
    # in two (README, "Exclusions").
    lambda acct: _arn("dynamodb", acct, "${aws:username}-*"),
    lambda acct: _arn("dynamodb", acct, "${aws:PrincipalTag/team}*"),
    lambda acct: _arn("dynamodb", acct, "${aws:PrincipalTag/team}-jobs"),
)

# Principals making the request: IAM users and role sessions, in both accounts.
PRINCIPALS = (
    ("user", ACCOUNT, "alice"),
    ("user", ACCOUNT, "bob"),
    ("user", OTHER_ACCOUNT, "carol"),
    ("role", ACCOUNT, "Admin/alice-session"),
    ("role", ACCOUNT, "Worker/i-0123"),
    ("role", OTHER_ACCOUNT, "Partner/ext"),
)


def principal_arn(kind: str, account: str, name: str) -> str:
    if kind == "user":
        return f"arn:aws:iam::{account}:user/{name}"
    return f"arn:aws:sts::{account}:assumed-role/{name}"


def role_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name.split('/')[0]}"


# --------------------------------------------------------------------------- context keys


def _ips(rng: random.Random) -> str:
    # IPv4 only on the request side: iam-simulate 0.1.173 evaluates NotIpAddress with an IPv4
    # range against an IPv6 source address as false, though the address is outside the range
    # (README, "Exclusions"). IPv6 ranges in policies stay in play.
    return rng.choice(("10.1.2.3", "10.200.0.1", "192.168.1.77", "203.0.113.5", "198.51.100.9"))


def _dates(rng: random.Random) -> str:
    return rng.choice(
        ("2023-06-01T12:00:00Z", "2024-01-01T00:00:00Z", "2024-03-15T08:30:00Z", "2025-12-31T23:59:59Z")
    )


#: Context keys the generator sets (canonical spelling) with a value maker each. Values stay in
#: the key's documented type; the request context of a case is a random subset of these.
SINGLE_KEYS: dict[str, Callable[[random.Random], str]] = {
    "aws:SourceIp": _ips,
    "aws:CurrentTime": _dates,
    "aws:EpochTime": lambda r: r.choice(("1700000000", "1704067200", "1735689600")),
    "aws:MultiFactorAuthAge": lambda r: r.choice(("0", "59", "300", "3600", "86400")),
    "aws:SecureTransport": lambda r: r.choice(("true", "false")),
    "aws:RequestedRegion": lambda r: r.choice(("us-east-1", "eu-west-1", "US-EAST-1")),
    "aws:PrincipalTag/team": lambda r: r.choice(("red", "blue", "Red", "alice", "orders")),
    "aws:ResourceTag/env": lambda r: r.choice(("prod", "dev", "Prod", "prod-eu")),
    "aws:UserAgent": lambda r: r.choice(("aws-cli/2.15", "boto3/1.34", "curl/8.0")),
    "aws:SourceArn": lambda r: r.choice(
        (
            _arn("sns", ACCOUNT, "billing"),
            _arn("sns", OTHER_ACCOUNT, "orders"),
            f"arn:aws:s3:::{ACCOUNT}-logs",
        )
    ),
    "aws:SourceAccount": lambda r: r.choice((ACCOUNT, OTHER_ACCOUNT)),
}
MULTI_KEYS: dict[str, Callable[[random.Random], list[str]]] = {
    # Never an empty list: the oracle takes [] as a present key, iamguard as a missing one, and
    # AWS documents no request whose multivalued key is present but empty (README, "Exclusions").
    "aws:TagKeys": lambda r: r.sample(["env", "team", "Owner", "cost-center", "Env"], r.randint(1, 3)),
    "aws:CalledVia": lambda r: r.sample(
        ["cloudformation.amazonaws.com", "athena.amazonaws.com"], r.randint(1, 2)
    ),
}


def principal_context(kind: str, account: str, name: str, rng: random.Random) -> dict[str, JSON]:
    """The keys AWS derives from the caller, as iamguard's ``Principal.context_keys`` names them."""
    arn = principal_arn(kind, account, name)
    ctx: dict[str, JSON] = {
        "aws:PrincipalArn": arn if kind == "user" else role_arn(account, name),
        "aws:PrincipalAccount": account,
        "aws:PrincipalType": "User" if kind == "user" else "AssumedRole",
        "aws:PrincipalIsAWSService": "false",
    }
    if kind == "user":
        ctx["aws:username"] = name
        if rng.random() < 0.5:  # long-term keys: MFA key present only when signed with MFA
            ctx["aws:MultiFactorAuthPresent"] = rng.choice(("true", "false"))
    else:
        ctx["aws:MultiFactorAuthPresent"] = rng.choice(("true", "false"))
    return ctx


def request_context(rng: random.Random, base: dict[str, JSON]) -> dict[str, JSON]:
    ctx = dict(base)
    for key, make in SINGLE_KEYS.items():
        if rng.random() < 0.45:
            ctx[key] = make(rng)
    for mkey, make_many in MULTI_KEYS.items():
        if rng.random() < 0.45:
            ctx[mkey] = make_many(rng)
    return ctx


# --------------------------------------------------------------------------- conditions

STRING_KEYS = (
    "aws:PrincipalTag/team",
    "aws:RequestedRegion",
    "aws:ResourceTag/env",
    "aws:UserAgent",
    "aws:username",
    "aws:PrincipalType",
    "aws:PrincipalAccount",
    "aws:SourceAccount",
)
STRING_VALUES: tuple[str, ...] = (
    "red",
    "blue",
    "RED",
    "r*",
    "?lue",
    "prod",
    "prod*",
    "dev",
    "us-east-1",
    "us-*",
    "eu-west-?",
    "User",
    "AssumedRole",
    "alice",
    "aws-cli/*",
    "*",
    ACCOUNT,
    OTHER_ACCOUNT,
    "${aws:username}",
    "${aws:PrincipalTag/team}",
    "${aws:PrincipalAccount}",
)
STRING_OPS = (
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
)
NUMERIC_OPS = (
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
)
DATE_OPS = (
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
)
ARN_OPS = ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike")
ARN_KEYS = ("aws:PrincipalArn", "aws:SourceArn")
ARN_VALUES = (
    f"arn:aws:iam::{ACCOUNT}:user/*",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    "arn:aws:iam::*:role/Admin",
    f"arn:aws:iam::{OTHER_ACCOUNT}:role/*",
    "arn:aws:sns:*:*:*",
    f"arn:aws:sns:us-east-1:{ACCOUNT}:billing",
    "arn:aws:s3:::*",
    "arn:aws:iam::*:*",
    "arn:*:iam::*:user/*",
    f"arn:aws:iam::{ACCOUNT}:*/Admin",
    "arn:aws:iam::?????????333:role/*",
)
STRING_SET_VALUES = (
    "env",
    "team",
    "Env",
    "owner",
    "cost-*",
    "cloudformation.amazonaws.com",
    "*.amazonaws.com",
)


def _values(rng: random.Random, pool: tuple[JSON, ...]) -> JSON:
    picked = rng.sample(pool, rng.randint(1, 2))
    return picked[0] if len(picked) == 1 and rng.random() < 0.7 else picked


def _one_condition(rng: random.Random) -> tuple[str, str, JSON]:
    """One (operator, key, values) triple of a random family."""
    family = rng.choice(
        ("string", "string", "numeric", "date", "epoch", "bool", "ip", "arn", "null", "set", "set")
    )
    if family == "string":
        op, key = rng.choice(STRING_OPS), rng.choice(STRING_KEYS)
        pool = STRING_VALUES
        if "Not" in op:
            # Negated operators only get variables that always resolve: iam-simulate 0.1.173
            # makes StringNotEquals false for an unresolvable ${...}, where AWS says inverted
            # operators "do match against a null value" (README, "Exclusions").
            pool = tuple(v for v in STRING_VALUES if "${" not in v or v == "${aws:PrincipalAccount}")
        vals = _values(rng, pool)
    elif family == "numeric":
        op, key = rng.choice(NUMERIC_OPS), "aws:MultiFactorAuthAge"
        # JSON numbers as well as strings: IAM compares from the string form either way.
        vals = _values(rng, ("0", "60", "300", "3600", "86400", 3600, 300, "3600.0", "59.5"))
    elif family == "date":
        op, key = rng.choice(DATE_OPS), "aws:CurrentTime"
        vals = _values(
            rng,
            (
                "2024-01-01T00:00:00Z",
                "2024-03-15T08:30:00Z",
                "2023-01-01T00:00:00Z",
                "2025-06-30T00:00:00Z",
                "2024-01-01",
                "2024-03-15T10:30:00+02:00",
                "2024-01-01T00:00:00.000Z",
            ),
        )
    elif family == "epoch":
        op, key = rng.choice(DATE_OPS), "aws:EpochTime"
        vals = _values(rng, ("1704067200", "1700000000", "1735689600"))
    elif family == "bool":
        op = "Bool"
        key = rng.choice(("aws:SecureTransport", "aws:MultiFactorAuthPresent", "aws:PrincipalIsAWSService"))
        vals = rng.choice(("true", "false", ["true"], "false", True, False))
    elif family == "ip":
        op, key = rng.choice(("IpAddress", "NotIpAddress")), "aws:SourceIp"
        vals = _values(
            rng, ("10.0.0.0/8", "192.168.1.0/24", "203.0.113.5/32", "203.0.113.5", "2001:db8::/32")
        )
    elif family == "arn":
        op, key, vals = rng.choice(ARN_OPS), rng.choice(ARN_KEYS), _values(rng, ARN_VALUES)
    elif family == "null":
        op = "Null"
        key = rng.choice(tuple(SINGLE_KEYS) + tuple(MULTI_KEYS) + ("aws:username",))
        vals = rng.choice(("true", "false"))
        return op, key, vals
    else:
        qualifier = rng.choice(("ForAllValues", "ForAnyValue"))
        base = rng.choice(
            ("StringEquals", "StringLike", "StringNotEquals", "StringNotLike", "StringEqualsIgnoreCase")
        )
        op, key, vals = f"{qualifier}:{base}", rng.choice(tuple(MULTI_KEYS)), _values(rng, STRING_SET_VALUES)
    # No IfExists after ForAnyValue: iam-simulate 0.1.173 evaluates ForAnyValue:...IfExists on
    # a missing key as false, where AWS says "If the key is not present, evaluate the condition
    # element as true" (README, "Exclusions").
    if rng.random() < 0.25 and not op.startswith("ForAnyValue:"):
        op += "IfExists"
    return op, key, vals


def _spelling(rng: random.Random, key: str) -> str:
    """Condition key names are case-insensitive; sometimes write them in another case.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html"""
    roll = rng.random()
    if roll < 0.1:
        return key.lower()
    if roll < 0.15:
        return key.upper()
    return key


def random_conditions(rng: random.Random) -> dict[str, dict[str, JSON]] | None:
    if rng.random() < 0.55:
        return None
    block: dict[str, dict[str, JSON]] = {}
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        op, key, vals = _one_condition(rng)
        entries = block.setdefault(op, {})
        if key.lower() not in {k.lower() for k in entries}:  # one spelling per key and operator
            entries[_spelling(rng, key)] = vals
    return block


# --------------------------------------------------------------------------- statements


def _one_or_list(rng: random.Random, pool: list[str]) -> JSON:
    picked = rng.sample(pool, rng.randint(1, min(2, len(pool))))
    return picked[0] if len(picked) == 1 else picked


def random_statement(
    rng: random.Random,
    account: str,
    target: tuple[str, str],
    *,
    principal_block: JSON | None,
    allow_bias: float,
    not_principals: list[JSON] | None = None,
) -> JSON:
    stmt: dict[str, JSON] = {"Effect": "Allow" if rng.random() < allow_bias else "Deny"}
    if principal_block is not None:
        # NotPrincipal only with Deny (AWS: never with Allow), and only listing either every
        # identity of the caller (account, role, session / account, user) or none of them
        # (README, "Exclusions").
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
        if stmt["Effect"] == "Deny" and not_principals and rng.random() < 0.3:
            stmt["NotPrincipal"] = rng.choice(not_principals)
        else:
            stmt["Principal"] = principal_block
    action_key = "NotAction" if rng.random() < 0.12 else "Action"
    actions = list(ACTION_PATTERNS)
    resources = list(dict.fromkeys(make(account) for make in RESOURCE_PATTERNS))
    if rng.random() < 0.5:
        # Aim at the request so that statements match often enough to exercise the logic
        # after matching (conditions, deny precedence, boundaries, cross-account).
        actions = [target[0], target[0].split(":")[0] + ":*", "*"]
        resources = [target[1], "*", target[1].rsplit(":", 1)[0] + ":*"]
    stmt[action_key] = _one_or_list(rng, actions)
    resource_key = "NotResource" if rng.random() < 0.1 else "Resource"
    if resource_key == "NotResource":
        # No policy variables in NotResource: AWS says only that such an entry "will not match
        # any resource", which the two tools read differently (README, "Exclusions").
        resources = [r for r in resources if "${" not in r]
    stmt[resource_key] = _one_or_list(rng, resources)
    conditions = random_conditions(rng)
    if conditions:
        stmt["Condition"] = conditions
    return stmt


def random_policy(
    rng: random.Random,
    account: str,
    target: tuple[str, str],
    *,
    allow_bias: float,
    principals: list[JSON] | None = None,
    not_principals: list[JSON] | None = None,
) -> JSON:
    statements = []
    for _ in range(rng.randint(1, 3)):
        block = rng.choice(principals) if principals else None
        statements.append(
            random_statement(
                rng,
                account,
                target,
                principal_block=block,
                allow_bias=allow_bias,
                not_principals=not_principals,
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}


def resource_policy_principals(kind: str, account: str, name: str) -> list[JSON]:
    """Principal elements a resource policy may name, some matching the caller, some not."""
    own_arn = principal_arn(kind, account, name)
    return [
        "*",
        {"AWS": "*"},
        {"AWS": own_arn},
        {"AWS": own_arn if kind == "user" else role_arn(account, name)},
        {"AWS": f"arn:aws:iam::{account}:root"},
        {"AWS": account},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"},
        {"AWS": [f"arn:aws:iam::{OTHER_ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:user/alice"]},
        {"AWS": ["*"]},
        {"Service": "sns.amazonaws.com"},
        {"AWS": [own_arn, role_arn(account, name)] if kind == "role" else [own_arn, account]},
        {"AWS": f"arn:aws:sts::{account}:assumed-role/Admin/other-session"},
    ]


def _without_session_grants(blocks: list[JSON], kind: str, account: str, name: str) -> list[JSON]:
    """Principal elements that grant to the role, the account or others, never to the session.

    With a session policy, AWS adds resource-policy permissions granted to the *session* ARN
    after the session policy, so they are not limited by it ("The resource-based policy
    permissions are not limited by the session policy"), while grants to the role ARN are.
    iam-simulate 0.1.173 limits both (its README lists session policies as "coming soon"), and
    AWS does not say which side a "*" grant falls on; such grants are left out (README,
    "Exclusions"). https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
    """
    session_arn = principal_arn(kind, account, name)

    def names_session(block: JSON) -> bool:
        if block == "*":
            return True
        values = block.get("AWS", [])
        values = [values] if isinstance(values, str) else values
        return "*" in values or session_arn in values

    return [b for b in blocks if not names_session(b)]


def resource_policy_not_principals(kind: str, account: str, name: str) -> list[JSON]:
    """NotPrincipal elements that list all of the caller's identities, or none of them.

    AWS evaluates a Deny with NotPrincipal against the account *and* the user (or the role and
    the role session): "you must also specify the account ARN of the not-denied principal.
    Otherwise, the policy might deny access to the entire account, including the principal."
    iam-simulate instead treats the account alone, or the role alone, as exempting the caller,
    so partial lists are not generated (README, "Exclusions").
    """
    other = OTHER_ACCOUNT if account == ACCOUNT else ACCOUNT
    own = [f"arn:aws:iam::{account}:root", principal_arn(kind, account, name)]
    if kind == "role":
        own.append(role_arn(account, name))
    return [
        {"AWS": own},
        {"AWS": f"arn:aws:iam::{other}:root"},
        {"AWS": [f"arn:aws:iam::{other}:user/zed", other]},
    ]


# --------------------------------------------------------------------------- cases


def random_case(rng: random.Random, case_id: str) -> Case:
    kind, account, name = rng.choice(PRINCIPALS)
    action = rng.choice(tuple(ACTIONS))
    service = action.split(":")[0]
    resource_account = ACCOUNT if rng.random() < 0.7 else OTHER_ACCOUNT
    resource = _arn(service, resource_account, rng.choice(RESOURCE_NAMES))
    ctx = request_context(rng, principal_context(kind, account, name, rng))
    target = (action, resource)
    identity = [
        {"name": f"identity-{i}", "policy": random_policy(rng, resource_account, target, allow_bias=0.75)}
        for i in range(rng.choice((0, 1, 1, 1, 2, 2)))
    ]
    boundary = random_policy(rng, resource_account, target, allow_bias=0.8) if rng.random() < 0.3 else None
    # Session policies exist only for role (and federated) sessions.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
    session = None
    if kind == "role" and rng.random() < 0.25:
        session = random_policy(rng, resource_account, target, allow_bias=0.8)
    resource_policy = None
    # A cross-account request needs a resource policy to be allowed at all, so give it one more often.
    if rng.random() < (0.85 if resource_account != account else 0.5):
        resource_policy = random_policy(
            rng,
            resource_account,
            target,
            allow_bias=0.75,
            principals=_without_session_grants(
                resource_policy_principals(kind, account, name), kind, account, name
            )
            if session
            else resource_policy_principals(kind, account, name),
            not_principals=resource_policy_not_principals(kind, account, name),
        )
    return {
        "id": case_id,
        "principal": principal_arn(kind, account, name),
        "action": action,
        "resource": resource,
        "resource_account": resource_account,
        "context": ctx,
        "identity_policies": identity,
        "permissions_boundary": boundary,
        "session_policy": session,
        "resource_policy": resource_policy,
    }


def generate_cases(seed: int, count: int) -> list[Case]:
    """``count`` random cases, fully determined by ``seed``."""
    rng = random.Random(seed)
    return [random_case(rng, f"s{seed}-{i:05d}") for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args(argv)
    json.dump(generate_cases(args.seed, args.count), sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
