"""Build ``iamguard/iam/data/model.json`` from botocore's IAM service model (run at build time).

Part of ``iam/``; not imported at run time. iamguard validates IAM parameters and renders IAM
results by AWS's own model: each operation's input and output shape, and each shape's type,
members, required members, length/range bounds, pattern and enumeration, exactly as botocore's
``iam/2010-05-08/service-2.json`` states them (documentation dropped). Regenerate after a
botocore upgrade with ``python -m iamguard.iam._gen_model`` (botocore must be installed; it is a
test dependency, not a run-time one).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

_KEEP_SHAPE = (
    "type",
    "members",
    "required",
    "min",
    "max",
    "pattern",
    "enum",
    "member",
    "key",
    "value",
    "error",
)
_TARGET = Path(__file__).resolve().parent / "data" / "model.json"


def _source() -> dict[str, Any]:
    import botocore

    folder = Path(botocore.__file__).resolve().parent / "data" / "iam" / "2010-05-08"
    plain = folder / "service-2.json"
    if plain.exists():
        loaded: dict[str, Any] = json.loads(plain.read_text(encoding="utf-8"))
    else:
        loaded = json.loads(gzip.decompress((folder / "service-2.json.gz").read_bytes()))
    return loaded


def _shape(shape: dict[str, Any]) -> dict[str, Any]:
    kept = {k: shape[k] for k in _KEEP_SHAPE if k in shape}
    if "members" in kept:
        kept["members"] = {name: {"shape": m["shape"]} for name, m in kept["members"].items()}
    for ref in ("member", "key", "value"):
        if ref in kept:
            kept[ref] = {"shape": kept[ref]["shape"]}
    return kept


def build(model: dict[str, Any]) -> dict[str, Any]:
    """The pruned model: metadata, operations (input, output, result wrapper, errors), shapes."""
    import botocore

    operations = {}
    for name, op in sorted(model["operations"].items()):
        entry: dict[str, Any] = {}
        if "input" in op:
            entry["input"] = op["input"]["shape"]
        if "output" in op:
            entry["output"] = op["output"]["shape"]
        entry["errors"] = [e["shape"] for e in op.get("errors", ())]
        operations[name] = entry
    return {
        "source": f"botocore {botocore.__version__} iam/2010-05-08/service-2.json",
        "metadata": {
            k: model["metadata"][k]
            for k in ("apiVersion", "xmlNamespace", "signingName")
            if k in model["metadata"]
        },
        "operations": operations,
        "shapes": {name: _shape(s) for name, s in sorted(model["shapes"].items())},
    }


def main() -> int:
    pruned = build(_source())
    _TARGET.write_text(json.dumps(pruned, separators=(",", ":")) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {_TARGET} ({len(pruned['operations'])} operations)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
