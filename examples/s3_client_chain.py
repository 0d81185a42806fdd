#!/usr/bin/env python
"""List a bucket and read an object from the S3 example with iamguard's roles-first credential chain.

    python examples/s3_client_chain.py --endpoint-url http://127.0.0.1:9000 alice-reports reports/q3.csv

Everything else comes from the standard AWS settings, as for any SDK:
``AWS_CONFIG_FILE``/``AWS_SHARED_CREDENTIALS_FILE`` (the files), ``AWS_PROFILE`` (the profile),
``AWS_ENDPOINT_URL_STS`` (where AssumeRole goes), ``AWS_ENDPOINT_URL_S3`` (instead of
``--endpoint-url``) and ``AWS_REGION`` or the profile's ``region``. With a role profile such as::

    # $AWS_CONFIG_FILE                          # $AWS_SHARED_CREDENTIALS_FILE
    [profile analyst]                           [alice]
    role_arn = arn:aws:iam::123456789012:role/analyst
    source_profile = alice                      aws_access_key_id = AKIA...
    region = us-east-1                          aws_secret_access_key = ...

``AWS_PROFILE=analyst`` makes the chain assume the role with alice's keys and sign with the
role session's temporary keys. The script first prints ``chain.explain()``: which provider won
and why the others were skipped or not tried (``explain()`` resolves on its own, so the role is
assumed once for the report and once for the requests). ``--put`` also tries to write the
object back, which the read-only ``analyst`` role is denied. Exit status: 0 when every request
succeeded, 1 with the reason on stderr otherwise.
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx

from iamguard import IAMGuardError, SigV4Auth, default_credential_chain
from iamguard.credentials import ProfileScope, resolve_endpoint_url

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
#: iamguard appends this to a denial's message (STS DecodeAuthorizationMessage opens it).
ENCODED_MARKER = "Encoded authorization failure message: "


class S3Failure(Exception):
    """An S3 request answered with an error document (its ``Code`` and ``Message``)."""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bucket")
    parser.add_argument("key", help="the object to read")
    parser.add_argument(
        "--endpoint-url", help="S3 endpoint (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, profile)"
    )
    parser.add_argument(
        "--region", help="signing region (default: AWS_REGION, the profile's region, us-east-1)"
    )
    parser.add_argument("--profile", help="profile to use (default: AWS_PROFILE, then 'default')")
    parser.add_argument("--prefix", default="", help="list only keys starting with this prefix")
    parser.add_argument("--put", action="store_true", help="also write the object back (PutObject)")
    return parser.parse_args(argv)


def _checked(response: httpx.Response, what: str) -> httpx.Response:
    """``response`` when it succeeded; otherwise S3's error ``Code: Message`` as :class:`S3Failure`."""
    if response.is_success:
        return response
    try:
        error = ET.fromstring(response.content)
        message, _, encoded = (error.findtext("Message") or "").partition(ENCODED_MARKER)
        detail = f"{error.findtext('Code')}: {message.strip()}"
        if encoded:
            detail += f" (+ an encoded authorization message, {len(encoded.strip())} characters)"
    except ET.ParseError:
        detail = response.text[:500]
    raise S3Failure(f"{what} failed with HTTP {response.status_code}: {detail}")


def list_keys(client: httpx.Client, bucket: str, prefix: str) -> list[str]:
    """ListObjectsV2 (``GET /bucket?list-type=2``), following continuation tokens."""
    keys: list[str] = []
    params = {"list-type": "2", "prefix": prefix}
    while True:
        answer = _checked(client.get(f"/{quote(bucket)}", params=params), f"ListObjectsV2 {bucket}")
        page = ET.fromstring(answer.content)
        keys += [item.findtext(f"{S3_NS}Key") or "" for item in page.iter(f"{S3_NS}Contents")]
        token = page.findtext(f"{S3_NS}NextContinuationToken")
        if page.findtext(f"{S3_NS}IsTruncated") != "true" or not token:
            return keys
        params["continuation-token"] = token


def _object_path(bucket: str, key: str) -> str:
    return f"/{quote(bucket)}/{quote(key, safe='/-_.~')}"


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    scope = ProfileScope(profile=args.profile)
    endpoint = resolve_endpoint_url("s3", profile=args.profile, explicit=args.endpoint_url)
    if not endpoint:
        print("no S3 endpoint: pass --endpoint-url or set AWS_ENDPOINT_URL_S3", file=sys.stderr)
        return 1
    chain = default_credential_chain(profile=args.profile)
    explanation = chain.explain()
    print(explanation)
    if explanation.winner is None:
        failed = [a for a in explanation.attempts if a.outcome == "failed"]
        reason = (
            f"{failed[0].provider} failed: {failed[0].reason}"
            if failed
            else "configure one of the sources above"
        )
        print(f"no credentials: {reason}", file=sys.stderr)
        return 1
    region = args.region or scope.region() or "us-east-1"
    auth = SigV4Auth(chain, region=region, service="s3", sign_payload=False)
    try:
        with httpx.Client(base_url=endpoint, auth=auth, timeout=10) as client:
            keys = list_keys(client, args.bucket, args.prefix)
            print(f"\ns3://{args.bucket}/{args.prefix}: {len(keys)} key(s)")
            for key in keys:
                print(f"  {key}")
            path = _object_path(args.bucket, args.key)
            body = _checked(client.get(path), f"GetObject {args.key}").content
            print(f"\nGetObject {args.key}: {len(body)} bytes\n{body[:1000].decode('utf-8', 'replace')}")
            if args.put:
                _checked(client.put(path, content=body), f"PutObject {args.key}")
                print(f"PutObject {args.key}: written")
    except S3Failure as exc:
        print(exc, file=sys.stderr)
        return 1
    except IAMGuardError as exc:
        print(f"credentials: {exc.code}: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(f"request failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
