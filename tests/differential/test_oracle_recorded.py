"""iamguard's decisions equal iam-simulate's on the recorded random cases (no node needed).

The cases and expected decisions come from ``record.py`` (see README.md here): random but valid
requests over identity policies, permissions boundaries, resource policies and the condition
operators. A case marked ``known_disagreement`` is an open, routed difference and must still
fail (strict xfail), so fixing it forces the mark to be removed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .harness import RECORDED, iamguard_decision

_DOCUMENT: dict[str, Any] = json.loads(RECORDED.read_text())
_CASES: list[dict[str, Any]] = _DOCUMENT["cases"]


def _params() -> list[Any]:
    params = []
    for case in _CASES:
        marks = []
        if "known_disagreement" in case:
            marks.append(pytest.mark.xfail(reason=case["known_disagreement"], strict=True))
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


def test_recording_is_large_and_attributed() -> None:
    assert _DOCUMENT["oracle"]["name"] == "@cloud-copilot/iam-simulate"
    assert _DOCUMENT["oracle"]["version"]
    assert len(_CASES) >= 2000
    kinds = {case["expected"] for case in _CASES}
    assert kinds == {"allowed", "explicitDeny", "implicitDeny"}


@pytest.mark.parametrize("case", _params())
def test_decision_matches_oracle(case: dict[str, Any]) -> None:
    assert iamguard_decision(case) == case["expected"], json.dumps(case, indent=1)
