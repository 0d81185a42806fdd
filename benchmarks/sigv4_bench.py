#!/usr/bin/env python
"""Cost of verifying one SigV4 request (``verify_sigv4``), against its cryptographic floor and
against botocore signing the same request.

Three requests, each signed once by botocore exactly as an SDK sends it:

* **s3-get**: ``GET https://examplebucket.s3.amazonaws.com/photos/2026/cat.jpg`` with
  ``x-amz-content-sha256: UNSIGNED-PAYLOAD`` (``S3SigV4Auth``, payload signing off), SDK headers;
* **sts-post**: an STS ``AssumeRole`` form POST (``SigV4Auth``, service ``sts``), the body hashed
  into the signature;
* **presigned**: a presigned S3 ``GetObject`` URL (``S3SigV4QueryAuth``, 1 hour).

Per request, timed together by :func:`benchmarks.harness.measure` (interleaved batches, GC off,
medians of the batches):

* ``verify``: ``verify_sigv4(wire_view(...), lookup)``: a fresh view per call, built as the WSGI
  and ASGI adapters build it but *without* their header index, so verification pays for
  indexing the headers; the signing key comes from iamguard's per-process key cache, as it
  does in steady state;
* ``verify, RequestView()``: the same on a view built by the ``RequestView`` constructor (which
  normalizes its arguments): the figure earlier pages reported as ``verify``;
* ``verify, cold key``: ``verify`` after ``clear_signing_key_cache()`` (the first request of a
  key/day/region/service);
* ``hash floor`` (**the floor** with the signing key cached): SHA-256 of the request's canonical
  request (and of the body when it is signed) plus the final HMAC of the string to sign, inputs
  pre-encoded: what any verifier with a cached key must still compute. The targets: an S3 GET
  within 2x of it, a presigned URL within 3x;
* ``floor`` (cold key): deriving the signing key (four HMAC-SHA256) plus one HMAC of a string to
  sign of the request's own size: what any verifier computes without a key cache;
* ``botocore sign``: a fresh ``AWSRequest`` plus ``add_auth`` (what the client pays); the build
  of the ``AWSRequest`` alone is timed too and subtracted for the ratio;
* with ``--baseline REV``: ``verify`` and ``verify, RequestView()`` of the iamguard of commit
  ``REV`` (extracted by ``git archive`` into a temporary package), in the same interleaved
  batches, so before and after come from one run.

Ratios: verify / hash floor (the targets), verify / floor, and verify / botocore's net signing
time. A verifier does everything a signer does (canonical request, string to sign, HMAC) plus
parsing and checking the claim.

Run: ``python benchmarks/sigv4_bench.py [--quick] [--baseline REV] [--json PATH] [--markdown
PATH]``; results go to ``benchmarks/results/sigv4_latest.{md,json}`` by default.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import hmac
import importlib
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import botocore  # type: ignore[import-untyped]
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.credentials import Credentials  # type: ignore[import-untyped]

from benchmarks import harness
from iamguard.authn import canonical as c
from iamguard.authn.request_view import RequestView, host_from_url, wire_view
from iamguard.authn.sigv4 import parse_sigv4, verify_claim, verify_sigv4
from iamguard.errors import SignatureMismatchError

RESULTS = ROOT / "benchmarks" / "results"
REGION = "us-east-1"
#: A throwaway key pair in AWS's documented example format (never a real credential).
AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SDK_HEADERS = {
    "User-Agent": "Boto3/1.40.0 md/Botocore#1.40.0 ua/2.1 os/linux#6.8 md/arch#x86_64 lang/python#3.12.3",
    "Accept-Encoding": "identity",
    "amz-sdk-invocation-id": "3f1b6c0e-4d7a-4a8e-9f4e-2b7c5d9a1e60",
    "amz-sdk-request": "attempt=1; max=3",
}
STS_BODY = (
    b"Action=AssumeRole&Version=2011-06-15"
    b"&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdeploy-reader"
    b"&RoleSessionName=ci-build-4711&DurationSeconds=3600"
)


@dataclass(frozen=True)
class Case:
    """One request kind: how botocore signs it (``sign``) and what the server then receives."""

    name: str
    description: str
    service: str
    sign: Callable[[], AWSRequest]  # build + sign a fresh request (timed as "botocore sign")
    build: Callable[[], AWSRequest]  # build the same request unsigned (subtracted)


def _s3_get() -> Case:
    url = "https://examplebucket.s3.amazonaws.com/photos/2026/cat.jpg"
    config = Config(s3={"payload_signing_enabled": False})  # what makes S3 send UNSIGNED-PAYLOAD

    def build() -> AWSRequest:
        request = AWSRequest(method="GET", url=url, headers=dict(SDK_HEADERS))
        request.context["client_config"] = config
        return request

    def sign() -> AWSRequest:
        request = build()
        S3SigV4Auth(Credentials(AKID, SECRET), "s3", REGION).add_auth(request)
        return request

    return Case("s3-get", "S3 GET, UNSIGNED-PAYLOAD", "s3", sign, build)


def _sts_post() -> Case:
    url = "https://sts.amazonaws.com/"

    def build() -> AWSRequest:
        headers = dict(SDK_HEADERS, **{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        return AWSRequest(method="POST", url=url, headers=headers, data=STS_BODY)

    def sign() -> AWSRequest:
        request = build()
        SigV4Auth(Credentials(AKID, SECRET), "sts", REGION).add_auth(request)
        return request

    return Case("sts-post", "STS AssumeRole form POST, signed body", "sts", sign, build)


def _presigned() -> Case:
    url = "https://examplebucket.s3.amazonaws.com/reports/2026/q3%20summary.pdf?versionId=3HL4kqtJlcpXroDTDmJ"

    def build() -> AWSRequest:
        return AWSRequest(method="GET", url=url, headers={})

    def sign() -> AWSRequest:
        request = build()
        S3SigV4QueryAuth(Credentials(AKID, SECRET), "s3", REGION, expires=3600).add_auth(request)
        return request

    return Case("presigned", "S3 presigned GET URL (query auth)", "s3", sign, build)


CASES: tuple[Callable[[], Case], ...] = (_s3_get, _sts_post, _presigned)


@dataclass(frozen=True)
class Wire:
    """The signed request as the server sees it (Host added, as the HTTP layer does)."""

    method: str
    raw_path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    now: datetime  # a verification time inside the signature's window

    def view(self) -> RequestView:
        return RequestView(self.method, self.raw_path, self.query, self.headers, self.body)

    def wire_view(self) -> RequestView:
        """The view as the WSGI/ASGI adapters build it, minus their header index."""
        return wire_view(self.method, self.raw_path, self.query, self.headers, self.body)


def wire_of(request: AWSRequest) -> Wire:
    url = request.url
    view = RequestView.from_url(request.method, url)
    headers = (("Host", host_from_url(url)), *tuple((k, str(v)) for k, v in request.headers.items()))
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    stamp = request.context["timestamp"]
    now = c.parse_amz_date(stamp) + timedelta(seconds=30)
    return Wire(request.method, view.raw_path, view.query_string, headers, body, now)


@dataclass(frozen=True)
class Calls:
    """The zero-argument callables timed for one case, and the sizes they work on."""

    calls: dict[str, Callable[[], object]]
    canonical_bytes: int
    string_to_sign_bytes: int
    payload: str


@dataclass(frozen=True)
class Baseline:
    """Another commit's verifier, imported beside the working tree's under its own name."""

    rev: str
    commit: str
    verify_sigv4: Callable[..., Any]
    request_view: Callable[..., Any]
    wire_view: Callable[..., Any]


def load_baseline(rev: str) -> Baseline:
    """Import iamguard as of ``rev`` as the package ``iamguard_baseline`` (from ``git archive``)."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    target = Path(tempfile.mkdtemp(prefix="sigv4-baseline-"))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "iamguard"], capture_output=True, check=True
    )
    archive_path = target / "baseline.tar"
    archive_path.write_bytes(archive.stdout)
    with tarfile.open(archive_path) as tar:
        tar.extractall(target, filter="data")
    package = target / "iamguard"
    for source in package.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        source.write_text(re.sub(r"\biamguard\b", "iamguard_baseline", text), encoding="utf-8")
    package.rename(target / "iamguard_baseline")
    sys.path.insert(0, str(target))
    sigv4 = importlib.import_module("iamguard_baseline.authn.sigv4")
    views = importlib.import_module("iamguard_baseline.authn.request_view")
    return Baseline(rev, commit, sigv4.verify_sigv4, views.RequestView, views.wire_view)


