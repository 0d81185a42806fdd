"""``iamguard analyze ...``: questions about all requests, from policy files, the store and the audit log.

::

    iamguard analyze no-new-access --new NEW.json --old OLD.json [--boundary F] [--json]
    iamguard analyze access-not-granted POLICY.json --action s3:DeleteObject [--resource ARN]
    iamguard analyze public-access BUCKET-POLICY.json [--resource-type AWS::S3::Bucket]
    iamguard analyze equivalent A.json B.json
    iamguard analyze generate-policy --principal ARN --audit-log FILE [--since 30d] [--store URL]
    iamguard analyze unused [--days 90] [--principal ARN] [--audit-log FILE] [--store URL]
    iamguard analyze escalation [--store URL] [--edges]

Exit status: 0 when a check PASSes or nothing is found; 1 on FAIL or UNKNOWN (a check that could
not prove PASS), on findings, on escalation paths, or when a generated policy's comparison with
the principal's current policies does not PASS; 2 on a usage error. ``--json`` prints the
result as JSON. A FAIL prints its counterexample request and the ``iamguard simulate`` command
that replays it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from iamguard.cli import EXIT_FINDINGS, EXIT_OK
from iamguard.cli._store_args import DEFAULT_STORE_URL, STORE_ENV, group_parser, open_from_args
from iamguard.errors import InvalidParameterError
from iamguard.policy.parse import parse_policy

if TYPE_CHECKING:
    from iamguard.analysis.results import AnalysisResult
    from iamguard.policy.model import Policy

__all__ = ["register"]


def register(subparsers: Any) -> None:
    verbs = group_parser(
        subparsers,
        "analyze",
        "policy analysis: comparisons, generation, unused access, escalation",
        __doc__ or "",
    )
    _comparison_verbs(verbs)
    p = _leaf(
        verbs, "generate-policy", "least-privilege policy from the audit log, with its proof", _generate
    )
    p.add_argument(
        "--principal", required=True, metavar="ARN", help="user or role ARN (a role covers its sessions)"
    )
    p.add_argument(
        "--audit-log", required=True, metavar="FILE", help="JSON-lines audit file (JsonLinesAuditSink)"
    )
    p.add_argument("--since", metavar="DURATION", help="only events this recent: 30d, 12h, 90m, 2w")
    p.add_argument(
        "--threshold", type=int, default=10, metavar="N", help="generalize sets larger than N (default 10)"
    )
    p.add_argument("--no-generalize", action="store_true", help="never generalize with wildcards")
    p.add_argument("--no-conditions", action="store_true", help="never add an aws:SourceIp condition")
    p.add_argument(
        "--store", metavar="URL", help=f"compare with the principal's current policies (or ${STORE_ENV})"
    )
    p = _leaf(verbs, "unused", "allowed access not used in N days (access-advisor data)", _unused, store=True)
    p.add_argument("--days", type=int, default=90, metavar="N", help="the window (default 90)")
    p.add_argument("--principal", action="append", metavar="ARN", help="only this user or role (repeatable)")
    p.add_argument("--audit-log", metavar="FILE", help="also report unused actions, from this audit file")
    p = _leaf(
        verbs,
        "escalation",
        "principals that can make themselves admin, with their paths",
        _escalation,
        store=True,
    )
    p.add_argument("--edges", action="store_true", help="also list every edge of the graph")


def _leaf(
    verbs: Any, name: str, help_text: str, func: Any, *, store: bool = False
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = verbs.add_parser(name, help=help_text, description=help_text)
    if store:
        parser.add_argument(
            "--store",
            metavar="URL",
            help=f"identity store URL (default: ${STORE_ENV}, else {DEFAULT_STORE_URL})",
        )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=func)
    return parser


def _comparison_verbs(verbs: Any) -> None:
    p = _leaf(
        verbs, "no-new-access", "does NEW allow anything OLD does not? (CheckNoNewAccess)", _no_new_access
    )
    p.add_argument("--new", action="append", required=True, metavar="FILE", help="new policy (repeatable)")
    p.add_argument("--old", action="append", required=True, metavar="FILE", help="old policy (repeatable)")
    _context_args(p)
    p = _leaf(
        verbs,
        "access-not-granted",
        "is any of the listed access allowed? (CheckAccessNotGranted)",
        _not_granted,
    )
    p.add_argument("policies", nargs="+", metavar="POLICY_FILE")
    p.add_argument(
        "--action", "-a", action="append", default=[], help="action, wildcards allowed (repeatable)"
    )
    p.add_argument("--resource", "-r", action="append", default=[], help="resource ARN pattern (repeatable)")
    _context_args(p)
    p = _leaf(
        verbs, "public-access", "does a resource policy grant public access? (CheckNoPublicAccess)", _public
    )
    p.add_argument("policy", metavar="RESOURCE_POLICY_FILE")
    p.add_argument(
        "--resource-type", default="AWS::S3::Bucket", help="resource type (default AWS::S3::Bucket)"
    )
    p.add_argument("--resource-account", metavar="ACCOUNT", help="account owning the resource")
    p = _leaf(verbs, "equivalent", "do two policies allow exactly the same requests?", _equivalent)
    p.add_argument("a", metavar="A_FILE")
    p.add_argument("b", metavar="B_FILE")
    _context_args(p)


def _context_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--boundary", metavar="FILE", help="permissions boundary on both sides")
    parser.add_argument("--resource-policy", metavar="FILE", help="resource-based policy on both sides")
    parser.add_argument("--resource-account", metavar="ACCOUNT", help="account owning the resource")
    parser.add_argument(
        "--policy-type", choices=("identity", "resource"), help="how to read the compared policies"
    )


# ---------------------------------------------------------------- comparisons


def _policy(path: str) -> Policy:
    """A policy file (``-`` for standard input), parsed with its path as the policy's name."""
    if path == "-":
        text = sys.stdin.read()
    else:
        with open(path.removeprefix("file://"), encoding="utf-8") as handle:
            text = handle.read()
    return parse_policy(text, name=path)


