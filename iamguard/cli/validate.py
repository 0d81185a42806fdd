"""``iamguard validate FILE...``: parse each policy file, report errors and findings.

Exit status: 0 when every file is valid (findings allowed), 1 when some file has errors (or,
with ``--strict``, any finding), 2 when a file cannot be read or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from iamguard.errors import PolicyError, PolicyProblem
from iamguard.policy.limits import PolicyLimits
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.policy.validate import validate_policy

__all__ = ["register", "run"]

_EXIT_OK, _EXIT_FINDINGS, _EXIT_USAGE = 0, 1, 2
_JSON_FIELDS = ("file", "valid", "errors", "findings")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check IAM policy documents",
        description="Check IAM policy documents for errors and findings.",
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="policy JSON file ('-' reads standard input)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array of results")
    parser.add_argument("--kind", choices=[k.value for k in PolicyKind], default=PolicyKind.ANY.value,
                        help="where the policies are attached (default: any)")  # fmt: skip
    parser.add_argument("--limit", choices=[*PolicyLimits.presets(), "none"], default="none",
                        help="enforce an AWS size quota (default: none)")  # fmt: skip
    parser.add_argument("--strict", action="store_true", help="exit 1 when there are findings too")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    kind = PolicyKind(args.kind)
    limits = None if args.limit == "none" else PolicyLimits.presets()[args.limit]
    results = [_check_file(path, kind, limits) for path in args.files]
    if args.json:
        print(json.dumps([{k: r[k] for k in _JSON_FIELDS} for r in results], indent=2))
    else:
        for result in results:
            _print_human(result)
    if any(r.get("unreadable") for r in results):
        return _EXIT_USAGE
    if any(not r["valid"] or (args.strict and r["findings"]) for r in results):
        return _EXIT_FINDINGS
    return _EXIT_OK


def _check_file(path: str, kind: PolicyKind, limits: PolicyLimits | None) -> dict[str, Any]:
    try:
        data = sys.stdin.buffer.read() if path == "-" else _read(path)
    except OSError as error:
        problem = PolicyProblem("", f"cannot read file: {error.strerror or error}")
        return {
            "file": path,
            "valid": False,
            "unreadable": True,
            "errors": [problem.to_json()],
            "findings": [],
        }
    try:
        policy = parse_policy(data, name=path, kind=kind, limits=limits)
    except PolicyError as error:
        return {"file": path, "valid": False, "errors": [p.to_json() for p in error.problems], "findings": []}
    findings = validate_policy(policy)
    return {"file": path, "valid": True, "errors": [], "findings": [f.to_json() for f in findings]}


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _print_human(result: dict[str, Any]) -> None:
    status = "valid" if result["valid"] else "INVALID"
    print(f"{result['file']}: {status}")
    for error in result["errors"]:
        where = f"{error['location']}: " if error["location"] else ""
        print(f"  ERROR {where}{error['message']}")
    for finding in result["findings"]:
        print(f"  {finding['severity']} {finding['code']} {finding['location']}: {finding['message']}")
