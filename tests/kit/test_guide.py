"""docs/plugins.md cannot rot: every code block in it runs, in order, as a walkthrough in an
empty folder, with a virtual environment of the test's own layered on the project's.

- ``bash``: run as it is (``bash -euo pipefail``), in the walkthrough's folder; it must succeed.
- ``console``: each ``$ command`` runs and must succeed; each line shown after it must be in its
  output (spaces aside), a line ending in ``...`` standing for the start of one.
- ``python`` naming a file (``# file: PATH``): the blocks naming it one after another are the
  file, which must be as written when it exists already (the guide shows the scaffold truly),
  and is written otherwise; ``# add to: PATH``: appended to the file; with no file named: run.
- ``toml`` naming a file: its tables and values must be in that TOML file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from chelun.capabilities import spec_classes
from chelun.plugin_manager import PluginSettings
from tests.kit.conftest import Layered, layered_venv, plugins_of_project_environment

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"\A# (file|add to): (\S+)\n")
LANGUAGES = ("bash", "console", "python", "toml")


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int

    @property
    def marker(self) -> tuple[str, str] | None:
        found = MARKER.match(self.text)
        return (found.group(1), found.group(2)) if found else None

    @property
    def body(self) -> str:
        return MARKER.sub("", self.text, count=1)


def guide_blocks() -> list[Block]:
    text = GUIDE.read_text(encoding="utf-8")
    return [
        Block(found.group(1), found.group(2), text.count("\n", 0, found.start()) + 1)
        for found in FENCE.finditer(text)
    ]


def test_every_block_is_of_a_kind_the_walkthrough_runs() -> None:
    blocks = guide_blocks()
    assert len(blocks) >= 15
    for block in blocks:
        where = f"docs/plugins.md line {block.line}"
        assert block.language in LANGUAGES, f"{where}: a {block.language or 'bare'} block"
        if block.language == "toml":
            assert block.marker and block.marker[0] == "file", f"{where}: name the TOML file"
        if block.language == "console":
            assert block.text.startswith("$ "), f"{where}: a console block starts with a command"


def test_the_guide_names_every_hook_and_no_other() -> None:
    hooks = {name for spec in spec_classes() for name in vars(spec) if name.startswith("chelun_")}
    text = GUIDE.read_text(encoding="utf-8")
    tabled = set(re.findall(r"^\| `(chelun_\w+)` \| (?:contribution|decision)", text, flags=re.M))
    assert tabled == hooks, f"hooks missing from the tables: {sorted(hooks - tabled)}"
    named = set(re.findall(r"\bchelun_\w+", text)) - {"chelun_plugin", "chelun_zhejiang"}
    fixtures = set(
        re.findall(
            r"`(chelun_(?:pm|host|province|samples|roster|grievances|claims|"
            r"database|env|conformance))`",
            text,
        )
    )
    unknown = sorted(named - hooks - fixtures)
    assert not unknown, f"docs/plugins.md names hooks that do not exist: {unknown}"


def test_the_guide_documents_the_plugin_settings() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for name in PluginSettings.model_fields:
        assert f"`CHELUN_{name.upper()}`" in text


class Walkthrough:
    """The guide's blocks, run one after another in ``root``."""

    def __init__(self, root: Path, layered: Layered) -> None:
        self.root = root
        self.layered = layered
        self.pieces: tuple[str, list[str]] | None = None

    def run(self, block: Block) -> None:
        marker = block.marker
        if block.language == "python" and marker and marker[0] == "file":
            if self.pieces and self.pieces[0] == marker[1]:
                self.pieces[1].append(block.body)
                return
            self.flush()
            self.pieces = (marker[1], [block.body])
            return
        self.flush()
        where = f"docs/plugins.md line {block.line}"
        if block.language == "bash":
            self.succeeds(block.text, where)
        elif block.language == "console":
            self.console(block.text, where)
        elif block.language == "toml":
            assert marker is not None
            written = tomllib.loads((self.root / marker[1]).read_text(encoding="utf-8"))
            assert_within(tomllib.loads(block.body), written, f"{where}: {marker[1]}")
        elif marker is not None:  # python, added to a file
            path = self.root / marker[1]
            path.write_text(
                path.read_text(encoding="utf-8").rstrip("\n") + "\n\n\n" + block.body,
                encoding="utf-8",
            )
        else:
            self.succeeds(f"python - <<'PYTHON'\n{block.text}PYTHON\n", where)

    def flush(self) -> None:
        if self.pieces is None:
            return
        name, pieces = self.pieces
        self.pieces = None
        text = "\n\n\n".join(piece.strip("\n") for piece in pieces) + "\n"
        path = self.root / name
        if path.exists():
            assert path.read_text(encoding="utf-8") == text, (
                f"docs/plugins.md shows {name} otherwise than it is written"
            )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def succeeds(self, command: str, where: str) -> str:
        done = self.layered.run(command, self.root)
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{where}: {command.strip()} failed:\n{output[-3000:]}"
        return output

    def console(self, text: str, where: str) -> None:
        for command, expected in console_steps(text):
            output = self.succeeds(command, where)
            lines = [" ".join(line.split()) for line in output.splitlines()]
            for wanted in expected:
                wanted = " ".join(wanted.split())
                if wanted.endswith("..."):
                    found = any(line.startswith(wanted[:-3].rstrip()) for line in lines)
                else:
                    found = wanted in lines
                assert found, f"{where}: `{command}` printed no line {wanted!r}:\n{output}"


