"""Stage 4 of the request path: what do the policies say? AWS's evaluation logic over compiled
policies, and the cached evaluator.

This module is the public API of ``iamguard.evaluate``: import from here (or from ``iamguard``).
The modules inside the package (``engine``, ``compile``, ``cached``, ...) are private; their
names and contents may change between releases. (``iamguard.evaluate`` the attribute is the
:func:`evaluate` function; ``from iamguard.evaluate import ...`` reaches this package.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iamguard._lazy import lazy_exports

if TYPE_CHECKING:
    from iamguard.evaluate.cached import CachedEvaluator
    from iamguard.evaluate.engine import Evaluator, evaluate
    from iamguard.evaluate.inputs import PolicySet, Request

_LAZY = {
    "CachedEvaluator": "iamguard.evaluate.cached",
    "Evaluator": "iamguard.evaluate.engine",
    "evaluate": "iamguard.evaluate.engine",
    "PolicySet": "iamguard.evaluate.inputs",
    "Request": "iamguard.evaluate.inputs",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "CachedEvaluator",
    "Evaluator",
    "PolicySet",
    "Request",
    "evaluate",
]
