"""Installs the test network guard in every child Python process the suite starts (see
``netguard.py``); a violation is printed to stderr, where the parent test sees it."""

from __future__ import annotations

import sys

try:
    import netguard
except ImportError:  # pragma: no cover - PYTHONPATH without the guard folder
    pass
else:
    netguard.install(lambda message: print(message, file=sys.stderr, flush=True))
