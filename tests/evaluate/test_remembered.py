"""What a guard remembers (:class:`~iamguard.evaluate.remembered.DecisionMemory`) answers exactly
as the uncached path, and a store write (a generation bump) is seen by the very next decision.

One pair of properties per part: ``allowed`` (remembered Allows), ``sets`` (canonical policy
sets), ``resolved`` (a stored principal's policies per generation), ``session_texts`` and
``managed`` (parsed session policies), each with bounds small enough to force evictions; then the
same through a :class:`~iamguard.enforce.guard.Guard` over a real store, against a fresh guard
that has remembered nothing.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamguard.authn.context import RequestMeta
from iamguard.authn.request_view import RequestView
from iamguard.enforce.guard import Guard
from iamguard.errors import IAMGuardError
from iamguard.evaluate.engine import Evaluator
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.evaluate.remembered import DecisionMemory
from iamguard.policy.model import Policy, PolicyKind
from iamguard.policy.parse import parse_policy
from iamguard.store.records import PrincipalKind

from ..enforce.helpers import World, make_world, sign
from .test_properties import policy_sets, requests

_SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_GUARD_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fresh(policies: PolicySet) -> PolicySet:
    """An equal PolicySet with nothing compiled attached (the uncached path)."""
    return dataclasses.replace(policies)


def _decide(memory: DecisionMemory, request: Request, policies: PolicySet, generation: int) -> Any:
    """What the guard does with ``allowed``: a remembered Allow first, else evaluate and remember."""
    found = memory.allow_for(request.principal, request.context, request.action, request.resource, generation)
    if found is not None:
        return found
    decision = Evaluator().evaluate(request, policies)
    memory.remember_allow(
        request.principal, request.context, request.action, request.resource, generation, decision
    )
    return decision


# ------------------------------------------------------------ allowed


@_SETTINGS
@given(st.lists(requests(), min_size=1, max_size=8), policy_sets(), st.integers(1, 3))
def test_remembered_allows_answer_as_uncached(batch: list[Request], policies: PolicySet, size: int) -> None:
    memory = DecisionMemory(maxsize=size)
    for request in batch + batch:
        assert _decide(memory, request, policies, 1) == Evaluator().evaluate(request, _fresh(policies))
    for request in batch:  # denials are never remembered
        found = memory.allow_for(request.principal, request.context, request.action, request.resource, 1)
        assert found is None or found.allowed
    assert len(memory.allowed) <= size


@_SETTINGS
@given(st.lists(requests(), min_size=1, max_size=6), policy_sets(), policy_sets())
def test_remembered_allows_see_a_generation_bump_at_once(
    batch: list[Request], before: PolicySet, after: PolicySet
) -> None:
    memory = DecisionMemory()
    for request in batch:
        _decide(memory, request, before, 1)
    for request in batch:
        assert _decide(memory, request, after, 2) == Evaluator().evaluate(request, _fresh(after))


# ------------------------------------------------------------ sets


@_SETTINGS
@given(
    st.lists(st.tuples(requests(), st.integers(0, 2)), min_size=1, max_size=8),
    st.lists(policy_sets(), min_size=3, max_size=3),
)
def test_canonical_sets_answer_as_uncached(batch: list[tuple[Request, int]], sets: list[PolicySet]) -> None:
    memory = DecisionMemory(maxsize=1)  # every switch of set evicts
    for request, which in batch + batch:
        given_set = sets[which]
        canonical = memory.canonical(given_set, given_set.resource, given_set.resource_account)
        assert canonical == given_set
        assert Evaluator().evaluate(request, canonical) == Evaluator().evaluate(request, _fresh(given_set))


@_SETTINGS
@given(requests(), policy_sets(), policy_sets())
def test_canonical_sets_see_a_generation_bump_at_once(
    request: Request, before: PolicySet, after: PolicySet
) -> None:
    memory = DecisionMemory()
    old = dataclasses.replace(before, generation=1)
    memory.canonical(old, old.resource, old.resource_account)
    # Same policy objects, new generation: a new set, never the one remembered at the old one.
    new = dataclasses.replace(after, identity=before.identity, generation=2)
    found = memory.canonical(new, new.resource, new.resource_account)
    assert found.generation == 2
    assert found == new
    assert Evaluator().evaluate(request, found) == Evaluator().evaluate(request, _fresh(new))


# ------------------------------------------------------------ resolved


@_SETTINGS
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 3), policy_sets()), max_size=12),
    st.integers(1, 3),
)
def test_resolved_sets_answer_as_the_store_at_that_generation(
    writes: list[tuple[str, int, PolicySet]], size: int
) -> None:
    """A model of the store: what was resolved last for (ARN, generation); the memory answers it
    or nothing (evicted), never a set from another generation or another ARN."""
    memory = DecisionMemory(maxsize=size)
    model: dict[tuple[str, int], PolicySet] = {}
    for arn, generation, policies in writes:
        stamped = dataclasses.replace(policies, generation=generation)
        memory.remember_resolved(arn, generation, stamped)
        model[(arn, generation)] = stamped
        for (other, at), expected in model.items():
            found = memory.resolved_at(other, at)
            assert found is None or found is expected


@_SETTINGS
@given(policy_sets(), st.integers(0, 5))
def test_resolved_sets_see_a_generation_bump_at_once(policies: PolicySet, generation: int) -> None:
    memory = DecisionMemory()
    memory.remember_resolved(
        "arn:aws:iam::111122223333:user/a", generation, dataclasses.replace(policies, generation=generation)
    )
    assert memory.resolved_at("arn:aws:iam::111122223333:user/a", generation) is not None
    assert memory.resolved_at("arn:aws:iam::111122223333:user/a", generation + 1) is None
    # A set resolved while the store moved on (its generation is not the one read first) is not kept.
    memory.remember_resolved(
        "arn:aws:iam::111122223333:user/b",
        generation,
        dataclasses.replace(policies, generation=generation + 1),
    )
    assert memory.resolved_at("arn:aws:iam::111122223333:user/b", generation) is None


# ------------------------------------------------------------ session_texts


def _document(actions: list[str]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    )


_TEXTS = st.one_of(
    st.lists(st.sampled_from(["s3:GetObject", "s3:*", "sqs:SendMessage"]), min_size=1, max_size=2).map(
        _document
    ),
    st.sampled_from(["", "{", '{"Statement": 3}']),
)


def _parse(text: str) -> Policy | None:
    try:
        return parse_policy(text, name="session-policy", kind=PolicyKind.IDENTITY)
    except IAMGuardError:
        return None


@_SETTINGS
@given(st.lists(_TEXTS, min_size=1, max_size=10), st.integers(1, 2))
def test_session_texts_answer_as_parsing(texts: list[str], size: int) -> None:
    memory = DecisionMemory(policies=size)
    for text in texts + texts:
        expected = _parse(text)
        if expected is None:
            continue
        assert memory.session_policy(text, _parse_ok) == expected


def _parse_ok(text: str) -> Policy:
    parsed = _parse(text)
    assert parsed is not None
    return parsed


# ------------------------------------------------------------ through a guard over a store

URL = "http://api.example.com/things"
META = RequestMeta("192.0.2.7", "https", "REQ1")
_ACTIONS = st.sampled_from(["s3:GetObject", "execute-api:Invoke", "s3:PutObject", "sqs:SendMessage"])
_RESOURCES = st.sampled_from(["arn:aws:s3:::photos/a.jpg", "arn:aws:s3:::secret/plans.txt", "*"])
_WRITES = st.sampled_from(["detach", "attach", "new-version", "old-version"])
_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("check"), _ACTIONS, _RESOURCES), st.tuples(st.just("write"), _WRITES, st.just(""))
    ),
    min_size=1,
    max_size=10,
)


def _view(headers: dict[str, str]) -> RequestView:
    return RequestView.from_url("GET", URL, [*headers.items(), ("host", "api.example.com")], b"")


def _write(world: World, what: str) -> None:
    store = world.store
    attached = any(
        p.arn == world.policy_arn for p in store.list_attached_policies(PrincipalKind.USER, "alice")
    )
    if what == "detach" and attached:
        store.detach_policy(PrincipalKind.USER, "alice", world.policy_arn)
    elif what == "attach" and not attached:
        store.attach_user_policy("alice", world.policy_arn)
    elif what == "new-version":
        versions = store.list_policy_versions(world.policy_arn)
        if len(versions) >= 5:
            store.delete_policy_version(
                world.policy_arn, next(v.version_id for v in versions if not v.is_default)
            )
        document = _document(["sqs:SendMessage", "s3:PutObject"])
        store.create_policy_version(world.policy_arn, document, set_as_default=True)
    elif what == "old-version":
        store.set_default_policy_version(world.policy_arn, "v1")


def _run(steps: list[tuple[str, str, str]], signed: dict[str, str], world: World, guard: Guard) -> None:
    caller = guard.authenticate(_view(signed), META)
    for kind, first, second in steps:
        if kind == "write":
            _write(world, first)
            continue
        fresh = Guard(world.store, sessions=world.sessions)
        expected = fresh.authorize(fresh.authenticate(_view(signed), META), first, second)
        assert guard.authorize(caller, first, second) == expected  # the very next decision


@_GUARD_SETTINGS
@given(_STEPS, st.integers(1, 2))
def test_a_guard_answers_as_a_guard_that_remembers_nothing(
    steps: list[tuple[str, str, str]], size: int
) -> None:
    """Long-term key: ``resolved``, ``sets`` and ``allowed`` at work; each write bumps the
    generation and the next check after it is a fresh guard's answer."""
    world = make_world()
    guard = Guard(world.store, sessions=world.sessions)
    guard.memory = DecisionMemory(maxsize=size, policies=size)
    _run(steps, sign("GET", URL, world.akid, world.secret), world, guard)


