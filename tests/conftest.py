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


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Fail the test if it tried to connect to anything but loopback."""
    del netguard.violations[:]
    yield
    if netguard.violations:
        found = list(netguard.violations)
        del netguard.violations[:]
        pytest.fail("; ".join(dict.fromkeys(found)), pytrace=False)