def console_steps(text: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif line.strip():
            steps[-1][1].append(line)
    return steps


def assert_within(part: object, whole: object, where: str) -> None:
    if isinstance(part, dict):
        assert isinstance(whole, dict), where
        for key, value in part.items():
            assert key in whole, f"{where}: no {key}"
            assert_within(value, whole[key], f"{where}: {key}")
    else:
        assert part == whole, f"{where}: {part!r} is {whole!r} there"


def test_the_guide_runs_from_an_empty_folder_to_a_plugin_in_use(tmp_path: Path) -> None:
    before = plugins_of_project_environment()
    root = tmp_path / "walkthrough"
    root.mkdir()
    walkthrough = Walkthrough(root, layered_venv(tmp_path / "venv"))
    for block in guide_blocks():
        walkthrough.run(block)
    walkthrough.flush()
    # What the walkthrough ends with: the plugin's package, with the hook added in section 9.
    module = root / "chelun-zhejiang" / "src" / "chelun_zhejiang" / "__init__.py"
    assert "def chelun_assign_visits" in module.read_text(encoding="utf-8")
    assert (root / "dist" / "chelun_zhejiang-0.1.0-py3-none-any.whl").is_file()
    # The project's own environment is as it was: the plugin went into the test's.
    assert plugins_of_project_environment() == before


def test_a_console_line_that_is_not_printed_fails_the_walkthrough(tmp_path: Path) -> None:
    walkthrough = Walkthrough(tmp_path, layered_venv(tmp_path / "venv"))
    block = Block("console", "$ echo one two\none three\n", 1)
    with pytest.raises(AssertionError, match="printed no line"):
        walkthrough.run(block)
    walkthrough.run(Block("console", "$ echo one   two\none two\none ...\n", 1))
    with pytest.raises(AssertionError, match="failed"):
        walkthrough.run(Block("bash", "false\n", 1))


def test_a_guide_that_shows_a_file_otherwise_fails_the_walkthrough(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text('"""A module."""\n\nX = 1\n', encoding="utf-8")
    walkthrough = Walkthrough(tmp_path, Layered(tmp_path, {}))
    walkthrough.run(Block("python", '# file: module.py\n"""A module."""\n', 1))
    walkthrough.run(Block("python", "# file: module.py\nX = 2\n", 2))
    with pytest.raises(AssertionError, match="otherwise than it is written"):
        walkthrough.flush()
