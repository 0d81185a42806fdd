"""What every check returns: a verdict, a concrete counterexample when it fails, and reasons.

``FAIL`` always carries a :class:`Counterexample`: a request iamguard's evaluator decides
differently on the two sides of the question (re-checked from the counterexample's own fields
before it is returned), with :meth:`Counterexample.simulate_command` to replay it with
``iamguard simulate``. ``UNKNOWN`` says why the analysis could not decide (never a guess).
AWS's Access Analyzer checks answer PASS/FAIL with reasons but no request:
https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CheckNoNewAccess.html
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from iamguard.context import ContextValue

__all__ = ["AnalysisResult", "Counterexample", "Verdict"]


class Verdict(str, enum.Enum):
    """The answer of a check (the Access Analyzer names)."""

    PASS = "PASS"
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Counterexample:
    """One request: ``principal`` (an ARN; ``*`` is the anonymous caller) does ``action`` on
    ``resource`` with ``context`` (condition keys as the policies spell them; a tuple is a
    multi-valued key). ``decisions`` names how each side decided it, in the check's order."""

    principal: str
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=lambda: MappingProxyType({}))
    decisions: tuple[str, ...] = ()

    def simulate_command(
        self,
        policy_files: Sequence[str] = ("POLICY.json",),
        *,
        boundary_file: str | None = None,
        resource_policy_file: str | None = None,
        resource_owner: str | None = None,
        session_policy_files: Sequence[str] | None = None,
    ) -> str:
        """The ``iamguard simulate`` command line that replays this request.

        The file names are the caller's (the check read documents, not files). Context values
        are written with an explicit type (``string:``/``stringList:``) so nothing is guessed.
        The anonymous caller (``*``) is replayed with ``--anonymous`` and without identity
        policy files (it carries none); ``session_policy_files`` become ``--session-policy``.
        """
        anonymous = self.principal == "*"
        words = ["iamguard", "simulate", *(() if anonymous else policy_files)]
        if anonymous:
            words.append("--anonymous")
        for path in session_policy_files or ():
            words += ["--session-policy", path]
        if boundary_file is not None:
            words += ["--boundary", boundary_file]
        if resource_policy_file is not None:
            words += ["--resource-policy", resource_policy_file]
        if resource_owner is not None:
            words += ["--resource-owner", resource_owner]
        if not anonymous:
            words += ["--caller-arn", self.principal]
        words += ["--action", self.action, "--resource", self.resource]
        for key, value in self.context.items():
            if isinstance(value, tuple):
                words += ["--context", f"{key}=stringList:{','.join(value)}"]
            else:
                words += ["--context", f"{key}=string:{value}"]
        return " ".join(shlex.quote(w) for w in words)

    def to_json(self) -> dict[str, Any]:
        """The request as a JSON object (context lists for multi-valued keys)."""
        return {
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "context": {k: list(v) if isinstance(v, tuple) else v for k, v in self.context.items()},
            "decisions": list(self.decisions),
        }


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """A check's answer. ``counterexample`` is set exactly when ``verdict`` is FAIL."""

    verdict: Verdict
    counterexample: Counterexample | None = None
    reasons: tuple[str, ...] = ()
    requests_tried: int = 0

    @property
    def passed(self) -> bool:
        """Whether the verdict is PASS (FAIL and UNKNOWN are not)."""
        return self.verdict is Verdict.PASS

    def __bool__(self) -> bool:
        return self.passed

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON object (verdict, counterexample or null, reasons, requests tried)."""
        return {
            "verdict": self.verdict.value,
            "counterexample": self.counterexample.to_json() if self.counterexample else None,
            "reasons": list(self.reasons),
            "requestsTried": self.requests_tried,
        }
