"""Suite-wide fixtures: the network guard (only loopback connections; see ``_netguard/``).

Installed at import, before any test module imports a client library, for this process and, via
``PYTHONPATH`` and the guard's ``sitecustomize.py``, for every child Python process a test
starts. A test that tries to reach any other address fails, even when the code under test
swallows the refused connection.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_GUARD_DIR = Path(__file__).resolve().parent / "_netguard"
sys.path.insert(0, str(_GUARD_DIR))

import netguard  # noqa: E402

netguard.install()
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(_GUARD_DIR), *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
)
if os.environ.get("IAMGUARD_TEST_POSTGRES_URL"):
    netguard.check_url(os.environ["IAMGUARD_TEST_POSTGRES_URL"])  # libpq connects outside Python

# Console passwords hash with argon2's cheapest profile in this process (~0.1 ms, not ~0.2 s of
# CPU each: hundreds of tests create one). The production parameters keep their own tests
# (tests/store/test_passwords.py swaps the default hasher back in); child processes a test
# starts hash with the defaults, and hashes made either way verify in both.
from argon2 import PasswordHasher, profiles  # noqa: E402

from iamguard.store.passwords import use_password_hasher  # noqa: E402

use_password_hasher(PasswordHasher.from_parameters(profiles.CHEAPEST))


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Fail the test if it tried to connect to anything but loopback."""
    del netguard.violations[:]
    yield
    if netguard.violations:
        found = list(netguard.violations)
        del netguard.violations[:]
        pytest.fail("; ".join(dict.fromkeys(found)), pytrace=False)
