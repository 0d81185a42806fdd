"""``iamguard simulate``: evaluate policy files offline, like IAM's SimulateCustomPolicy.

::

    iamguard simulate policy.json [more.json ...] --action s3:GetObject [--action ...]
        [--resource ARN ...] [--context aws:SourceIp=ip:10.0.0.1 ...]
        [--boundary FILE] [--resource-policy FILE] [--resource-owner ACCOUNT]
        [--caller-arn ARN | --anonymous] [--session-policy FILE ...] [--json]

``--context KEY=TYPE:VALUE`` takes a ``ContextKeyType`` (``string``, ``stringList``, ``numeric``,
``boolean``, ``ip``, ``date``, ``binary`` and their ``List`` forms); list types take
comma-separated values. Without a recognised type prefix the whole value is a string, so
``aws:CurrentTime=2024-01-01T00:00:00Z`` works as written.

``--anonymous`` (an unsigned caller, who carries no identity policies: give no POLICY_FILE) and
``--session-policy`` (policies passed when the session was created) are iamguard's own: AWS's
SimulateCustomPolicy has neither, and they exist so every counterexample of ``iamguard analyze``
replays (:meth:`iamguard.analysis.Counterexample.simulate_command`).

Exit status: 0 when every (action, resource) is allowed, 1 when any is denied (or a policy is
invalid), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iamguard.cli import EXIT_FINDINGS, EXIT_OK, _aws_json
from iamguard.cli._aws_json import print_json
from iamguard.context import ContextType, ContextValue, parse_typed_value
from iamguard.decision import Decision
from iamguard.errors import InvalidParameterError
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.principal import Principal, PrincipalType
from iamguard.simulate import DEFAULT_CALLER_ARN, simulate_custom_policy, simulate_policy_set

__all__ = ["add_request_args", "context_from_options", "parse_context_option", "register", "report", "run"]

_TYPES = {t.value.lower(): t for t in ContextType}


def register(subparsers: Any) -> None:
    """Add the ``simulate`` subcommand to the ``iamguard`` parser."""
    parser = subparsers.add_parser(
        "simulate",
        help="evaluate identity policies (and optionally a boundary and resource policy) offline",
        description="Evaluate actions on resources against policy files, like IAM's SimulateCustomPolicy.",
    )
    parser.add_argument(
        "policies",
        nargs="*",
        metavar="POLICY_FILE",
        help="identity policy JSON files (none with --anonymous)",
    )
    add_request_args(parser, context_help="context key (repeatable)")
    parser.add_argument("--boundary", metavar="FILE", help="permissions boundary policy file")
    parser.add_argument("--resource-policy", metavar="FILE", help="resource-based policy file")
    parser.add_argument("--resource-owner", metavar="ACCOUNT", help="account id (or ARN) owning the resource")
    parser.add_argument("--caller-arn", metavar="ARN", help="simulated caller (default: an IAM user)")
    parser.add_argument(
        "--anonymous",
        action="store_true",
        help="simulate an unsigned (anonymous) caller; not in AWS's SimulateCustomPolicy",
    )
    parser.add_argument(
        "--session-policy",
        action="append",
        default=None,
        metavar="FILE",
        help="session policy file (repeatable); not in AWS's SimulateCustomPolicy",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the EvaluationResults as aws iam simulate-custom-policy does",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the simulation described by ``args``; print results; return the exit status."""
    if args.anonymous or args.session_policy is not None:
        return _run_policy_set(args)
    if not args.policies and not args.resource_policy:
        # Without identity policies only a resource policy can grant anything.
        raise InvalidParameterError("simulate needs a POLICY_FILE, --resource-policy or --anonymous")
    identity = [_read(path, PolicyKind.IDENTITY) for path in args.policies]
    boundary = [_read(args.boundary, PolicyKind.IDENTITY)] if args.boundary else None
    resource_policy = _read(args.resource_policy, PolicyKind.RESOURCE) if args.resource_policy else None
    resources, context = args.resource or ["*"], context_from_options(args.context)
    decisions = simulate_custom_policy(
        identity,
        args.action,
        resources,
        context_entries=context,
        permissions_boundary_policy_input_list=boundary,
        resource_policy=resource_policy,
        resource_owner=args.resource_owner,
        caller_arn=args.caller_arn,
    )
    alone = None
    if boundary is not None:  # the boundary alone, for PermissionsBoundaryDecisionDetail
        alone = simulate_custom_policy(
            boundary, args.action, resources, context_entries=context, caller_arn=args.caller_arn
        )
    return report(args, decisions, alone, _source_ids(args))


