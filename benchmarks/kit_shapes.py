"""The shapes of the two outside benchmark kits (issue 12), generated deterministically.

Unlike ``workloads.py`` (one principal holding every statement), a kit is a *store*: many
principals, each governed by a few policies (an inline one of its own plus managed policies shared
with others), and request streams spread over all of them:

* ``kit-10``: one principal, 10 statements;
* ``kit-conditions``: one principal, 10 statements, half with ``StringEquals`` + ``IpAddress``;
* ``kit-10k``: 2,000 principals with 5 statements each (10,000 statements);
* ``kit-100k``: 20,000 principals with 5-30 statements each (an inline policy of 3 statements and
  1-5 of 8,000 shared managed policies of 5 statements: 100,000 distinct statements).

Streams: ``fresh`` never repeats a request (every resource is unique), ``repeat`` cycles through
1,000 requests, ``mix`` alternates the two. About two thirds of the requests are derived from one
of the principal's own statements (most allowed, some hitting a Deny), the rest ask for something
no statement grants. Each document is written as AWS IAM JSON: every engine reads the same text.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
VERSION = "2012-10-17"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")

#: service -> (read actions, write actions, resource pattern prefix (``{k}`` = team), suffix).
SERVICES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "s3": (
        ("GetObject", "ListBucket", "GetObjectTagging"),
        ("PutObject", "DeleteObject"),
        "arn:aws:s3:::team-{k}-data/",
    ),
    "dynamodb": (
        ("GetItem", "Query", "Scan"),
        ("PutItem", "UpdateItem", "DeleteItem"),
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/app-{{k}}-",
    ),
    "sqs": (
        ("ReceiveMessage", "GetQueueAttributes"),
        ("SendMessage", "DeleteMessage"),
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs-{{k}}-",
    ),
    "logs": (
        ("GetLogEvents", "FilterLogEvents"),
        ("PutLogEvents", "CreateLogStream"),
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/app/{{k}}/",
    ),
    "kms": (
        ("Decrypt", "DescribeKey"),
        ("Encrypt", "GenerateDataKey"),
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k-{{k}}-",
    ),
    "sns": (("GetTopicAttributes",), ("Publish",), f"arn:aws:sns:us-east-1:{ACCOUNT}:events-{{k}}-"),
}
_NAMES = tuple(SERVICES)


@dataclass(frozen=True, slots=True)
class KitRequest:
    """One request: principal index, action, resource and IAM condition context."""

    principal: int
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KitStore:
    """A store: documents by name, and each principal's ARN with the document names it holds."""

    key: str
    title: str
    documents: dict[str, dict[str, Any]]
    principals: tuple[tuple[str, tuple[str, ...]], ...]
    conditions: bool

    @property
    def statement_count(self) -> int:
        return sum(len(doc["Statement"]) for doc in self.documents.values())

    def statements_of(self, index: int) -> Iterator[dict[str, Any]]:
        for name in self.principals[index][1]:
            yield from self.documents[name]["Statement"]


def _statement(rng: random.Random, team: int, conditions: bool, deny_rate: float = 0.08) -> dict[str, Any]:
    """A realistic statement: one service, read or write actions (some wildcards), a team's resources."""
    service = rng.choice(_NAMES)
    reads, writes, prefix = SERVICES[service]
    shape = rng.random()
    if shape < 0.25:
        action: Any = f"{service}:Get*" if service != "sqs" else f"{service}:*Message"
    elif shape < 0.35:
        action = f"{service}:*"
    else:
        pool = reads if rng.random() < 0.6 else writes
        picked = rng.sample(pool, k=min(len(pool), rng.randint(1, 2)))
        action = [f"{service}:{a}" for a in picked] if len(picked) > 1 else f"{service}:{picked[0]}"
    resource = prefix.format(k=team) + "*"
    effect = "Deny" if rng.random() < deny_rate else "Allow"
    statement: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": resource}
    if conditions and rng.random() < 0.5:
        statement["Condition"] = {
            "StringEquals": {"aws:RequestedRegion": rng.choice(REGIONS)},
            "IpAddress": {"aws:SourceIp": [f"10.{team % 250}.0.0/16", "192.0.2.0/24"]},
        }
    return statement


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": statements}


def _user(i: int) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/u{i}"


def single_principal(key: str, conditions: bool, seed: int = 7) -> KitStore:
    """One principal, 10 statements over three documents (4 + 3 + 3)."""
    rng = random.Random(seed)
    statements = [
        _statement(rng, team=rng.randint(0, 3), conditions=conditions, deny_rate=0.15) for _ in range(10)
    ]
    documents = {"p0": _doc(statements[:4]), "p1": _doc(statements[4:7]), "p2": _doc(statements[7:])}
    title = "10 statements, conditions (StringEquals + IpAddress)" if conditions else "10 statements"
    return KitStore(key, title, documents, ((_user(0), ("p0", "p1", "p2")),), conditions)


