"""iamguard._frozen.slot_builder: the fast constructor builds the very value __init__ builds."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from iamguard._frozen import slot_builder
from iamguard.authn.authenticators import Authenticated, new_authenticated
from iamguard.authn.sigv4 import VerifiedRequest
from iamguard.principal import Principal


@dataclasses.dataclass(frozen=True, slots=True)
class _Pair:
    left: int
    right: str = "r"


@dataclasses.dataclass(frozen=True)
class _Unslotted:
    value: int


def test_builds_an_equal_frozen_instance() -> None:
    build = slot_builder(_Pair)
    built = build(1, "x")
    assert built == _Pair(1, "x") and type(built) is _Pair and repr(built) == repr(_Pair(1, "x"))
    assert hash(built) == hash(_Pair(1, "x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.left = 2  # type: ignore[misc]


def test_falls_back_to_the_class_when_not_slotted() -> None:
    assert slot_builder(_Unslotted) is _Unslotted


# Decision is a hand-written slotted class since its explanation became lazy (decision.py)
@pytest.mark.parametrize("cls", [Authenticated, VerifiedRequest])
def test_request_path_values_use_the_fast_builder(cls: type) -> None:
    assert slot_builder(cls) is not cls


def test_new_authenticated_matches_the_dataclass() -> None:
    principal = Principal.from_arn("arn:aws:iam::123456789012:user/alice")
    verified = VerifiedRequest(
        "AKIA",
        "us-east-1",
        "s3",
        datetime(2026, 1, 1, tzinfo=timezone.utc),
        None,
        ("host",),
        "x",
        False,
        "s",
        b"k",
    )
    values = (principal, "sigv4", "AKIA", verified, None, None, {"aws:sourceip": "1.2.3.4"}, "id", 1.5)
    assert new_authenticated(*values) == Authenticated(*values)
    assert dataclasses.replace(new_authenticated(*values), method="bearer").method == "bearer"