@_GUARD_SETTINGS
@given(_STEPS, st.integers(1, 2))
def test_a_session_guard_answers_as_a_guard_that_remembers_nothing(
    steps: list[tuple[str, str, str]], size: int
) -> None:
    """Role session with an inline and a managed session policy: ``session_texts`` and
    ``managed`` at work; a new default version of the managed policy applies to the next check."""
    world = make_world()
    creds = world.role_session(
        policy=json.loads(_document(["s3:*", "execute-api:Invoke"])), policy_arns=(world.policy_arn,)
    )
    guard = Guard(world.store, sessions=world.sessions)
    guard.memory = DecisionMemory(maxsize=size, policies=size)
    signed = sign("GET", URL, creds.access_key_id, creds.secret_access_key, token=creds.session_token)
    _run(steps, signed, world, guard)


# ------------------------------------------------------------ the module-level memos, bounded


def test_rendered_resource_matchers_evict_the_oldest_not_everything() -> None:
    """Regression (issue 12): the table was emptied when full, so a workload just past the bound
    recompiled every rendered pattern; now only the oldest goes, and it answers as compiled."""
    from iamguard.evaluate import compile as compile_module
    from iamguard.policy.wildcard import compile_wildcard

    size = compile_module._rendered.maxsize
    patterns = [f"arn:aws:s3:::bucket/user-{i}/*" for i in range(size + 1)]
    for pattern in patterns:
        compile_module._rendered_matcher(pattern)
    assert len(compile_module._rendered) == size
    assert patterns[-2] in compile_module._rendered and patterns[-1] in compile_module._rendered
    test = compile_module._rendered_matcher(patterns[-2])
    expected = compile_wildcard(patterns[-2], escaped=True)
    for resource in ("arn:aws:s3:::bucket/user-8191/k", "arn:aws:s3:::bucket/user-1/k"):
        assert test(resource) == expected(resource)


