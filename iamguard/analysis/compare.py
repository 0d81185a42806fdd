"""Comparing policies over every request: no new access, access not granted, equivalence.

Each check is a question about all requests, answered by :mod:`iamguard.analysis._search` with
iamguard's own evaluator deciding every request it tries, so a FAIL comes with a concrete request
anyone can replay with ``iamguard simulate``. The checks mirror IAM Access Analyzer's custom
policy checks (which answer online, without a request):
https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CheckNoNewAccess.html
https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CheckAccessNotGranted.html

Inputs: each side is a policy (JSON text, a mapping or a parsed :class:`~iamguard.policy.model.Policy`),
a list of identity policies, or a whole :class:`~iamguard.evaluate.inputs.PolicySet`. For
identity-side inputs the keywords add what surrounds them on both sides: a permissions
``boundary``, ``session_policies``, a ``resource_policy`` and the ``resource_account`` owning the
resource (another account than the caller's makes the request cross-account). Resource-based
policies (``policy_type="resource"``, or detected by their ``Principal``) are compared as the
resource's only policy, for callers whose own account grants nothing and for callers whose own
account grants everything.
"""

from __future__ import annotations

from collections.abc import Sequence

from iamguard.analysis._inputs import PolicyInput, PolicyType, SideInput, worlds
from iamguard.analysis._verdict import DEFAULT_BUDGET, run_check
from iamguard.analysis.results import AnalysisResult, Verdict
from iamguard.decision import Decision
from iamguard.errors import InvalidParameterError
from iamguard.evaluate.inputs import Request
from iamguard.policy.wildcard import compile_wildcard

__all__ = ["check_access_not_granted", "check_no_new_access", "is_equivalent"]


def check_no_new_access(
    new: SideInput,
    old: SideInput,
    *,
    policy_type: PolicyType | None = None,
    boundary: PolicyInput | None = None,
    session_policies: Sequence[PolicyInput] | None = None,
    resource_policy: PolicyInput | None = None,
    resource_account: str | None = None,
    budget: int = DEFAULT_BUDGET,
) -> AnalysisResult:
    """PASS when ``new`` allows nothing ``old`` denies; FAIL with a request ``new`` allows and
    ``old`` denies; UNKNOWN when a construct keeps the search from being complete."""
    sides = worlds(
        (("new", new), ("old", old)),
        policy_type=policy_type,
        boundary=boundary,
        session_policies=session_policies,
        resource_policy=resource_policy,
        resource_account=resource_account,
    )
    return run_check(
        sides,
        _new_access,
        budget=budget,
        passed="the new policy grants no access the old one denies",
        relaxations=(((True, False), _new_access, _NEW_ACCESS),),
        wants=_NEW_ACCESS,
    )


def is_equivalent(
    a: SideInput,
    b: SideInput,
    *,
    policy_type: PolicyType | None = None,
    boundary: PolicyInput | None = None,
    session_policies: Sequence[PolicyInput] | None = None,
    resource_policy: PolicyInput | None = None,
    resource_account: str | None = None,
    budget: int = DEFAULT_BUDGET,
) -> AnalysisResult:
    """PASS when ``a`` and ``b`` allow exactly the same requests; FAIL with one they decide
    differently (``counterexample.decisions`` says which allows it)."""
    sides = worlds(
        (("a", a), ("b", b)),
        policy_type=policy_type,
        boundary=boundary,
        session_policies=session_policies,
        resource_policy=resource_policy,
        resource_account=resource_account,
    )
    # Two questions, each about one direction, so each search can leave dominated values out.
    forward = run_check(
        sides,
        _new_access,
        budget=budget,
        passed="a allows nothing b denies",
        relaxations=(((True, False), _new_access, _NEW_ACCESS),),
        wants=_NEW_ACCESS,
    )
    if forward.verdict is Verdict.FAIL:
        return forward
    backward = run_check(
        sides,
        _old_only,
        budget=budget,
        passed="b allows nothing a denies",
        relaxations=(((False, True), _old_only, _OLD_ONLY),),
        wants=_OLD_ONLY,
    )
    if backward.verdict is Verdict.FAIL:
        return backward
    tried = forward.requests_tried + backward.requests_tried
    if forward.verdict is Verdict.PASS and backward.verdict is Verdict.PASS:
        return AnalysisResult(
            Verdict.PASS,
            None,
            ("both allow exactly the same requests:", *forward.reasons, *backward.reasons),
            tried,
        )
    reasons = tuple(dict.fromkeys(r for r in (*forward.reasons, *backward.reasons)))
    return AnalysisResult(Verdict.UNKNOWN, None, reasons, tried)


def check_access_not_granted(
    policy: SideInput,
    *,
    actions: Sequence[str] = (),
    resources: Sequence[str] = (),
    policy_type: PolicyType | None = None,
    boundary: PolicyInput | None = None,
    session_policies: Sequence[PolicyInput] | None = None,
    resource_policy: PolicyInput | None = None,
    resource_account: str | None = None,
    budget: int = DEFAULT_BUDGET,
) -> AnalysisResult:
    """PASS when ``policy`` allows none of ``actions`` on any of ``resources``.

    As Access Analyzer's ``CheckAccessNotGranted``: with only ``actions``, any resource counts;
    with only ``resources``, any action. Both accept IAM wildcards (actions compare without
    case). FAIL carries an allowed request for one of them.
    """
    if not actions and not resources:
        raise InvalidParameterError("check_access_not_granted needs actions, resources or both")
    sides = worlds(
        (("policy", policy),),
        policy_type=policy_type,
        boundary=boundary,
        session_policies=session_policies,
        resource_policy=resource_policy,
        resource_account=resource_account,
    )
    action_tests = [compile_wildcard(a.lower()) for a in actions]
    resource_tests = [compile_wildcard(r) for r in resources]

    def granted(request: Request, decisions: tuple[Decision, ...]) -> bool:
        return (
            decisions[0].allowed
            and (not action_tests or any(t(request.action.lower()) for t in action_tests))
            and (not resource_tests or any(t(request.resource) for t in resource_tests))
        )

    return run_check(
        sides,
        granted,
        actions=actions,
        resources=resources,
        budget=budget,
        passed="the policy grants none of the listed access",
        relaxations=(((True,), granted, (1,)),),
        wants=(1,),
    )


def _new_access(request: Request, decisions: tuple[Decision, ...]) -> bool:
    return decisions[0].allowed and not decisions[1].allowed


#: What each goal needs of each side: +1 an allow, -1 a deny.
_NEW_ACCESS = (1, -1)
_OLD_ONLY = (-1, 1)


def _old_only(request: Request, decisions: tuple[Decision, ...]) -> bool:
    return decisions[1].allowed and not decisions[0].allowed