def calls_for(case: Case, baseline: Baseline | None = None) -> Calls:
    """Sign ``case`` once, check iamguard accepts it (and refuses it tampered), build the calls."""
    wire = wire_of(case.sign())
    lookup = {AKID: SECRET}.get
    verified = verify_sigv4(wire.view(), lookup, now=wire.now, service_hint=case.service)
    if verified.access_key_id != AKID or verified.service != case.service:
        raise AssertionError(f"{case.name}: verified the wrong claim: {verified!r}")
    _check_tamper_refused(case, wire, lookup)

    # The exact canonical request and string to sign iamguard computed, for the floors' sizes.
    s3 = c.uses_s3_uri_rules(case.service)
    canonical = c.canonical_request_for(
        wire.view(),
        signed=verified.signed_headers,
        payload_hash=verified.payload_hash,
        s3=s3,
        exclude_query=("X-Amz-Signature",) if verified.presigned else (),
    )
    to_sign = c.string_to_sign(verified.amz_date, verified.credential_scope, canonical)
    expected = c.signature(verified.seed_signing_key, to_sign)
    if not hmac.compare_digest(expected, verified.signature):
        raise AssertionError(f"{case.name}: the rebuilt canonical request does not give the signature")

    date, region, service = verified.amz_date[:8], verified.region, verified.service
    secret_b = f"AWS4{SECRET}".encode()
    parts = (date.encode(), region.encode(), service.encode(), b"aws4_request")
    to_sign_b, canonical_b, key = to_sign.encode(), canonical.encode(), verified.seed_signing_key
    body_signed = verified.payload_hash not in (c.UNSIGNED_PAYLOAD,) and bool(wire.body)
    body = wire.body

    def floor() -> bytes:
        k = hmac.digest(secret_b, parts[0], "sha256")
        k = hmac.digest(k, parts[1], "sha256")
        k = hmac.digest(k, parts[2], "sha256")
        k = hmac.digest(k, parts[3], "sha256")
        return hmac.digest(k, to_sign_b, "sha256")

    def hash_floor() -> bytes:
        if body_signed:
            hashlib.sha256(body).hexdigest()
        hashlib.sha256(canonical_b).hexdigest()
        return hmac.digest(key, to_sign_b, "sha256")

    method, raw_path, query, headers, now, hint = (
        wire.method,
        wire.raw_path,
        wire.query,
        wire.headers,
        wire.now,
        case.service,
    )

    def verify() -> object:
        return verify_sigv4(
            wire_view(method, raw_path, query, headers, body), lookup, now=now, service_hint=hint
        )

    def verify_ctor_view() -> object:
        return verify_sigv4(
            RequestView(method, raw_path, query, headers, body), lookup, now=now, service_hint=hint
        )

    def verify_cold() -> object:
        c.clear_signing_key_cache()
        return verify_sigv4(
            wire_view(method, raw_path, query, headers, body), lookup, now=now, service_hint=hint
        )

    # Where verify's time goes: each phase on a fresh view (so each pays the view build; the
    # check phase also pays the header index, which it builds on first use).
    claim = parse_sigv4(wire.wire_view(), service_hint=hint)
    assert claim is not None
    seconds = now.timestamp()

    def phase_index() -> object:
        return wire_view(method, raw_path, query, headers, body).header_index()

    def phase_parse() -> object:
        return parse_sigv4(wire_view(method, raw_path, query, headers, body), service_hint=hint)

    def phase_check() -> object:
        view = wire_view(method, raw_path, query, headers, body)
        return verify_claim(view, claim, lookup, now=seconds, service_hint=hint)

    calls: dict[str, Callable[[], object]] = {
        "verify": verify,
        "verify_ctor_view": verify_ctor_view,
        "verify_cold_key": verify_cold,
        "floor": floor,
        "hash_floor": hash_floor,
        "botocore_sign": case.sign,
        "awsrequest_build": case.build,
        "view_build": wire.wire_view,
        "view_ctor_build": wire.view,
        "phase_index": phase_index,
        "phase_parse": phase_parse,
        "phase_check": phase_check,
    }
    if baseline is not None:
        calls.update(_baseline_calls(baseline, case, wire, lookup))
    return Calls(calls, len(canonical_b), len(to_sign_b), verified.payload_hash)


