"""The mutation corpus: policies from the project's tests and examples, each changed once.

Widening mutations (widen a wildcard, drop a condition, flip Deny to Allow, remove a Deny
statement, add an action) must make ``check_no_new_access(mutant, original)`` FAIL with a
counterexample that replays, unless the mutant allows exactly what the original allows (a Deny
no Allow reaches, a condition another statement makes moot): then ``is_equivalent`` must PASS,
and that is counted as "not strictly wider". The reverse question, ``check_no_new_access(
original, mutant)``, is a narrowing: it must PASS, or be UNKNOWN with a reason (counted).

The counts are written to ``tests/data/analysis/mutation_counts.json`` by ``-m slow`` runs of
the whole corpus; the default run takes every fourth mutation.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iamguard.analysis import AnalysisResult, Verdict, check_no_new_access, is_equivalent
from iamguard.errors import PolicyError
from iamguard.evaluate.inputs import PolicySet
from iamguard.policy.model import PolicyKind
from iamguard.policy.parse import parse_policy

from .random_requests import any_separating
from .test_properties import IDENTITY_CALLERS

ROOT = Path(__file__).resolve().parent.parent.parent
COUNTS = ROOT / "tests" / "data" / "analysis" / "mutation_counts.json"
ADDED_ACTION = "iamguardtest:AddedAction"


def _documents_in(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "Statement" in value and isinstance(value["Statement"], (list, dict)):
            yield value
            return
        for item in value.values():
            yield from _documents_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _documents_in(item)


def corpus() -> list[tuple[str, dict[str, Any]]]:
    """Every valid policy document in tests/data/evaluation and examples/policies (deduplicated)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    paths = sorted((ROOT / "tests" / "data" / "evaluation").rglob("*.json"))
    paths += sorted(p for p in (ROOT / "examples" / "policies").glob("*.json"))
    for path in paths:
        for number, document in enumerate(_documents_in(json.loads(path.read_text(encoding="utf-8")))):
            try:
                parse_policy(document)
            except PolicyError:
                continue
            if isinstance(document["Statement"], dict):
                document = {**document, "Statement": [document["Statement"]]}
            found.setdefault(json.dumps(document, sort_keys=True), (f"{path.name}#{number}", document))
    return list(found.values())


def _widen_pattern(text: str) -> str | None:
    """``s3:GetObject`` -> ``s3:Get*``; ``s3:Get*`` -> ``s3:*``; ARNs: the last segment."""
    if text == "*":
        return None
    if "${" in text:  # everything from the last variable on becomes one wildcard
        return text[: text.rfind("${")] + "*"
    head, sep, tail = text.rpartition("/") if "/" in text else text.rpartition(":")
    if not sep:
        return "*"
    if tail in ("*", ""):
        return _widen_pattern(head) if head else "*"
    # Half the last segment stays, unless that would cut a wildcard or a ${variable} apart.
    keep = tail[: len(tail) // 2] if "*" not in tail and "$" not in tail else ""
    return f"{head}{sep}{keep}*"


def mutations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, mutant) for every single widening mutation of ``document``."""
    statements = document["Statement"]
    for index, statement in enumerate(statements):
        where = f"Statement[{index}]"
        allow = statement.get("Effect") == "Allow"
        for element in ("Action", "Resource"):
            values = statement.get(element)
            if not allow or values is None:
                continue
            values = [values] if isinstance(values, str) else list(values)
            for position, value in enumerate(values):
                wider = _widen_pattern(value)
                if wider is not None and wider != value:
                    mutant = copy.deepcopy(document)
                    changed = list(values)
                    changed[position] = wider
                    mutant["Statement"][index][element] = changed
                    yield f"{where} widen {element} {value!r} to {wider!r}", mutant
        if allow and "Action" in statement:
            mutant = copy.deepcopy(document)
            actions = statement["Action"]
            mutant["Statement"][index]["Action"] = [
                *([actions] if isinstance(actions, str) else actions),
                ADDED_ACTION,
            ]
            yield f"{where} add action {ADDED_ACTION}", mutant
        if allow:
            for operator, entries in statement.get("Condition", {}).items():
                for key in entries:
                    mutant = copy.deepcopy(document)
                    block = mutant["Statement"][index]["Condition"]
                    del block[operator][key]
                    if not block[operator]:
                        del block[operator]
                    if not block:
                        del mutant["Statement"][index]["Condition"]
                    yield f"{where} drop condition {operator} {key}", mutant
        if statement.get("Effect") == "Deny":
            mutant = copy.deepcopy(document)
            mutant["Statement"][index]["Effect"] = "Allow"
            yield f"{where} flip Deny to Allow", mutant
            if len(statements) > 1:
                mutant = copy.deepcopy(document)
                del mutant["Statement"][index]
                yield f"{where} remove Deny", mutant


def all_mutations() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [
        (f"{source} {name}", original, mutant)
        for source, original in corpus()
        for name, mutant in mutations(original)
    ]


MUTATIONS = all_mutations()


def _classify(original: dict[str, Any], mutant: dict[str, Any]) -> tuple[str, str]:
    """(widening outcome, narrowing outcome), asserting what must hold."""
    widening = check_no_new_access(mutant, original)
    if widening.verdict is Verdict.FAIL:
        wide = "FAIL"
    else:
        same = is_equivalent(mutant, original)
        assert same.verdict is not Verdict.FAIL, (widening, same.counterexample)  # a FAIL was missed
        assert widening.verdict is same.verdict, (widening, same)
        wide = "not strictly wider" if same.verdict is Verdict.PASS else "UNKNOWN"
        if wide == "UNKNOWN":
            assert widening.reasons
    narrowing: AnalysisResult = check_no_new_access(original, mutant)
    assert narrowing.verdict is not Verdict.FAIL, narrowing.counterexample  # a widening has no loss
    if narrowing.verdict is Verdict.UNKNOWN:
        assert narrowing.reasons
    return wide, narrowing.verdict.value


def test_corpus_is_large_enough() -> None:
    assert len(corpus()) >= 30
    assert len(MUTATIONS) >= 150
    kinds = Counter(name.split(" ", 2)[2].split(" ")[0] for name, _, _ in MUTATIONS)
    assert set(kinds) >= {"widen", "add", "drop", "flip", "remove"}, kinds


@pytest.mark.parametrize(("name", "original", "mutant"), MUTATIONS[::4], ids=[m[0] for m in MUTATIONS[::4]])
def test_mutation(name: str, original: dict[str, Any], mutant: dict[str, Any]) -> None:
    wide, _ = _classify(original, mutant)
    if wide == "not strictly wider" and not _is_resource_policy(original):
        # The analysis says both allow the same: a random search must agree.
        sides = [PolicySet(identity=(parse_policy(d, kind=PolicyKind.IDENTITY),)) for d in (mutant, original)]
        found = any_separating(sides, IDENTITY_CALLERS, 2000, 7, lambda d: d[0].allowed != d[1].allowed)
        assert found is None, (name, found)


def _is_resource_policy(document: dict[str, Any]) -> bool:
    return any("Principal" in s or "NotPrincipal" in s for s in document["Statement"])


@pytest.mark.slow
def test_whole_corpus_counts() -> None:
    counts: Counter[str] = Counter()
    for name, original, mutant in MUTATIONS:
        wide, narrow = _classify(original, mutant)
        kind = name.split(" ", 2)[2].split(" ")[0]
        counts[f"widening {kind}: {wide}"] += 1
        counts[f"narrowing: {narrow}"] += 1
    COUNTS.write_text(json.dumps(dict(sorted(counts.items())), indent=1) + "\n", encoding="utf-8")
    assert counts
