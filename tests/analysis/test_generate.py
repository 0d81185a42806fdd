"""Policy generation from the audit log: table-driven expectations, round trips, the proof step.

Cases in ``tests/data/analysis/generate/*.json``: audit records (``repeat`` expands ``{i}``),
the generation knobs, the exact statements expected, and requests the generated policy must
deny (least privilege). Every case also goes through a real ``JsonLinesAuditSink`` file.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamguard.analysis._audit_log import event_from_json, read_audit_log
from iamguard.analysis.generate import generate_policy, parse_duration
from iamguard.analysis.results import Verdict
from iamguard.enforce.audit import AuditEvent, JsonLinesAuditSink
from iamguard.errors import InvalidParameterError
from iamguard.evaluate.engine import evaluate
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.principal import Principal
from iamguard.store import open_store
from iamguard.store.records import PrincipalKind
from iamguard.store.secrets import SecretBox

DATA = Path(__file__).resolve().parents[1] / "data" / "analysis" / "generate"
CASES = sorted(DATA.glob("*.json"))
ALICE = "arn:aws:iam::123456789012:user/alice"


def _records(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for raw in spec["events"]:
        count = raw.get("repeat")
        for i in range(count or 1):
            record = {
                "eventTime": "2026-11-30T12:00:00.000000Z",
                "requestId": f"req-{len(found)}",
                "principal": spec["principal"],
                "decision": "allowed",
                "matchedStatements": [],
                "sourceIp": None,
                "latencyMicros": 10,
            }
            for key, value in raw.items():
                if key != "repeat":
                    record[key] = value.replace("{i}", str(i)) if isinstance(value, str) and count else value
            found.append(record)
    return found


def _now(spec: dict[str, Any]) -> float | None:
    stamp = spec.get("now")
    return None if stamp is None else datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _generate(spec: dict[str, Any], events: Any) -> Any:
    since = spec.get("since")
    return generate_policy(
        events,
        spec["principal"],
        since=None if since is None else parse_duration(since),
        generalize_threshold=spec.get("threshold", 10),
        conditions=spec.get("conditions", True),
        now=_now(spec),
    )


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_generation_case(path: Path, tmp_path: Path) -> None:
    spec = json.loads(path.read_text(encoding="utf-8"))
    events = [event_from_json(r) for r in _records(spec)]
    generated = _generate(spec, events)
    assert json.loads(generated.document)["Statement"] == spec["expect"]
    assert generated.replay_allowed == generated.replayed == generated.events_used > 0
    assert generated.size_problem is None
    for action, resource, address in spec["denied_after"]:
        principal = Principal.from_arn(spec["principal"]) if ":user/" in spec["principal"] else _session(spec)
        context = {"aws:sourceip": address} if address else {}
        decision = evaluate(
            Request(principal, action, resource, context), PolicySet(identity=(generated.policy,))
        )
        assert not decision.allowed, (action, resource, address)
    # The same events through the JSON-lines sink and back give the same policy.
    sink = JsonLinesAuditSink(tmp_path / "audit.jsonl")
    for event in events:
        sink.record(event)
    sink.close()
    assert _generate(spec, tmp_path / "audit.jsonl").document == generated.document


def _session(spec: dict[str, Any]) -> Principal:
    name = spec["principal"].rsplit("/", 1)[-1]
    return Principal.from_arn(f"arn:aws:sts::123456789012:assumed-role/{name}/check")


def test_reader_round_trips_every_field(tmp_path: Path) -> None:
    event = AuditEvent(
        1_790_000_000.123456, "r-1", ALICE, "s3:GetObject", "arn:aws:s3:::b/k", "allowed",
        ("user/alice/inline/p#0:Read",), "192.0.2.1", 42, "AKIAEXAMPLE", "sigv4",
    )  # fmt: skip
    sink = JsonLinesAuditSink(tmp_path / "a.jsonl")
    sink.record(event)
    sink.close()
    (back,) = list(read_audit_log(tmp_path / "a.jsonl"))
    assert back == AuditEvent(**{**_fields(event), "time": pytest.approx(event.time, abs=1e-6)})


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in AuditEvent.__dataclass_fields__}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "a.jsonl:2: not an audit record"),
        ('{"eventTime": "yesterday", "principal": "p", "action": "a", "resource": "r", "decision": "allowed"}',
         "a.jsonl:2: not an audit record: eventTime 'yesterday'"),
        ('{"eventTime": "2026-01-01T00:00:00Z", "principal": "p", "action": "a", "resource": "r", "decision": "ok"}',
         "a.jsonl:2: not an audit record: decision 'ok'"),
    ],
)  # fmt: skip
def test_a_bad_line_is_named_never_skipped(tmp_path: Path, line: str, message: str) -> None:
    good = '{"eventTime": "2026-01-01T00:00:00Z", "principal": "p", "action": "a", "resource": "r", "decision": "allowed"}'
    (tmp_path / "a.jsonl").write_text(good + "\n" + line + "\n\n", encoding="utf-8")
    with pytest.raises(InvalidParameterError, match=message.replace("(", r"\(")):
        list(read_audit_log(tmp_path / "a.jsonl"))


def test_nothing_to_generate_from_is_an_error() -> None:
    with pytest.raises(InvalidParameterError, match="no allowed request by"):
        generate_policy([], ALICE)
    with pytest.raises(InvalidParameterError, match="not a duration"):
        parse_duration("30 days")
    with pytest.raises(InvalidParameterError, match="timezone-aware"):
        generate_policy([], ALICE, since=datetime(2026, 1, 1))


def _store_with(document: dict[str, Any]) -> Any:
    store = open_store("memory://", account_id="123456789012", secret_box=SecretBox({"t": bytes(32)}, "t"))
    store.create_user("alice")
    store.put_inline_policy(PrincipalKind.USER, "alice", "current", document)
    return store


def _allowed(action: str, resource: str) -> AuditEvent:
    return AuditEvent(1.0, "r", ALICE, action, resource, "allowed", (), None, 1)


def test_no_new_access_against_the_current_policies() -> None:
    """Generated from what a broad policy allowed: it grants nothing new (PASS). A logged request
    the identity policy did not allow (a resource policy did) makes the comparison FAIL, with it
    as the counterexample's action."""
    broad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    events = [_allowed("s3:GetObject", "arn:aws:s3:::b/k"), _allowed("s3:PutObject", "arn:aws:s3:::b/k2")]
    generated = generate_policy([*events, events[0]], ALICE, store=_store_with(broad))
    assert (generated.replayed, generated.replay_allowed, generated.distinct_requests) == (3, 3, 2)
    assert generated.no_new_access is not None
    assert generated.no_new_access.verdict is Verdict.PASS
    by_resource_policy = [*events, _allowed("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q")]
    generated = generate_policy(by_resource_policy, ALICE, store=_store_with(broad))
    assert generated.no_new_access.verdict is Verdict.FAIL
    assert generated.no_new_access.counterexample.action.lower() == "sqs:sendmessage"
    bob = "arn:aws:iam::123456789012:user/bob"
    by_bob = [AuditEvent(1.0, "r", bob, "s3:GetObject", "arn:aws:s3:::b/k", "allowed", (), None, 1)]
    missing = generate_policy(by_bob, bob, store=_store_with(broad))
    assert missing.no_new_access is None
    assert missing.no_new_access_note == f"{bob} is not in the store"


