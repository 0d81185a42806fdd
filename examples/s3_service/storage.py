"""Buckets and objects for the S3 example, in one SQLite file: the data the service guards.

Nothing here knows about HTTP or authorization; :mod:`examples.s3_service.app` decides who may
call what and this module only keeps bytes and their metadata, as S3 reports them:

* ETag: the quoted MD5 hex digest of the object (single-part uploads),
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html
* Last-Modified, Content-Type, size and the base64 CRC32 checksum S3 returns in
  ``x-amz-checksum-crc32``, https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
* bucket policies as JSON text (the app parses them as resource-based policies).

Keys sort by their UTF-8 bytes, as S3 lists them: SQLite's default BINARY collation compares
TEXT with memcmp, and Python compares ``str`` by code point, which is the same order.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Bucket",
    "BucketAlreadyExists",
    "BucketNotEmpty",
    "InvalidBucketName",
    "KeyTooLong",
    "ListPage",
    "NoSuchBucket",
    "NoSuchKey",
    "ObjectMeta",
    "ObjectStorage",
    "StorageError",
    "check_bucket_name",
    "crc32_base64",
]

#: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html ("up to 1,024 bytes")
MAX_KEY_BYTES = 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    owner_account TEXT NOT NULL,
    region TEXT NOT NULL,
    created REAL NOT NULL,
    policy TEXT
);
CREATE TABLE IF NOT EXISTS public_access_blocks (
    bucket TEXT PRIMARY KEY REFERENCES buckets(name),
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL REFERENCES buckets(name),
    key TEXT NOT NULL,
    data BLOB NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    crc32 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    last_modified REAL NOT NULL,
    metadata TEXT NOT NULL,
    PRIMARY KEY (bucket, key)
);
"""

_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4_LIKE = re.compile(r"\d{1,3}(\.\d{1,3}){3}")


class StorageError(Exception):
    """A storage refusal the app turns into an S3 error (``code``/``status`` as S3 answers)."""

    code = "InternalError"
    status = 500

    def __init__(self, message: str, **details: str) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NoSuchBucket(StorageError):
    code, status = "NoSuchBucket", 404


class NoSuchKey(StorageError):
    code, status = "NoSuchKey", 404


class BucketAlreadyExists(StorageError):
    code, status = "BucketAlreadyOwnedByYou", 409


class BucketNotEmpty(StorageError):
    code, status = "BucketNotEmpty", 409


class InvalidBucketName(StorageError):
    code, status = "InvalidBucketName", 400


class KeyTooLong(StorageError):
    code, status = "KeyTooLongError", 400


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    owner_account: str
    region: str
    created: float
    policy: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    """What HeadObject and listings report about an object."""

    bucket: str
    key: str
    size: int
    etag: str  # quoted, as S3 writes it: "\"<md5 hex>\""
    crc32: str  # base64 of the big-endian CRC32, as x-amz-checksum-crc32 carries it
    content_type: str
    last_modified: float
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of ListObjectsV2: objects, common prefixes, and where the next page starts.

    ``next_marker`` is the last key or common prefix of the page when truncated (the app
    wraps it in an opaque continuation token).
    """

    contents: tuple[ObjectMeta, ...]
    common_prefixes: tuple[str, ...]
    truncated: bool
    next_marker: str | None


def crc32_base64(data: bytes) -> str:
    """CRC32 as S3 and botocore write it: base64 of the 4 big-endian bytes."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode("ascii")


def check_bucket_name(name: str) -> None:
    """Raise :class:`InvalidBucketName` unless ``name`` follows the general-purpose bucket rules.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html: 3-63
    characters; lower-case letters, digits, dots and hyphens; begins and ends with a letter or
    digit; no two adjacent periods; not formatted as an IP address; not prefixed ``xn--``,
    ``sthree-`` or ``amzn-s3-demo-``; not suffixed ``-s3alias``, ``--ol-s3``, ``.mrap`` or ``--x-s3``.
    """
    bad = (
        not _BUCKET_CHARS.fullmatch(name)
        or ".." in name
        or _IPV4_LIKE.fullmatch(name) is not None
        or name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3"))
    )
    if bad:
        raise InvalidBucketName("The specified bucket is not valid.", BucketName=name)