def _surroundings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "boundary": _policy(args.boundary) if args.boundary else None,
        "resource_policy": _policy(args.resource_policy) if args.resource_policy else None,
        "resource_account": args.resource_account,
        "policy_type": args.policy_type,
    }


def _no_new_access(args: argparse.Namespace) -> int:
    from iamguard.analysis import check_no_new_access

    new, old = [_policy(f) for f in args.new], [_policy(f) for f in args.old]
    return _verdict(args, check_no_new_access(new, old, **_surroundings(args)), args.new)


def _not_granted(args: argparse.Namespace) -> int:
    from iamguard.analysis import check_access_not_granted

    if not args.action and not args.resource:
        raise InvalidParameterError("give --action, --resource or both")
    policies = [_policy(f) for f in args.policies]
    found = check_access_not_granted(
        policies, actions=args.action, resources=args.resource, **_surroundings(args)
    )
    return _verdict(args, found, args.policies)


def _public(args: argparse.Namespace) -> int:
    from iamguard.analysis import check_no_public_access

    found = check_no_public_access(
        _policy(args.policy), resource_type=args.resource_type, resource_account=args.resource_account
    )
    from iamguard.analysis.principals import CALLER_ACCOUNT

    owner = args.resource_account or CALLER_ACCOUNT
    return _verdict(args, found, [], resource_policy_file=args.policy, resource_owner=owner)


def _equivalent(args: argparse.Namespace) -> int:
    from iamguard.analysis import is_equivalent

    return _verdict(args, is_equivalent(_policy(args.a), _policy(args.b), **_surroundings(args)), [args.a])


