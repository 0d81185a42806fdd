"""Amazon Resource Names: the :class:`Arn` value and segment-wise ARN pattern matching.

An ARN is ``arn:partition:service:region:account-id:resource``. The resource part is everything
after the fifth colon, so it may itself contain ``:`` and ``/``
(``arn:aws:logs:us-east-1:123456789012:log-group:app:*``).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html

``ArnLike``/``ArnEquals`` (and their negations) compare "each of the six colon-delimited
components of the ARN separately", each with ``*``/``?`` wildcards, so a wildcard in the region
can never swallow the account. The resource component is the remainder of the string, so a
wildcard there does match across ``:``. A context value that is not an ARN (fewer than six
components, or not starting with ``arn``) matches nothing; so does a pattern that is not
ARN-shaped.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from iamguard.policy.wildcard import compile_wildcard

__all__ = ["Arn", "arn_matches", "compile_arn_pattern", "parse_arn"]

_CACHE_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Arn:
    """A parsed ARN. Empty components (``region`` and ``account`` of S3 ARNs) are ``""``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Arn | None:
    """Parse ``text`` as an ARN; ``None`` when it has fewer than six components or no ``arn:``."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def arn_matches(pattern: str, value: str, *, escaped: bool = False) -> bool:
    """``ArnLike``/``ArnEquals`` test: do the six components of ``value`` match ``pattern``'s?

    ``escaped`` treats backslashes in ``pattern`` as escapes (a rendered policy variable, see
    :mod:`iamguard.policy.wildcard`).
    """
    return compile_arn_pattern(pattern, escaped=escaped)(value)


def compile_arn_pattern(pattern: str, *, escaped: bool = False) -> Callable[[str], bool]:
    """A cached predicate equivalent to ``arn_matches(pattern, value)`` for any ``value``."""
    return _compile_arn_cached(pattern, escaped)


def _never(value: str) -> bool:
    return False


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile_arn_cached(pattern: str, escaped: bool) -> Callable[[str], bool]:
    segments = pattern.split(":", 5)
    if len(segments) != 6:
        return _never
    # INVARIANT: every segment matcher is total (never raises) on any string.
    matchers = tuple(compile_wildcard(segment, escaped=escaped) for segment in segments)
    m0, m1, m2, m3, m4, m5 = matchers

    def matches(value: str) -> bool:
        parts = value.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return False
        return (
            m0(parts[0]) and m1(parts[1]) and m2(parts[2]) and m3(parts[3]) and m4(parts[4]) and m5(parts[5])
        )

    return matches
