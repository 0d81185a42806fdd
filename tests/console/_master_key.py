"""The master-key configurations of ``tests/data/console/master_key.json``, shared by the console's
construction test and ``iamguard serve``'s start test: the table, and setting one row's
environment (only its variables; the others removed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iamguard.store.secrets import SecretBox

SETUPS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "data" / "console" / "master_key.json").read_text(encoding="utf-8")
)["setups"]
KEY_VARIABLES = ("IAMGUARD_MASTER_KEY", "IAMGUARD_MASTER_KEY_FILE", "IAMGUARD_DEV_MASTER_KEY")


def set_key_environment(setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Set ``setup``'s master-key variables, placeholders filled; the key material used (which
    no message may repeat)."""
    key_file = tmp_path / "master.key"
    file_key = SecretBox.generate_key()
    key_file.write_text(file_key + "\n", encoding="utf-8")
    inline_key = SecretBox.generate_key()
    fill = {"{key}": inline_key, "{key_file}": str(key_file), "{missing_file}": str(tmp_path / "absent.key")}
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in setup["env"].items():
        monkeypatch.setenv(name, fill.get(value, value))
    return [inline_key, file_key]
