"""``python -m iamguard``: the ``iamguard`` command line, for when the script is not on PATH."""

from __future__ import annotations

import sys

from iamguard.cli import main

if __name__ == "__main__":
    sys.exit(main())
