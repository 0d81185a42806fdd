#!/usr/bin/env python3
"""What each ``_frozen.slot_builder`` fast path buys: one hot-path object built by its builder
beside the frozen dataclass's own constructor, interleaved (issue 12: keep the builder only where
a benchmark shows the difference).

    python benchmarks/slot_builder_bench.py [--quick]

Four classes are built on the request path with a slot builder, once per request each:
``Request`` (every guard check), ``Authenticated`` (every authenticated request), ``RequestView``
(every WSGI/ASGI request) and ``VerifiedRequest`` (every SigV4 request). Printed: median µs of
each constructor and the difference, which is what the builder saves per request.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness
from iamguard._frozen import slot_builder
from iamguard.authn.authenticators import Authenticated
from iamguard.authn.request_view import RequestView
from iamguard.authn.sigv4 import VerifiedRequest
from iamguard.evaluate.inputs import Request
from iamguard.principal import Principal


def cases() -> dict[str, tuple[type, tuple[object, ...]]]:
    """Per class: (the class, every field's value in field order)."""
    principal = Principal.from_arn("arn:aws:iam::111122223333:user/alice")
    view_fields = (
        "GET",
        "/b/k",
        "",
        (("host", "h"), ("x-amz-date", "20260101T000000Z")),
        b"",
        None,
        None,
        None,
    )
    verified_values = (
        "AKIAEXAMPLE",
        "us-east-1",
        "s3",
        datetime(2026, 1, 1, tzinfo=timezone.utc),
        None,
        ("host", "x-amz-date"),
        "UNSIGNED-PAYLOAD",
        False,
        "0" * 64,
        b"k" * 32,
    )
    return {
        "Request": (Request, (principal, "s3:GetObject", "arn:aws:s3:::b/k", {})),
        "Authenticated": (
            Authenticated,
            (principal, "sigv4", "AKIAEXAMPLE", None, None, None, {}, "r-1", 0.0),
        ),
        "RequestView": (RequestView, view_fields),
        "VerifiedRequest": (VerifiedRequest, verified_values),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    settings = harness.QUICK if args.quick else harness.FULL
    print("| class | dataclass constructor µs | slot builder µs | saved per request µs |")
    print("|---|---:|---:|---:|")
    for name, (cls, values) in cases().items():
        fast: Callable[..., object] = slot_builder(cls)
        if fast is cls:
            print(f"| {name} | – | – | the builder falls back to the class |")
            continue
        fields = dataclasses.fields(cls)
        keywords = {f.name: v for f, v in zip(fields, values, strict=True) if f.init}
        if not hasattr(cls, "__post_init__"):  # RequestView's constructor normalizes its input
            assert fast(*values) == cls(**keywords)
        stats = harness.measure(
            {"dataclass": functools.partial(cls, **keywords), "builder": functools.partial(fast, *values)},
            settings,
        )
        slow, quick = stats["dataclass"].median_us, stats["builder"].median_us
        print(f"| {name} | {slow:.3f} | {quick:.3f} | {slow - quick:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