def _run_policy_set(args: argparse.Namespace) -> int:
    """``--anonymous`` / ``--session-policy``: the request evaluated against the whole policy set."""
    if args.anonymous and (args.policies or args.caller_arn):
        raise InvalidParameterError(
            "--anonymous takes no POLICY_FILE or --caller-arn: an unsigned caller has no identity"
        )
    principal = (
        Principal(arn="*", account="", type=PrincipalType.ANONYMOUS)
        if args.anonymous
        else Principal.from_arn(args.caller_arn or DEFAULT_CALLER_ARN)
    )
    policies = PolicySet(
        identity=tuple(_read(path, PolicyKind.IDENTITY) for path in args.policies),
        boundary=_read(args.boundary, PolicyKind.IDENTITY) if args.boundary else None,
        session=tuple(_read(path, PolicyKind.IDENTITY) for path in args.session_policy)
        if args.session_policy is not None
        else None,
        resource=_read(args.resource_policy, PolicyKind.RESOURCE) if args.resource_policy else None,
    )
    decisions = simulate_policy_set(
        principal,
        policies,
        args.action,
        args.resource or ["*"],
        context_from_options(args.context),
        args.resource_owner,
    )
    return report(args, decisions, None, _source_ids(args))


def _source_ids(args: argparse.Namespace) -> dict[str, str]:
    """The names ``aws iam simulate-custom-policy`` gives the policies it was passed as text:
    ``PolicyInputList.N`` (1-based), ``PermissionsBoundaryPolicyInputList.1``, ``ResourcePolicy``;
    the table keeps the file names. https://docs.aws.amazon.com/IAM/latest/APIReference/API_Statement.html"""
    ids: dict[str, str] = {}
    for index, path in enumerate(args.policies, 1):
        ids.setdefault(path, f"PolicyInputList.{index}")
    if args.boundary:
        ids.setdefault(args.boundary, "PermissionsBoundaryPolicyInputList.1")
    if args.resource_policy:
        ids.setdefault(args.resource_policy, "ResourcePolicy")
    return ids


def add_request_args(parser: argparse.ArgumentParser, *, context_help: str) -> None:
    """``--action`` (required), ``--resource`` and ``--context``, as every simulator takes them."""
    parser.add_argument("--action", "-a", action="append", required=True, help="service:Action (repeatable)")
    parser.add_argument(
        "--resource", "-r", action="append", default=None, help="resource ARN (repeatable; default *)"
    )
    parser.add_argument(
        "--context", "-c", action="append", default=[], metavar="KEY=TYPE:VALUE", help=context_help
    )


def context_from_options(options: list[str]) -> dict[str, ContextValue]:
    """The request context from ``--context`` options (key names lower-cased)."""
    context: dict[str, ContextValue] = {}
    for option in options:
        key, value = parse_context_option(option)
        context[key.lower()] = value
    return context


def report(
    args: argparse.Namespace,
    decisions: list[Decision],
    boundary_alone: list[Decision] | None = None,
    source_ids: Mapping[str, str] | None = None,
) -> int:
    """Print the decisions (under ``--json`` as ``{"EvaluationResults": [...]}``, the answer of
    ``aws iam simulate-custom-policy``, else a table); the exit status: 0 when all are allowed,
    else 1. ``boundary_alone``: when a permissions boundary took part, the same requests
    evaluated against it alone (each result then says whether it allows the request);
    ``source_ids``: the names JSON gives policies (see :func:`_source_ids`)."""
    if args.json:
        alone: list[Decision | None] = list(boundary_alone) if boundary_alone else [None] * len(decisions)
        results = [
            _aws_json.evaluation_result(d, b, source_ids) for d, b in zip(decisions, alone, strict=True)
        ]
        print_json({"EvaluationResults": results})
    else:
        _print_table(decisions)
    return EXIT_OK if all(d.allowed for d in decisions) else EXIT_FINDINGS


def parse_context_option(option: str) -> tuple[str, ContextValue]:
    """``KEY=TYPE:VALUE`` → ``(KEY, value)``; list types split VALUE on commas."""
    key, sep, rest = option.partition("=")
    if not sep or not key:
        raise InvalidParameterError(f"--context expects KEY=TYPE:VALUE, got {option!r}")
    type_name, colon, raw = rest.partition(":")
    context_type = _TYPES.get(type_name.lower()) if colon else None
    if context_type is None:
        return key, rest
    values = raw.split(",") if context_type.is_list else [raw]
    return key, parse_typed_value(key, context_type.value, values)


def _read(path: str, kind: PolicyKind) -> Policy:
    return parse_policy(Path(path).read_text(encoding="utf-8"), name=path, kind=kind)


def _print_table(decisions: list[Decision]) -> None:
    header = ("ACTION", "RESOURCE", "DECISION", "MATCHED STATEMENTS", "MISSING CONTEXT KEYS")
    rows = [header]
    for d in decisions:
        matched = ", ".join(f"{m.policy_name}[{m.statement_index}] {m.effect}" for m in d.matched) or "-"
        missing = ", ".join(d.missing_context_keys) or "-"
        rows.append((d.action, d.resource, d.kind.value, matched, missing))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    out = sys.stdout
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)] + [row[-1]]
        out.write("  ".join(cells).rstrip() + "\n")
    for d in decisions:
        if d.reason:
            out.write(f"{d.action} on {d.resource}: {d.reason}\n")
        for error in d.errors:
            out.write(f"  error: {error}\n")