def _verdict(
    args: argparse.Namespace,
    result: AnalysisResult,
    files: list[str],
    *,
    resource_policy_file: str | None = None,
    resource_owner: str | None = None,
) -> int:
    """Print a check's result; 0 for PASS, 1 otherwise (FAIL, or UNKNOWN: not proven)."""
    if args.json:
        _print_json(result.to_json())
    else:
        print(result.verdict.value)
        for reason in result.reasons:
            print(f"  {reason}")
        example = result.counterexample
        if example is not None:
            print(f"  counterexample: {example.principal} {example.action} on {example.resource}")
            for key, value in example.context.items():
                print(f"    context {key} = {value!r}")
            if example.decisions:
                print(f"    decisions: {', '.join(example.decisions)}")
            replay = example.simulate_command(
                files or ("POLICY.json",),
                boundary_file=getattr(args, "boundary", None),
                resource_policy_file=resource_policy_file or getattr(args, "resource_policy", None),
                resource_owner=resource_owner or getattr(args, "resource_account", None),
            )
            print(f"  replay: {replay}")
    return EXIT_OK if result.passed else EXIT_FINDINGS


# ---------------------------------------------------------------- audit log and store


def _generate(args: argparse.Namespace) -> int:
    from iamguard.analysis.generate import generate_policy, parse_duration

    if args.threshold < 1:
        raise InvalidParameterError("--threshold must be at least 1")
    store = open_from_args(args) if args.store or os.environ.get(STORE_ENV) else None
    generated = generate_policy(
        args.audit_log,
        args.principal,
        since=parse_duration(args.since) if args.since else None,
        generalize_threshold=None if args.no_generalize else args.threshold,
        conditions=not args.no_conditions,
        store=store,
    )
    check = generated.no_new_access
    if args.json:
        data = generated.to_json()
        data["NoNewAccessResult"] = None if check is None else check.to_json()
        _print_json(data)
    else:
        print(generated.document)
        proof = f"replayed {generated.replayed} allowed requests of {generated.principal_arn}: {generated.replay_allowed} allowed"
        print(f"{proof} ({generated.events_read} audit events read)", file=sys.stderr)
        if generated.size_problem is not None:
            print(f"warning: {generated.size_problem}; try a lower --threshold", file=sys.stderr)
        if check is not None:
            print(f"no new access compared with the current policies: {check.verdict.value}", file=sys.stderr)
            if check.counterexample is not None:
                example = check.counterexample
                print(f"  counterexample: {example.action} on {example.resource}", file=sys.stderr)
        elif generated.no_new_access_note:
            print(f"no comparison: {generated.no_new_access_note}", file=sys.stderr)
    return EXIT_OK if check is None or check.passed else EXIT_FINDINGS


def _unused(args: argparse.Namespace) -> int:
    from iamguard.analysis.unused import unused_access

    store = open_from_args(args)
    findings = unused_access(store, days=args.days, principals=args.principal, events=args.audit_log)
    if args.json:
        _print_json({"Days": args.days, "Findings": [f.to_json() for f in findings]})
    elif not findings:
        print(f"no unused access in the last {args.days} days")
    else:
        for finding in findings:
            print(finding.describe())
    return EXIT_FINDINGS if findings else EXIT_OK


def _escalation(args: argparse.Namespace) -> int:
    from iamguard.analysis.escalation import escalation_paths

    report = escalation_paths(open_from_args(args))
    if args.json:
        data = report.to_json()
        if not args.edges:
            data.pop("Edges")
        _print_json(data)
        return EXIT_FINDINGS if report.paths else EXIT_OK
    print(f"{report.principals} principals; admin already: {', '.join(report.admins) or 'none'}")
    if not report.paths:
        print("no principal can reach admin")
    for found in report.paths:
        print(f"\n{found.principal} can reach admin ({found.admin}):")
        for line in found.explain():
            print(f"  {line}")
    if args.edges:
        print("\nedges:")
        for edge in report.edges:
            print(f"  {edge.describe()}")
    if report.conditional_edges:
        print("\nnot followed (would need condition keys the analysis does not invent):")
        for edge in report.conditional_edges:
            print(f"  {edge.actor} {edge.technique} on {edge.target}: needs {', '.join(edge.missing_keys)}")
    return EXIT_FINDINGS if report.paths else EXIT_OK


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