def _baseline_calls(
    baseline: Baseline, case: Case, wire: Wire, lookup: Callable[[str], str | None]
) -> dict[str, Callable[[], object]]:
    """The baseline's ``verify`` and ``verify, RequestView()`` (checked to accept the request)."""
    verify_b, ctor_b, wire_b = baseline.verify_sigv4, baseline.request_view, baseline.wire_view
    method, raw_path, query, headers, body, now, hint = (
        wire.method,
        wire.raw_path,
        wire.query,
        wire.headers,
        wire.body,
        wire.now,
        case.service,
    )

    def verify() -> object:
        return verify_b(wire_b(method, raw_path, query, headers, body), lookup, now=now, service_hint=hint)

    def verify_ctor_view() -> object:
        return verify_b(ctor_b(method, raw_path, query, headers, body), lookup, now=now, service_hint=hint)

    for call in (verify, verify_ctor_view):
        if getattr(call(), "access_key_id", None) != AKID:
            raise AssertionError(f"{case.name}: the baseline verified the wrong claim")
    return {"baseline_verify": verify, "baseline_verify_ctor_view": verify_ctor_view}


def _check_tamper_refused(case: Case, wire: Wire, lookup: Callable[[str], str | None]) -> None:
    """A benchmark of a verifier that accepts everything would be worthless: prove it refuses."""
    if wire.query and "X-Amz-Signature=" in wire.query:
        tampered = wire.query.replace("versionId=3", "versionId=4")
        view = RequestView(wire.method, wire.raw_path, tampered, wire.headers, wire.body)
    elif wire.body:
        view = RequestView(
            wire.method, wire.raw_path, wire.query, wire.headers, wire.body.replace(b"3600", b"7200")
        )
    else:
        view = RequestView(wire.method, wire.raw_path + "x", wire.query, wire.headers, wire.body)
    try:
        verify_sigv4(view, lookup, now=wire.now, service_hint=case.service)
    except SignatureMismatchError:
        return
    raise AssertionError(f"{case.name}: a tampered request was accepted")


