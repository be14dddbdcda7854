"""The README cannot go stale: its two opening commands and its CLI reference are checked."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from ui.cli.docs import help_text, readme_block

pytestmark = pytest.mark.unit


def test_cli_reference_matches_the_real_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_block(readme) == help_text(), "run `make readme` to regenerate the block"


def test_readme_opens_with_exactly_two_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert first_block and readme.index("```sh") < readme.index("\n## ")
    commands = [
        line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()
    ]
    assert commands == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, re.M)