def _check_key(key: str) -> None:
    if not key:
        raise KeyTooLong("Object keys must not be empty.", Key=key)
    if len(key.encode("utf-8", "surrogateescape")) > MAX_KEY_BYTES:
        raise KeyTooLong("Your key is too long", Key=key[:64])


class ObjectStorage:
    """Buckets and objects in one SQLite file (``":memory:"`` for a throwaway store).

    One connection shared by the server's threads behind a lock: SQLite serialises writers
    anyway, and the example's objects are small.
    """

    def __init__(self, path: str | Path = ":memory:", *, clock: Callable[[], float] = time.time) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._clock = clock

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------ buckets

    def create_bucket(self, name: str, *, owner_account: str, region: str = "us-east-1") -> Bucket:
        check_bucket_name(name)
        bucket = Bucket(name, owner_account, region, self._clock())
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM buckets WHERE name = ?", (name,)).fetchone():
                raise BucketAlreadyExists(
                    "Your previous request to create the named bucket succeeded and you already own it.",
                    BucketName=name,
                )
            db.execute(
                "INSERT INTO buckets (name, owner_account, region, created) VALUES (?, ?, ?, ?)",
                (name, owner_account, region, bucket.created),
            )
        return bucket

    def get_bucket(self, name: str) -> Bucket:
        with self._lock:
            row = self._db.execute(
                "SELECT name, owner_account, region, created, policy FROM buckets WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            raise NoSuchBucket("The specified bucket does not exist", BucketName=name)
        return Bucket(*row)

    def list_buckets(self, owner_account: str) -> list[Bucket]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, owner_account, region, created, policy FROM buckets "
                "WHERE owner_account = ? ORDER BY name",
                (owner_account,),
            ).fetchall()
        return [Bucket(*row) for row in rows]

    def delete_bucket(self, name: str) -> None:
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM buckets WHERE name = ?", (name,)).fetchone():
                raise NoSuchBucket("The specified bucket does not exist", BucketName=name)
            if db.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone():
                raise BucketNotEmpty("The bucket you tried to delete is not empty", BucketName=name)
            db.execute("DELETE FROM public_access_blocks WHERE bucket = ?", (name,))
            db.execute("DELETE FROM buckets WHERE name = ?", (name,))

    def set_bucket_policy(self, name: str, policy: str | None) -> None:
        """Store (or with ``None`` remove) the bucket policy text, already validated by the caller."""
        with self._transaction() as db:
            if db.execute("UPDATE buckets SET policy = ? WHERE name = ?", (policy, name)).rowcount == 0:
                raise NoSuchBucket("The specified bucket does not exist", BucketName=name)

    def get_public_access_block(self, name: str) -> dict[str, bool] | None:
        """The bucket's Block Public Access settings (``None``: never set, or deleted)."""
        self.get_bucket(name)
        with self._transaction() as db:
            row = db.execute("SELECT config FROM public_access_blocks WHERE bucket = ?", (name,)).fetchone()
        if row is None:
            return None
        loaded: dict[str, bool] = json.loads(row[0])
        return loaded

    def set_public_access_block(self, name: str, config: Mapping[str, bool] | None) -> None:
        """Store (or with ``None`` remove) the bucket's Block Public Access settings."""
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM buckets WHERE name = ?", (name,)).fetchone():
                raise NoSuchBucket("The specified bucket does not exist", BucketName=name)
            db.execute("DELETE FROM public_access_blocks WHERE bucket = ?", (name,))
            if config is not None:
                db.execute(
                    "INSERT INTO public_access_blocks (bucket, config) VALUES (?, ?)",
                    (name, json.dumps(dict(config), sort_keys=True)),
                )

    # ------------------------------------------------------------------ objects

    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "binary/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectMeta:
        """Store ``data`` (already decoded: never aws-chunked framing) under ``bucket``/``key``."""
        _check_key(key)
        meta = ObjectMeta(
            bucket,
            key,
            len(data),
            f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"',
            crc32_base64(data),
            content_type,
            self._clock(),
            dict(metadata or {}),
        )
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM buckets WHERE name = ?", (bucket,)).fetchone():
                raise NoSuchBucket("The specified bucket does not exist", BucketName=bucket)
            db.execute(
                "INSERT OR REPLACE INTO objects (bucket, key, data, size, etag, crc32, content_type, "
                "last_modified, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    bucket,
                    key,
                    data,
                    meta.size,
                    meta.etag,
                    meta.crc32,
                    content_type,
                    meta.last_modified,
                    json.dumps(dict(meta.metadata)),
                ),
            )
        return meta

    def head_object(self, bucket: str, key: str) -> ObjectMeta:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_META_COLUMNS} FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
            ).fetchone()
        if row is None:
            self._missing(bucket, key)
        return _meta(row)

    def get_object(self, bucket: str, key: str) -> tuple[ObjectMeta, bytes]:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_META_COLUMNS}, data FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
            ).fetchone()
        if row is None:
            self._missing(bucket, key)
        return _meta(row[:-1]), bytes(row[-1])

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete ``key``; deleting a missing key succeeds, as S3's DeleteObject does."""
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM buckets WHERE name = ?", (bucket,)).fetchone():
                raise NoSuchBucket("The specified bucket does not exist", BucketName=bucket)
            db.execute("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))

    def _missing(self, bucket: str, key: str) -> None:
        self.get_bucket(bucket)  # NoSuchBucket wins over NoSuchKey
        raise NoSuchKey("The specified key does not exist.", Key=key)

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        max_keys: int = 1000,
        after: str = "",
    ) -> ListPage:
        """One page of keys under ``prefix``, rolled up at ``delimiter``, strictly after ``after``.

        Entries (keys, or common prefixes when a delimiter follows the prefix) never decrease
        as keys increase, so "after the last entry of the previous page" resumes exactly.
        https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
        """
        self.get_bucket(bucket)
        contents: list[ObjectMeta] = []
        prefixes: list[str] = []
        last: str | None = None
        for row in self._keys_from(bucket, max(prefix, after)):
            meta = _meta(row)
            if not meta.key.startswith(prefix):
                break
            entry = _rolled_up(meta.key, prefix, delimiter)
            if entry <= after or entry == last:
                continue
            if len(contents) + len(prefixes) >= max_keys:
                return ListPage(tuple(contents), tuple(prefixes), True, last)
            if entry == meta.key:
                contents.append(meta)
            else:
                prefixes.append(entry)
            last = entry
        return ListPage(tuple(contents), tuple(prefixes), False, None)

    def _keys_from(self, bucket: str, start: str) -> Iterator[Sequence[Any]]:
        """Rows with key >= ``start`` in key order, fetched in batches outside the lock."""
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {_META_COLUMNS} FROM objects WHERE bucket = ? AND key >= ? ORDER BY key LIMIT 500",
                    (bucket, start),
                ).fetchall()
            yield from rows
            if len(rows) < 500:
                return
            start = str(rows[-1][1]) + "\x00"  # the smallest string after the last key


_META_COLUMNS = "bucket, key, size, etag, crc32, content_type, last_modified, metadata"


def _meta(row: Sequence[Any]) -> ObjectMeta:
    """An :class:`ObjectMeta` from a row of ``_META_COLUMNS`` (SQLite hands back plain values)."""
    bucket, key, size, etag, crc, content_type, modified, metadata = row
    return ObjectMeta(
        str(bucket), str(key), int(size), str(etag), str(crc), str(content_type), float(modified),
        json.loads(str(metadata)),
    )  # fmt: skip


def _rolled_up(key: str, prefix: str, delimiter: str) -> str:
    """``key`` itself, or its common prefix (up to and including the first delimiter after ``prefix``)."""
    if delimiter:
        cut = key.find(delimiter, len(prefix))
        if cut >= 0:
            return key[: cut + len(delimiter)]
    return key
