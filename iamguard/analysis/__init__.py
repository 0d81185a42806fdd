"""Questions about all requests: does a policy change grant new access, is access ever granted,
are two policies equivalent, is a resource policy public.

Every FAIL carries a concrete request that iamguard's evaluator decides differently on the two
sides (``Counterexample.simulate_command()`` replays it); a construct the analysis cannot decide
exactly gives UNKNOWN with the reason, never PASS.

This module is the public API of ``iamguard.analysis``: import from here. The modules inside the
package (``compare``, ``public``, ``results``, ``principals``, ``_search``, ...) are private;
their names and contents may change between releases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamguard._lazy import lazy_exports

if TYPE_CHECKING:
    from iamguard.analysis._audit_log import read_audit_log
    from iamguard.analysis.compare import check_access_not_granted, check_no_new_access, is_equivalent
    from iamguard.analysis.escalation import (
        EscalationEdge,
        EscalationPath,
        EscalationReport,
        escalation_paths,
    )
    from iamguard.analysis.generate import GeneratedPolicy, generate_policy
    from iamguard.analysis.public import (
        NON_PUBLIC_KEYS,
        PUBLIC_RESOURCE_TYPES,
        check_no_public_access,
        public_statements,
    )
    from iamguard.analysis.results import AnalysisResult, Counterexample, Verdict
    from iamguard.analysis.unused import UnusedAccessFinding, unused_access

_LAZY = {
    "AnalysisResult": "iamguard.analysis.results",
    "Counterexample": "iamguard.analysis.results",
    "Verdict": "iamguard.analysis.results",
    "check_access_not_granted": "iamguard.analysis.compare",
    "check_no_new_access": "iamguard.analysis.compare",
    "is_equivalent": "iamguard.analysis.compare",
    "NON_PUBLIC_KEYS": "iamguard.analysis.public",
    "PUBLIC_RESOURCE_TYPES": "iamguard.analysis.public",
    "check_no_public_access": "iamguard.analysis.public",
    "public_statements": "iamguard.analysis.public",
    "read_audit_log": "iamguard.analysis._audit_log",
    "EscalationEdge": "iamguard.analysis.escalation",
    "EscalationPath": "iamguard.analysis.escalation",
    "EscalationReport": "iamguard.analysis.escalation",
    "escalation_paths": "iamguard.analysis.escalation",
    "GeneratedPolicy": "iamguard.analysis.generate",
    "generate_policy": "iamguard.analysis.generate",
    "UnusedAccessFinding": "iamguard.analysis.unused",
    "unused_access": "iamguard.analysis.unused",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "NON_PUBLIC_KEYS",
    "PUBLIC_RESOURCE_TYPES",
    "AnalysisResult",
    "Counterexample",
    "EscalationEdge",
    "EscalationPath",
    "EscalationReport",
    "GeneratedPolicy",
    "UnusedAccessFinding",
    "Verdict",
    "check_access_not_granted",
    "check_no_new_access",
    "check_no_public_access",
    "escalation_paths",
    "generate_policy",
    "is_equivalent",
    "public_statements",
    "read_audit_log",
    "unused_access",
]
