"""``iamguard keys generate``: a new master key and STS keyring, ready to deploy.

::

    iamguard keys generate [--alg EdDSA|HS256] [--out DIR]

Without ``--out`` it prints ``export`` lines for ``IAMGUARD_MASTER_KEY`` (seals access-key
secrets and MFA seeds in the store) and ``IAMGUARD_STS_KEYS`` (signs and verifies session
tokens): ``eval "$(iamguard keys generate)"``. With ``--out DIR`` it writes ``master.key`` and
``sts-keys.json`` there (mode 0600, never overwriting) and prints the ``*_FILE`` exports instead,
so the secrets stay out of the shell history and the process environment.

Every process of a deployment (``serve-sts``, the apps verifying session credentials, the CLI)
must get the *same* values: credentials minted by one are then accepted by the others.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from iamguard.cli import EXIT_OK
from iamguard.cli._store_args import command_parser
from iamguard.keyring import ENV_KEYS, ENV_KEYS_FILE, SUPPORTED_ALGORITHMS, KeyRing
from iamguard.store.secrets import SecretBox

__all__ = ["register"]

_MASTER, _MASTER_FILE = "IAMGUARD_MASTER_KEY", "IAMGUARD_MASTER_KEY_FILE"


def register(subparsers: Any) -> None:
    parser = command_parser(subparsers, "keys", "generate deployment keys", __doc__ or "")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    generate = verbs.add_parser("generate", help="print (or write) a new master key and STS keyring")
    generate.add_argument(
        "--alg",
        choices=sorted(SUPPORTED_ALGORITHMS),
        default="EdDSA",
        help="session-token signing algorithm (default EdDSA)",
    )
    generate.add_argument(
        "--out", metavar="DIR", help="write master.key and sts-keys.json into DIR (mode 0600)"
    )
    generate.set_defaults(func=_generate)


def _generate(args: argparse.Namespace) -> int:
    master, ring = SecretBox.generate_key(), KeyRing.generate(alg=args.alg).to_json()
    if args.out is None:
        sys.stdout.write(f"export {_MASTER}={shlex.quote(master)}\nexport {ENV_KEYS}={shlex.quote(ring)}\n")
        return EXIT_OK
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    master_path, ring_path = folder / "master.key", folder / "sts-keys.json"
    _write_private(master_path, master + "\n")
    _write_private(ring_path, ring)
    sys.stdout.write(
        f"export {_MASTER_FILE}={shlex.quote(str(master_path.resolve()))}\n"
        f"export {ENV_KEYS_FILE}={shlex.quote(str(ring_path.resolve()))}\n"
    )
    return EXIT_OK


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only; an existing file is an error (keys are not
    replaced by accident: the store's secrets would be lost with the old master key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