def many_principals(
    key: str,
    principals: int,
    inline: int,
    managed: int,
    managed_size: int,
    attach: tuple[int, int],
    seed: int = 11,
) -> KitStore:
    """``principals`` users, each with an inline policy of ``inline`` statements and
    ``attach`` (min, max) of ``managed`` shared managed policies of ``managed_size`` statements."""
    rng = random.Random(seed)
    teams = max(1, principals // 10)
    documents: dict[str, dict[str, Any]] = {}
    for m in range(managed):
        team = rng.randrange(teams)
        documents[f"managed-{m}"] = _doc([_statement(rng, team, False) for _ in range(managed_size)])
    held = []
    for i in range(principals):
        team = i // 10
        documents[f"inline-{i}"] = _doc([_statement(rng, team, False) for _ in range(inline)])
        names = [f"inline-{i}"]
        if managed:
            names += [f"managed-{m}" for m in rng.sample(range(managed), rng.randint(*attach))]
        held.append((_user(i), tuple(names)))
    total = sum(len(d["Statement"]) for d in documents.values())
    per = (
        f"{inline + attach[0] * managed_size}-{inline + attach[1] * managed_size}" if managed else str(inline)
    )
    title = f"{total:,} statements, {principals:,} principals ({per} each)"
    return KitStore(key, title, documents, tuple(held), False)


KIT_KEYS = ("kit-10", "kit-conditions", "kit-10k", "kit-100k")


def kit_store(key: str, scale: float = 1.0) -> KitStore:
    """One kit shape by key (``scale`` < 1 shrinks the many-principal ones for quick runs)."""
    if key == "kit-10":
        return single_principal("kit-10", conditions=False)
    if key == "kit-conditions":
        return single_principal("kit-conditions", conditions=True)
    if key == "kit-10k":
        n10 = max(10, int(2_000 * scale))
        return many_principals("kit-10k", n10, inline=5, managed=0, managed_size=0, attach=(0, 0))
    if key == "kit-100k":
        n100 = max(10, int(20_000 * scale))
        managed = int(8_000 * scale) or 1
        return many_principals("kit-100k", n100, inline=3, managed=managed, managed_size=5, attach=(1, 5))
    raise ValueError(f"no kit {key!r}; kits: {', '.join(KIT_KEYS)}")


def kit_stores(scale: float = 1.0) -> list[KitStore]:
    """The four kit shapes (``scale`` < 1 shrinks the many-principal ones for quick runs)."""
    return [kit_store(key, scale) for key in KIT_KEYS]


def _request_for(rng: random.Random, store: KitStore, serial: int) -> KitRequest:
    """A request of a random principal; ``serial`` makes its resource unique."""
    index = rng.randrange(len(store.principals))
    own = list(store.statements_of(index))
    if rng.random() < 0.67:
        st = rng.choice(own)
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        service, _, pattern = rng.choice(actions).partition(":")
        reads, writes, _prefix = SERVICES[service]
        candidates = [a for a in reads + writes if _fits(pattern, a)] or list(reads)
        action = f"{service}:{rng.choice(candidates)}"
        resource = st["Resource"].rstrip("*") + f"obj-{serial}"
    else:
        service = rng.choice(_NAMES)
        reads, writes, prefix = SERVICES[service]
        action = f"{service}:{rng.choice(reads + writes)}"
        resource = prefix.format(k=rng.randrange(10_000)) + f"obj-{serial}"
    context = {}
    if store.conditions:
        context = {
            "aws:RequestedRegion": rng.choice(REGIONS),
            "aws:SourceIp": rng.choice(
                (f"10.{rng.randrange(4)}.{serial % 250}.{serial % 199 + 1}", f"198.51.100.{serial % 250}")
            ),
        }
    return KitRequest(index, action, resource, context)


def _fits(pattern: str, action: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*") and pattern.startswith("*"):
        return pattern.strip("*") in action
    if pattern.endswith("*"):
        return action.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return action.endswith(pattern[1:])
    return action == pattern


def streams(store: KitStore, length: int, seed: int = 3) -> dict[str, list[KitRequest]]:
    """``fresh`` (``length`` distinct requests), ``repeat`` (1,000 cycled) and ``mix`` (alternating)."""
    rng = random.Random(seed)
    fresh = [_request_for(rng, store, serial) for serial in range(length)]
    hot = [_request_for(rng, store, length + serial) for serial in range(1_000)]
    other = [_request_for(rng, store, 2 * length + serial) for serial in range(length // 2)]
    repeat = [hot[i % len(hot)] for i in range(length)]
    mix = [other[i // 2] if i % 2 else hot[i // 2 % len(hot)] for i in range(length - length % 2)]
    return {"fresh": fresh, "repeat": repeat, "mix": mix}
