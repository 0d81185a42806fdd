"""Random requests drawn from the literals of the policies under test, and mutations of them.

The brute-force side of the analysis tests: a PASS must survive a search of these for a request
the two sides decide differently. Every wildcard of every pattern is filled with a random run
(empty, pattern characters, colons and slashes, a fresh character), actions change case, numbers
and dates move by a little around each bound, addresses fall inside and just outside each block,
keys go missing or carry several values.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator, Sequence
from typing import Any

from iamguard.context import ContextValue
from iamguard.evaluate.inputs import PolicySet, Request
from iamguard.policy.model import Policy
from iamguard.principal import Principal

FILLS = ["", "a", "x", "get", "Object", "/", ":", "a/b", "alice", "*", "1", "us-east-1", "Z"]


def _policies(side: PolicySet) -> list[Policy]:
    out = list(side.identity)
    out += [side.boundary] if side.boundary is not None else []
    out += list(side.session or ())
    out += [side.resource] if side.resource is not None else []
    return out


def _fill(pattern: str, rng: random.Random) -> str:
    out = []
    for char in pattern:
        if char == "*":
            out.append(rng.choice(FILLS))
        elif char == "?":
            out.append(rng.choice("aZ:/1x"))
        else:
            out.append(char)
    text = "".join(out)
    if "${" in text and rng.random() < 0.8:
        start = text.index("${")
        end = text.find("}", start)
        if end > 0:
            text = text[:start] + rng.choice(["alice", "simulated", "red", ""]) + text[end + 1 :]
    return text


def _near(value: str, rng: random.Random) -> str:
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        delta = rng.choice([-1, -0.5, -0.001, 0, 0.001, 0.5, 1])
        moved = number + delta
        return str(int(moved)) if moved == int(moved) and rng.random() < 0.5 else repr(moved)
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return _fill(value, rng)
    size = network.num_addresses
    offset = rng.choice([-1, 0, 1, size // 2, size - 1, size])
    address = int(network.network_address) + offset
    top = 2**32 if network.version == 4 else 2**128
    return str(
        ipaddress.ip_address(address % top) if network.version == 4 else ipaddress.IPv6Address(address % top)
    )


class RequestPool:
    """Draws requests for the given sides (their literals) and principals."""

    def __init__(self, sides: Sequence[PolicySet], principals: Sequence[Principal], seed: int) -> None:
        self.rng = random.Random(seed)
        self.principals = list(principals)
        self.actions: list[str] = ["s3:GetObject", "iam:CreateUser", "sqs:SendMessage"]
        self.resources: list[str] = ["*", "arn:aws:s3:::bucket/alice/a.txt", ""]
        self.values: dict[str, list[str]] = {}
        for side in sides:
            for policy in _policies(side):
                for statement in policy.statements:
                    self.actions += list(statement.action or statement.not_action or ())
                    self.resources += list(statement.resource or statement.not_resource or ())
                    for condition in statement.conditions:
                        self.values.setdefault(condition.key.lower(), []).extend(condition.values)

    def _value(self, key: str) -> ContextValue | None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:
            return None
        pool = self.values[key]
        if roll < 0.3:
            return tuple(_near(rng.choice(pool), rng) for _ in range(rng.randint(0, 3)))
        if roll < 0.4:
            return rng.choice(["x", "true", "false", "TRUE", "10.0.0.1", "::1", "2024-01-01T00:00:00Z", "5"])
        return _near(rng.choice(pool), rng)

    def draw(self) -> Request:
        rng = self.rng
        action = _fill(rng.choice(self.actions), rng).replace("*", "x").replace("?", "x")
        if ":" not in action or action.startswith(":") or action.endswith(":"):
            action = "s3:" + action.strip(":") + "x"
        if rng.random() < 0.3:
            action = "".join(c.upper() if rng.random() < 0.5 else c for c in action)
        resource = _fill(rng.choice(self.resources), rng)
        context: dict[str, ContextValue] = {}
        for key in self.values:
            value = self._value(key)
            if value is not None:
                context[key] = value
        return Request(rng.choice(self.principals), action, resource, context)

    def __iter__(self) -> Iterator[Request]:
        while True:
            yield self.draw()


def any_separating(
    sides: Sequence[PolicySet], principals: Sequence[Principal], count: int, seed: int, goal: Any
) -> Request | None:
    """The first of ``count`` random requests for which ``goal(decisions)`` holds, or None."""
    from iamguard.evaluate.engine import Evaluator

    evaluator = Evaluator()
    pool = RequestPool(sides, principals, seed)
    for _, request in zip(range(count), pool, strict=False):
        decisions = [evaluator.evaluate(request, side) for side in sides]
        if goal(decisions):
            return request
    return None