def run(
    settings: harness.Settings,
    cases: tuple[Callable[[], Case], ...] = CASES,
    baseline: Baseline | None = None,
) -> dict[str, Any]:
    """Time every case; returns the JSON-able result (µs per call, and the ratios)."""
    rows: dict[str, Any] = {}
    for make in cases:
        case = make()
        prepared = calls_for(case, baseline)
        stats = harness.measure(prepared.calls, settings)
        med = {name: s.median_us for name, s in stats.items()}
        net_sign = max(med["botocore_sign"] - med["awsrequest_build"], 1e-9)
        ratios = {
            f"{name}_over_hash_floor": med[name] / med["hash_floor"]
            for name in ("verify", "verify_ctor_view", "baseline_verify", "baseline_verify_ctor_view")
            if name in med
        }
        rows[case.name] = {
            **ratios,
            "description": case.description,
            "service": case.service,
            "payload_hash": prepared.payload,
            "canonical_request_bytes": prepared.canonical_bytes,
            "string_to_sign_bytes": prepared.string_to_sign_bytes,
            "stats": {name: s.to_json() for name, s in stats.items()},
            "botocore_net_sign_us": net_sign,
            "verify_over_floor": med["verify"] / med["floor"],
            "verify_cold_over_floor": med["verify_cold_key"] / med["floor"],
            "verify_over_botocore_sign": med["verify"] / net_sign,
            "verify_over_botocore_sign_gross": med["verify"] / med["botocore_sign"],
        }
    return {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_head(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "botocore": botocore.__version__,
        "settings": {
            "rounds": settings.rounds,
            "batch_ns": settings.batch_ns,
            "budget_ns": settings.budget_ns,
        },
        "baseline": None if baseline is None else {"rev": baseline.rev, "commit": baseline.commit},
        "cases": rows,
    }


def git_head() -> str:
    """The commit measured (the hot path is being optimized: results name what they measured)."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10, check=False
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD") or "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no", "iamguard", "integrations")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" (+ uncommitted changes)" if dirty else "")


def to_markdown(result: dict[str, Any]) -> str:
    def us(row: dict[str, Any], name: str) -> str:
        return f"{row['stats'][name]['median_us']:.2f}"

    baseline = result.get("baseline")
    lines = [
        "# SigV4 verification cost",
        "",
        (
            f"Generated {result['generated']} by `benchmarks/sigv4_bench.py` at {result['commit']} — Python {result['python']}, "
            f"botocore {result['botocore']}, {result['platform']}. Median µs per call over interleaved "
            "batches (`benchmarks/harness.py`); p90 and batch sizes in `sigv4_latest.json`."
        ),
        "",
        "Targets (issue 12): an S3 GET within 2× of the hash floor (the signing key cached), a presigned URL within 3×.",
        "",
    ]
    if baseline is not None:
        lines += [
            f"Before = commit {baseline['commit']} (`--baseline {baseline['rev']}`), timed in the same interleaved batches.",
            "",
            "| request | hash floor µs | verify µs (× floor) | before µs (× floor) | verify, RequestView() µs (× floor) | before µs (× floor) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, row in result["cases"].items():
            lines.append(
                f"| {name}: {row['description']} | {us(row, 'hash_floor')} | "
                f"{us(row, 'verify')} ({row['verify_over_hash_floor']:.1f}×) | "
                f"{us(row, 'baseline_verify')} ({row['baseline_verify_over_hash_floor']:.1f}×) | "
                f"{us(row, 'verify_ctor_view')} ({row['verify_ctor_view_over_hash_floor']:.1f}×) | "
                f"{us(row, 'baseline_verify_ctor_view')} ({row['baseline_verify_ctor_view_over_hash_floor']:.1f}×) |"
            )
        lines.append("")
    lines += [
        "| request | verify µs | verify / hash floor | verify, RequestView() µs | verify, cold key µs | floor (cold) µs | verify / floor | botocore sign µs (net) | verify / botocore sign |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["cases"].items():
        lines.append(
            f"| {name}: {row['description']} | {us(row, 'verify')} | {row['verify_over_hash_floor']:.1f}× | "
            f"{us(row, 'verify_ctor_view')} | {us(row, 'verify_cold_key')} | "
            f"{us(row, 'floor')} | {row['verify_over_floor']:.1f}× | "
            f"{us(row, 'botocore_sign')} ({row['botocore_net_sign_us']:.2f}) | "
            f"{row['verify_over_botocore_sign']:.2f}× |"
        )
    lines += [
        "",
        "| request | canonical request bytes | string to sign bytes | hash floor µs | wire_view build µs | RequestView() build µs | AWSRequest build µs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["cases"].items():
        lines.append(
            f"| {name} | {row['canonical_request_bytes']} | {row['string_to_sign_bytes']} | "
            f"{us(row, 'hash_floor')} | {us(row, 'view_build')} | {us(row, 'view_ctor_build')} | {us(row, 'awsrequest_build')} |"
        )
    lines += [
        "",
        (
            "Where `verify` goes (each phase timed alone on a fresh `wire_view`, µs, view build and header "
            "index subtracted; alone, the presigned check reads again the query that parsing read in `verify`, "
            "where the reading is handed over):"
        ),
        "",
        "| request | view build | header index | parse_sigv4 (claim) | verify_claim (checks, canonical request, crypto) | of which the hash floor |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["cases"].items():
        med = {key: stats["median_us"] for key, stats in row["stats"].items()}
        view = med["view_build"]
        index = med["phase_index"] - view
        lines.append(
            f"| {name} | {view:.2f} | {index:.2f} | {med['phase_parse'] - view - index:.2f} | "
            f"{med['phase_check'] - view - index:.2f} | {med['hash_floor']:.2f} |"
        )
    lines += [
        "",
        (
            "* **verify**: `verify_sigv4` on a fresh `wire_view(...)` of the signed request (the view the WSGI/ASGI "
            "adapters build, without their header index: verification indexes the headers), view build "
            "included; signing key from iamguard's per-process cache (steady state)."
        ),
        "* **verify, RequestView()**: the same on a view built by the normalizing `RequestView` constructor (earlier pages' `verify`).",
        "* **verify, cold key**: `verify` after `clear_signing_key_cache()`: the four-HMAC derivation paid.",
        (
            "* **hash floor**: SHA-256 of the canonical request (and of the body when signed) + the final "
            "HMAC, inputs pre-encoded: the least a verifier with a cached key computes (the targets' floor)."
        ),
        (
            "* **floor (cold)**: four HMAC-SHA256 to derive the signing key + one HMAC of a string to sign of the "
            "same size, inputs pre-encoded: the least any verifier computes without a key cache."
        ),
        (
            "* **botocore sign**: a fresh `AWSRequest` + `SigV4Auth`/`S3SigV4Auth`/`S3SigV4QueryAuth.add_auth`; "
            "net = minus the `AWSRequest` build, used for the ratio."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter batches (< 10 s)")
    parser.add_argument("--baseline", metavar="REV", help="also time the verifier of commit REV, interleaved")
    parser.add_argument(
        "--rounds", type=int, help="interleaved rounds (more rounds: steadier medians on a busy machine)"
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "sigv4_latest.json")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "sigv4_latest.md")
    args = parser.parse_args(argv)
    baseline = load_baseline(args.baseline) if args.baseline else None
    settings = harness.QUICK if args.quick else harness.FULL
    if args.rounds:
        settings = dataclasses.replace(
            settings, rounds=args.rounds, budget_ns=max(settings.budget_ns, 10**10)
        )
    result = run(settings, baseline=baseline)
    harness.write_results(result, to_markdown(result), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
