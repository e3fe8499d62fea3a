"""The README is a five-minute read whose links and commands are real; the reference lives in docs/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli import cli

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PENDING = {"docs/configuration.md", "docs/kafka.md", "docs/cli.md", "docs/platforms.md", "docs/faults.md"}
"""Pages other branches of issues 14-16 add; a link to one is allowed until it lands (then it must resolve)."""


def links(page: Path) -> list[str]:
    return [target for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8"))
            if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    missing = []
    for target in links(page):
        resolved = (page.parent / target).resolve()
        if not resolved.exists() and resolved.relative_to(ROOT).as_posix() not in PENDING:
            missing.append(target)
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_the_readme_is_short_and_keeps_its_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 120
    assert "make run" in text and "make test" in text
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    linked = {target for target in links(ROOT / "README.md") if target.startswith("docs/")}
    on_disk = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert on_disk <= linked, f"docs pages the README does not link: {sorted(on_disk - linked)}"


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    commands = []
    for line in "\n".join(blocks).splitlines():
        words = line.split("#")[0].split()
        if words[:1] == ["pot"]:
            commands.append([w for w in words[1:3] if not w.startswith(("-", "<", "al-")) and "." not in w][:2])
    return commands


@pytest.mark.parametrize("words", readme_commands(), ids=" ".join)
def test_every_pot_command_the_readme_shows_exists(words: list[str]) -> None:
    result = CliRunner().invoke(cli, [*words, "--help"])
    if result.exit_code != 0 and len(words) == 2:  # the second word was an argument, not a sub-command
        result = CliRunner().invoke(cli, [words[0], "--help"])
    assert result.exit_code == 0, f"pot {' '.join(words)}: {result.output[-300:]}"