def test_principal_keys_live_on_each_principal_however_many() -> None:
    """Regression (issue 12): the derived keys were a module-level table of 256 entries keyed by
    id(); past it every decision rebuilt them. Now each Principal keeps its own, so 20,000
    principals keep 20,000 and the first one's is still the same object at the end."""
    from iamguard.evaluate import engine
    from iamguard.principal import Principal

    principals = [Principal.from_arn(f"arn:aws:iam::111122223333:user/u{i}") for i in range(20_000)]
    first = engine.principal_context_keys(principals[0])
    for principal in principals:
        assert engine.principal_context_keys(principal) == principal.context_keys()
    assert engine.principal_context_keys(principals[0]) is first
    assert not hasattr(engine, "_principal_keys")


def test_wsgi_header_names_keep_learning_past_the_bound() -> None:
    """Regression: past the bound no key was remembered again, so a server whose keys arrived
    after an odd client's computed every name on every request; now the oldest is evicted."""
    from iamguard.enforce import wsgi

    size = wsgi._HEADER_NAMES.maxsize
    wsgi._headers({f"HTTP_X_ODD_{i}": "v" for i in range(size + 1)})
    pairs, _ = wsgi._headers({"HTTP_X_LATE_HEADER": "v", "CONTENT_TYPE": "text/plain", "wsgi.input": None})
    assert "HTTP_X_LATE_HEADER" in wsgi._HEADER_NAMES
    assert dict(pairs) == {"x-late-header": "v", "content-type": "text/plain"}


def test_context_builder_memos_evict_the_oldest_and_answer_as_build() -> None:
    """Regression: the builder's memos were dropped whole when full; each now evicts its oldest
    entry, and a remembered context is still exactly what :meth:`ContextBuilder.build` makes."""
    from iamguard.authn import context as context_module
    from iamguard.authn.context import ContextBuilder
    from iamguard.principal import Principal

    builder = ContextBuilder(clock=lambda: 1_800_000_000.0)
    view = RequestView("GET", "/", "", [("host", "h"), ("user-agent", "ua")])
    principals = [
        Principal.from_arn(f"arn:aws:iam::111122223333:user/u{i}")
        for i in range(context_module._CONTEXTS_MAX + 1)
    ]
    made = [builder.for_request(view, META, principal, None) for principal in principals]
    assert len(builder._contexts) == context_module._CONTEXTS_MAX
    for principal, context in zip(principals[-5:], made[-5:], strict=True):
        assert builder.for_request(view, META, principal, None) is context
        assert dict(context) == builder.build(view, META, principal=principal)
        assert builder.made(context)


def test_every_memo_is_listed_in_one_place() -> None:
    from iamguard._memo import memo_sizes
    from iamguard.enforce import wsgi  # noqa: F401  (its memo is made at import)

    guard = Guard(make_world().store)  # held: memo_sizes lists live memos only
    names = set(memo_sizes())
    expected = {"guard.resolved", "guard.sets", "guard.allowed", "guard.session_texts", "guard.managed"}
    expected |= {"evaluate.rendered_resources", "wsgi.header_names"}
    expected |= {"context.contexts", "context.frozen"}
    assert expected <= names
    assert guard.memory.allowed.name == "guard.allowed"
