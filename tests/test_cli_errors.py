"""The CLI shows citeqa's own errors as one line and keeps the traceback of anything else.

A user's mistake (a bad date, a busy store, a malformed file) deserves a message to act on; a bug
in citeqa or a library deserves its traceback. No model or store is loaded here.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import ui.cli
from ui.cli import main
from ui.cli.common import friendly
from vectorstore.errors import CiteqaError

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
CLEAN_ENV = {
    name: None
    for name in (
        "CITEQA_HOME",
        "CITEQA_CHROMA_URL",
        "CITEQA_MODEL",
        "CITEQA_DATE_ORDER",
        "CITEQA_MAX_FILE_MB",
    )
}
# every project error, with the built-in base that existing `except` clauses rely on
PROJECT_ERRORS = {
    "qa.errors.QuestionError": ValueError,
    "qa.errors.OptionError": ValueError,
    "qa.filters.FilterError": ValueError,
    "qa.llm.LLMError": ValueError,
    "qa.eval.evaluate.QuestionSetError": ValueError,
    "qa.eval.evaluate.EvalError": RuntimeError,
    "qa.eval.baselines.BaselineError": RuntimeError,
    "qa.search.learned.RankerModelError": RuntimeError,
    "qa.search.reader.ReaderModelError": RuntimeError,
    "vectorstore.htmltext.HtmlError": ValueError,
    "vectorstore.settings.SettingsError": ValueError,
    "vectorstore.embed.EmbeddingError": RuntimeError,
    "vectorstore.store.StoreError": RuntimeError,
    "vectorstore.store.StoreInUseError": RuntimeError,
    "vectorstore.chroma_store.ChromaError": RuntimeError,
    "vectorstore.fetch.FetchError": RuntimeError,
    "ui.api.InputError": ValueError,
}


def _load(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _exception_classes_in_source() -> set[str]:
    """Classes in qa/, vectorstore/ and ui/ that derive from something named *Error/Exception."""
    found = set()
    for package in ("qa", "vectorstore", "ui"):
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef) and any(
                    ast.unparse(base).endswith(("Error", "Exception")) for base in node.bases
                ):
                    found.add(f"{module}.{node.name}")
    return found - {"vectorstore.errors.CiteqaError"}


def test_every_project_error_is_listed():
    assert _exception_classes_in_source() == set(PROJECT_ERRORS)


@pytest.mark.parametrize(("dotted", "base"), PROJECT_ERRORS.items())
def test_project_error_is_a_citeqa_error_and_keeps_its_base(dotted, base):
    cls = _load(dotted)
    assert issubclass(cls, CiteqaError)
    assert issubclass(cls, base)


def _raiser(exc: BaseException) -> click.Command:
    @click.command()
    @friendly
    def cmd() -> None:
        raise exc

    return cmd


@pytest.mark.parametrize(
    ("error", "message"),
    [  # messages the README quotes, and others
        ("vectorstore.store.StoreInUseError", "store is in use: /x is open (PID 7)"),
        ("qa.filters.FilterError", "--since: 'soon' is not a date (try 2023-01-10)"),
        ("vectorstore.chroma_store.ChromaError", "collection belongs to another citeqa store"),
        ("qa.errors.QuestionError", "question is empty"),
        ("qa.errors.OptionError", "k must be within 1..50, not 99"),
        ("vectorstore.embed.EmbeddingError", "cannot load embedding model 'nope'"),
        ("builtins.FileNotFoundError", "No such file or directory: 'x.txt'"),
        ("builtins.PermissionError", "Permission denied: '/store'"),
    ],
)
def test_own_errors_and_oserror_are_one_line(error, message):
    exc = _load(error)(message)
    result = CliRunner().invoke(_raiser(exc), [])
    assert result.exit_code == 1
    assert result.output == f"Error: {exc}\n"


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("boom"),
        KeyError("boom"),
        RuntimeError("boom"),
        TypeError("boom"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    ],
)
def test_other_exceptions_keep_their_traceback(exc):
    with pytest.raises(type(exc)):
        CliRunner().invoke(_raiser(exc), [], catch_exceptions=False)


def test_abort_is_not_turned_into_an_error_line():
    result = CliRunner().invoke(_raiser(click.Abort()), [])
    assert result.output == "Aborted!\n"


def run(*args: str, env: dict[str, str | None] | None = None) -> click.testing.Result:
    return CliRunner(env={**CLEAN_ENV, **(env or {})}).invoke(main, list(args))


def _one_line(result: click.testing.Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error:")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_bad_llm_spec_through_the_cli():
    _one_line(run("ask", "Who?", "--llm", "nonsense"), "expected PROVIDER:MODEL")


def test_bad_setting_through_the_cli(tmp_path):
    _one_line(
        run("--home", str(tmp_path), "articles", env={"CITEQA_MAX_FILE_MB": "lots"}),
        "CITEQA_MAX_FILE_MB must be a whole number",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[1, 2", "not JSON"),
        (b"\xff\xfe[", "not JSON"),
        ('{"question": "answer"}', "expected a JSON list"),
    ],
)
def test_bad_history_file_is_one_line(tmp_path, content, message):
    path = tmp_path / "turns.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    _one_line(run("ask", "Who?", "--history", str(path)), message)


def test_eval_question_set_errors_are_one_line(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("{not json\n", encoding="utf-8")
    _one_line(run("eval", str(questions), "--quiet"), "invalid JSON")
    questions.write_text(
        json.dumps({"question": "Who?", "answers": ["x"]}) + "\n", encoding="utf-8"
    )
    _one_line(run("eval", str(questions), "--compare", "magic", "--quiet"), "unknown baseline")


@pytest.mark.parametrize("exc", [ValueError("boom"), KeyError("boom")])
def test_library_bug_keeps_its_traceback(monkeypatch, exc):
    """A ValueError from a library is a bug, no longer passed off as a user error."""

    def broken(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr("qa.llm.chat_model_from_spec", broken)
    result = run("ask", "Who?", "--llm", "ollama:x")
    assert result.exception is exc
    assert "Error:" not in result.output
    with pytest.raises(type(exc)):
        CliRunner(env=CLEAN_ENV).invoke(
            main, ["ask", "Who?", "--llm", "ollama:x"], catch_exceptions=False
        )


def test_failing_store_opening_is_one_line(monkeypatch):
    """What `ask` shows when the store refuses to open, e.g. the README's busy store."""
    StoreInUseError = _load("vectorstore.store.StoreInUseError")

    def busy(*args: object, **kwargs: object) -> None:
        raise StoreInUseError("store is in use: /home/x is open in another citeqa process (PID 42)")

    monkeypatch.setattr(ui.cli, "_assistant", busy)
    _one_line(run("ask", "Who?"), "store is in use")


def _citeqa_process(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "CITEQA_CACHE_DIR": os.environ["CITEQA_CACHE_DIR"]},
    )


def test_real_process_one_line_and_traceback():
    own = _citeqa_process(
        "from ui.cli import main; main(['ask', 'Who?', '--llm', 'nonsense'], prog_name='citeqa')"
    )
    assert own.returncode == 1
    assert own.stderr == (
        "Error: --llm 'nonsense': expected PROVIDER:MODEL, e.g. ollama:llama3.2\n"
    )
    foreign = _citeqa_process(
        "import qa.llm\n"
        "def broken(*a, **k): raise ValueError('boom from a library')\n"
        "qa.llm.chat_model_from_spec = broken\n"
        "from ui.cli import main\n"
        "main(['ask', 'Who?', '--llm', 'ollama:x'], prog_name='citeqa')\n"
    )
    assert foreign.returncode == 1
    assert "Traceback (most recent call last)" in foreign.stderr
    assert foreign.stderr.rstrip().endswith("ValueError: boom from a library")
