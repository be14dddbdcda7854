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


@pytest.mark.unit
@pytest.mark.parametrize("command", [None, *sorted(main.commands)])
def test_help_imports_no_heavy_library(command):
    text, probe = _help_in_fresh_interpreter([command] if command else [])
    assert probe["code"] == 0
    assert text.startswith("Usage: citeqa")
    assert probe["heavy"] == []


@pytest.mark.unit
def test_the_probe_sees_a_heavy_import():
    _, probe = _help_in_fresh_interpreter([], preamble="import rich.console")
    assert "rich.console" in probe["heavy"]


@pytest.mark.unit
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


# `citeqa ask` answers extractively with sentence-transformers, Chroma and numpy: none of these
# may load (they cost seconds at every cold start, bench/cli_start.py)
NOT_FOR_ASK = (
    "gradio",
    "langchain_openai",
    "langchain_ollama",
    "langchain_core",
    "langsmith",
    "matplotlib",
    "trafilatura",
    "llama_cpp",
    # the ingest above wrote the query encoder's ONNX export: questions need no torch
    "torch",
    "sentence_transformers",
    "transformers",
)
ASK_PROBE = """
import json, sys
from ui.cli import main
try:
    main({args!r}, prog_name="citeqa")
except SystemExit as stop:
    code = stop.code
loaded = {{m.split(".")[0] for m in sys.modules}}
print(json.dumps({{"code": code, "loaded": sorted(loaded & {names!r}),
                   "needed": sorted(loaded & {{"onnxruntime", "chromadb", "numpy"}})}}))
"""


@pytest.mark.integration
def test_extractive_ask_loads_no_unneeded_library(tmp_path):
    import os

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    home = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "--home", home, "ingest", "--quiet", "samples/articles"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    question = "How many vehicles cross the Old Tanner Bridge on a weekday?"
    code = ASK_PROBE.format(args=["--home", home, "ask", question], names=set(NOT_FOR_ASK))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    *answer, last = done.stdout.rstrip("\n").split("\n")
    probe = json.loads(last)
    assert probe["code"] == 0
    assert "9,600 vehicles" in "\n".join(answer) and "[1]" in answer[0]
    assert probe["loaded"] == []
    assert probe["needed"] == ["chromadb", "numpy", "onnxruntime"]  # the probe sees imports
