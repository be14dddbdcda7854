"""`citeqa --help` must not import the heavy libraries: they cost seconds, and help needs none.

Checked by what a fresh interpreter has imported, not by timing (timings live in bench/).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ui.cli import main

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "chromadb",
    "langchain",
    "langchain_core",
    "torch",
    "sentence_transformers",
    "transformers",
    "gradio",
    "rich",
    "numpy",
)
PROBE = """
import json, sys
{preamble}
from ui.cli import main
try:
    main({args!r}, prog_name="citeqa")
except SystemExit as stop:
    code = stop.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


def _help_in_fresh_interpreter(args: list[str], preamble: str = "") -> tuple[str, dict]:
    code = PROBE.format(args=[*args, "--help"], heavy=set(HEAVY), preamble=preamble)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    *help_lines, last = done.stdout.rstrip("\n").split("\n")
    return "\n".join(help_lines), json.loads(last)


@pytest.mark.parametrize("command", [None, *sorted(main.commands)])
def test_help_imports_no_heavy_library(command):
    text, probe = _help_in_fresh_interpreter([command] if command else [])
    assert probe["code"] == 0
    assert text.startswith("Usage: citeqa")
    assert probe["heavy"] == []


def test_the_probe_sees_a_heavy_import():
    _, probe = _help_in_fresh_interpreter([], preamble="import rich.console")
    assert "rich.console" in probe["heavy"]


def test_python_dash_m_ui_cli_works():
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    for command in main.commands:
        assert command in done.stdout