_ACTIONS = st.sampled_from(
    ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "sqs:SendMessage", "kms:Decrypt"]
)
_KEYS = st.text(alphabet="ab/*?$x-", min_size=1, max_size=8)
_IPS = st.one_of(st.none(), st.sampled_from(["192.0.2.1", "192.0.2.77", "198.51.100.3", "2001:db8::1"]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_ACTIONS, _KEYS, _IPS, st.booleans()), min_size=1, max_size=40),
    st.one_of(st.none(), st.integers(min_value=1, max_value=5)),
)
def test_round_trip_allows_every_logged_request_and_no_unlogged_action(
    rows: list[tuple[str, str, str | None, bool]], threshold: int | None
) -> None:
    """Property: the replay proof holds for any log (generate_policy raises otherwise), and an
    action never logged (nor sharing a generalized verb) stays denied."""
    events = [
        AuditEvent(
            1.0, "r", ALICE, a, f"arn:aws:s3:::bucket/{k}", "allowed" if ok else "implicitDeny", (), ip, 1
        )
        for a, k, ip, ok in rows
    ]
    if not any(ok for *_, ok in rows):
        with pytest.raises(InvalidParameterError):
            generate_policy(events, ALICE, generalize_threshold=threshold)
        return
    generated = generate_policy(events, ALICE, generalize_threshold=threshold)
    assert generated.replay_allowed == generated.replayed == sum(ok for *_, ok in rows)
    alice = Principal.from_arn(ALICE)
    policies = PolicySet(identity=(generated.policy,))
    for action in ("s3:DeleteObject", "iam:CreateUser", "sqs:DeleteQueue"):
        request = Request(alice, action, "arn:aws:s3:::bucket/a", {"aws:sourceip": "192.0.2.1"})
        assert not evaluate(request, policies).allowed


def test_a_policy_too_large_for_a_managed_policy_says_so() -> None:
    events = [
        _allowed("s3:GetObject", f"arn:aws:s3:::bucket-{i}/object-with-a-long-name") for i in range(200)
    ]
    assert generate_policy(events, ALICE, generalize_threshold=None).size_problem == (
        "policy is 10003 characters (white space excluded), more than the 6144 allowed for a managed policy"
    )
    assert generate_policy(events, ALICE).size_problem is None


def test_since_counts_back_from_now() -> None:
    events = [_allowed("s3:GetObject", "arn:aws:s3:::b/old"), _allowed("s3:GetObject", "arn:aws:s3:::b/new")]
    events[1] = AuditEvent(1000.0, "r", ALICE, "s3:GetObject", "arn:aws:s3:::b/new", "allowed", (), None, 1)
    generated = generate_policy(events, ALICE, since=timedelta(seconds=100), now=1050.0)
    assert generated.events_used == 1
    assert json.loads(generated.document)["Statement"][0]["Resource"] == "arn:aws:s3:::b/new"
    assert generated.since == datetime.fromtimestamp(950.0, timezone.utc)
