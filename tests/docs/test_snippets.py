"""Every code block of README.md and docs/ runs as written (the runner: tests/docs/snippets.py).

One test per Markdown file runs its blocks in order in a fresh directory, so a snippet that drifts
from the code fails here. Blocks left out carry a ``skip reason=...`` marker; they must stay few,
and :func:`test_skipped_blocks_are_few_and_justified` lists them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.snippets import (
    ROOT,
    SHELLS,
    Block,
    Runner,
    SnippetError,
    blocks,
    console_commands,
    output_matches,
)

PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
#: the most blocks allowed to opt out of running (each names its reason)
MAX_SKIPPED = 4


def _all_blocks() -> list[Block]:
    return [block for page in PAGES for block in blocks(page)]


def _page_param(page: Path) -> object:
    """Pages that run commands start a Python process per command (about a second each): slow."""
    commands = any(b.lang in SHELLS | {"console"} and not b.skipped for b in blocks(page))
    marks = [pytest.mark.slow] if commands else []
    return pytest.param(page, id=str(page.relative_to(ROOT)), marks=marks)


@pytest.mark.parametrize("page", [_page_param(page) for page in PAGES])
def test_page_code_runs(page: Path, tmp_path: Path) -> None:
    with Runner(tmp_path) as runner:
        for block in blocks(page):
            if block.skipped:
                continue
            runner.run(block)


def test_every_page_but_the_home_page_runs_code() -> None:
    """The guides are worked examples: a page with nothing to run has drifted into prose."""
    quiet = [str(p.relative_to(ROOT)) for p in PAGES if not any(b.runnable for b in blocks(p))]
    assert quiet == ["docs/index.md"]


def test_skipped_blocks_are_few_and_justified(capsys: pytest.CaptureFixture[str]) -> None:
    skipped = [block for block in _all_blocks() if block.skipped]
    with capsys.disabled():
        print(f"\n{len(skipped)} documentation blocks are not run:")
        for block in skipped:
            print(f"  {block.where}: {block.marker.get('reason')}")
    assert len(skipped) <= MAX_SKIPPED
    for block in skipped:
        assert len(block.marker.get("reason", "")) >= 15, f"{block.where}: say why it cannot run"
        assert block.lang in {"python", "bash", "sh", "console"}, f"{block.where}: only code is skipped"


def test_markers_are_known_and_languages_named() -> None:
    known = {"skip", "reason", "file", "output", "background", "port", "status"}
    for block in _all_blocks():
        assert set(block.marker) <= known, (block.where, block.marker)
        # a shell session shown without a language would silently never run
        if not block.lang and not block.marker:
            assert not block.code.lstrip().startswith(("$ ", "iamguard ", "python ", "export ")), block.where


# ---------------------------------------------------------------- the runner itself


def _page(tmp_path: Path, text: str) -> list[Block]:
    page = tmp_path / "page.md"
    page.write_text(text)
    return blocks(page)


def test_markers_and_languages_are_read(tmp_path: Path) -> None:
    found = _page(
        tmp_path,
        '<!-- snippet: skip reason="serves forever" -->\n```bash\nsleep 1\n```\n\n'
        "<!-- snippet: file=trust.json -->\n```json\n{}\n```\n```\nplain\n```\n",
    )
    assert [(b.lang, b.marker) for b in found] == [
        ("bash", {"skip": "", "reason": "serves forever"}),
        ("json", {"file": "trust.json"}),
        ("", {}),
    ]
    assert found[0].line == 2 and not found[1].runnable


def test_console_blocks_split_commands_and_output() -> None:
    assert console_commands("$ a \\\n  --b\nout 1\nout 2\n$ c\n") == [
        ("a \\\n  --b", "out 1\nout 2\n"),
        ("c", ""),
    ]
    assert output_matches("x ... z", "x yyy\nyy z")
    assert not output_matches("x ... z", "x y w")


def test_state_carries_between_blocks_and_failures_are_reported(tmp_path: Path) -> None:
    page = _page(
        tmp_path,
        "```bash\nexport GREETING=hello\n```\n"
        '```python\nimport os\nprint(os.environ["GREETING"], open("note.txt").read())\n'
        'os.environ["REPLY"] = "hi"\n```\n'
        "<!-- snippet: output -->\n```\nhello from a file\n```\n"
        "```console\n$ echo $GREETING $REPLY\nhello hi\n```\n"
        "```console\n$ echo $GREETING\ngoodbye\n```\n",
    )
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "note.txt").write_text("from a file")
    with Runner(tmp_path / "work") as runner:
        for block in page[:4]:
            runner.run(block)
        with pytest.raises(SnippetError, match="printed"):
            runner.run(page[4])


def test_a_failing_command_fails_its_block(tmp_path: Path) -> None:
    page = _page(tmp_path, "```bash\nfalse\necho unreachable\n```\n")
    (tmp_path / "work").mkdir()
    with Runner(tmp_path / "work") as runner, pytest.raises(SnippetError, match="exit status 1"):
        runner.run(page[0])
