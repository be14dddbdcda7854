"""The real `citeqa` command, driven through click's CliRunner (and once as a real process)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ui.cli import main
from vectorstore.chroma_store import SENTENCES
from vectorstore.settings import Settings
from vectorstore.store import open_store

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "articles"
BRIDGE_Q = "What will the new structure replacing the Old Tanner Bridge cost?"
UNRELATED_Q = "What is the boiling point of tungsten?"
ARTICLE_KEYS = {
    "id",
    "title",
    "published",
    "source",
    "url",
    "sentences",
    "chunks",
    "story",
    "story_label",
}
FOOTNOTE = re.compile(r'^\[(\d+)\] (.+) \((\d{4}-\d{2}-\d{2})\) — "(.+)"$')
# the CLI must not pick up a developer's own store or server
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


def run(home: Path, *args: str, chroma_url: str | None = None) -> Result:
    extra = ["--chroma-url", chroma_url] if chroma_url else []
    return CliRunner(env=CLEAN_ENV).invoke(
        main, ["--home", str(home), *extra, *args], catch_exceptions=False
    )


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory) -> tuple[Path, Result]:
    """A store filled by `citeqa ingest samples/articles` (progress bar on)."""
    home = tmp_path_factory.mktemp("cli") / "home"
    return home, run(home, "ingest", str(SAMPLES))


@pytest.fixture(scope="module")
def listed(cli_home) -> list[dict]:
    home, _ = cli_home
    result = run(home, "articles", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _by_title(listed: list[dict], word: str) -> dict:
    matches = [a for a in listed if word in a["title"]]
    assert len(matches) == 1
    return matches[0]


def test_ingest_samples(cli_home):
    _, result = cli_home
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("6 added, 0 unchanged, 0 replaced, 0 failed;"), summary
    assert "failed:" not in result.stderr


def test_ingest_again_is_unchanged(cli_home):
    home, _ = cli_home
    result = run(home, "ingest", "--quiet", str(SAMPLES))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("0 added, 6 unchanged, 0 replaced, 0 failed;")


def test_ingest_folder_with_bad_file(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for name in ("marrowby_bridge.txt", "fenwick_trial.json"):
        shutil.copy(SAMPLES / name, folder / name)
    (folder / "broken.json").write_text('{"title": "Broken", "text": "unterminated', "utf-8")
    home = tmp_path / "home"

    result = run(home, "ingest", "--quiet", str(folder))
    assert result.exit_code != 0
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failures) == 1, result.stderr
    assert "broken.json" in failures[0] and "invalid JSON" in failures[0]
    assert "2 added" in result.stdout and "1 failed" in result.stdout
    assert "Traceback" not in result.output

    listed = json.loads(run(home, "articles", "--json").stdout)
    assert sorted(a["title"][:6] for a in listed) == ["Former", "Marrow"]


def test_ingest_missing_path_fails_cleanly(tmp_path):
    result = run(tmp_path / "home", "ingest", "--quiet", str(tmp_path / "nowhere"))
    assert result.exit_code != 0
    assert "failed:" in result.stderr and "nowhere" in result.stderr
    assert "no such file or folder" in result.stderr


def test_articles_json(listed):
    assert len(listed) == 6
    for article in listed:
        assert set(article) == ARTICLE_KEYS
        assert re.fullmatch(r"[0-9a-f]{16}", article["id"])
        assert isinstance(article["sentences"], int) and article["sentences"] > 0
        assert isinstance(article["chunks"], int) and article["chunks"] > 0
        assert article["published"] is not None
        assert article["story"] == article["id"] and article["story_label"] == ""  # no copies
        parsed = datetime.fromisoformat(article["published"])
        assert parsed.isoformat() == article["published"]
        assert parsed.tzinfo is not None
    fenwick = _by_title(listed, "rowing club")
    assert fenwick["published"] == "2024-07-22T16:30:00+00:00"
    assert fenwick["source"] == "Dunmere Valley Courier"
    assert _by_title(listed, "Old Tanner")["published"].startswith("2025-03-14")
    dates = [a["published"] for a in listed]
    assert dates == sorted(dates, reverse=True)


def test_articles_plain(cli_home, listed):
    home, _ = cli_home
    result = run(home, "articles")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 6
    for line, article in zip(lines, listed, strict=True):
        assert line.startswith(f"{article['id']}  {article['published'][:10]}")
        assert article["title"] in line


def test_ask_prints_answer_and_footnotes(cli_home, listed):
    home, _ = cli_home
    result = run(home, "ask", BRIDGE_Q)
    assert result.exit_code == 0, result.output
    body, _, notes = result.stdout.partition("\n\n")
    assert "£14.2 million" in body
    footnotes = notes.strip().splitlines()
    assert footnotes
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    numbers = []
    bridge = _by_title(listed, "Old Tanner")
    for line in footnotes:
        match = FOOTNOTE.match(line)
        assert match, line
        numbers.append(int(match.group(1)))
        assert match.group(2) == bridge["title"]
        assert match.group(3) == "2025-03-14"
        assert match.group(4) in body
    assert numbers == list(range(1, len(numbers) + 1))
    assert markers == set(numbers)


def test_ask_json(cli_home):
    home, _ = cli_home
    result = run(home, "ask", BRIDGE_Q, "--json", "-k", "3")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert {
        "question",
        "text",
        "citations",
        "abstained",
        "evidence",
        "timings",
        "mode",
        "search_query",
    } <= set(answer)
    assert answer["question"] == BRIDGE_Q and not answer["abstained"]
    assert answer["mode"] == "extractive"
    assert answer["citations"]
    for citation in answer["citations"]:
        datetime.fromisoformat(citation["published"])
        assert citation["sentence"] in answer["text"]
        assert f"[{citation['n']}]" in answer["text"]
    assert any("£14.2 million" in c["sentence"] for c in answer["citations"])


def test_ask_unrelated_abstains(cli_home):
    home, _ = cli_home
    result = run(home, "ask", UNRELATED_Q)
    assert result.exit_code == 0
    assert result.stdout.strip() == "I could not find this in the articles."


def test_ask_filters(cli_home, listed):
    home, _ = cli_home
    helix = _by_title(listed, "Helix Tidal")
    result = run(home, "ask", BRIDGE_Q, "--json", "--article", helix["id"][:8])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["evidence"]
    assert {e["article_id"] for e in answer["evidence"]} == {helix["id"]}

    result = run(
        home,
        "ask",
        BRIDGE_Q,
        "--json",
        "--source",
        "Northern Ledger",
        "--since",
        "2025-01-01",
        "--until",
        "2025-12-31",
    )
    answer = json.loads(result.stdout)
    assert answer["evidence"]
    assert {e["source"] for e in answer["evidence"]} == {"Northern Ledger"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "question is empty"),
        (["ask", BRIDGE_Q, "--since", "yesterday-ish"], "is not a date"),
        (["ask", BRIDGE_Q, "--article", "zzzz"], "matches no article"),
        (["remove", "zzzz"], "matches no article"),
    ],
)
def test_user_errors_are_one_line(cli_home, args, message):
    home, _ = cli_home
    result = run(home, *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.startswith("Error:")
    assert "Traceback" not in result.output


def test_empty_store(tmp_path):
    home = tmp_path / "home"
    assert run(home, "articles").stdout.strip() == "No articles ingested yet."
    assert json.loads(run(home, "articles", "--json").stdout) == []
    result = run(home, "ask", BRIDGE_Q)
    assert result.exit_code == 0
    assert "No articles ingested yet" in result.stdout


def test_store_in_use_is_reported(cli_home, embedder):
    home, _ = cli_home
    with open_store(Settings(home=home), embedder):
        result = run(home, "articles")
    assert result.exit_code == 1
    assert "in use" in result.stderr
    assert run(home, "articles").exit_code == 0  # released again


def test_remove_then_gone(tmp_path):
    home = tmp_path / "home"
    assert (
        run(
            home,
            "ingest",
            "--quiet",
            str(SAMPLES / "marrowby_bridge.txt"),
            str(SAMPLES / "cold_algae.md"),
        ).exit_code
        == 0
    )
    before = json.loads(run(home, "articles", "--json").stdout)
    assert len(before) == 2
    victim = _by_title(before, "Old Tanner")

    result = run(home, "remove", victim["id"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "removed 1 article(s)"

    after = json.loads(run(home, "articles", "--json").stdout)
    assert [a["id"] for a in after] == [a["id"] for a in before if a["id"] != victim["id"]]
    assert victim["id"] not in run(home, "articles").stdout
    stats = json.loads(run(home, "stats", "--json").stdout)
    survivor = after[0]
    assert stats["articles"] == 1
    assert stats["vectors"] == survivor["sentences"]
    # the removed article can no longer be cited
    answer = json.loads(run(home, "ask", BRIDGE_Q, "--json").stdout)
    assert victim["id"] not in {c["article_id"] for c in answer["citations"]}
    assert victim["id"] not in {e["article_id"] for e in answer["evidence"]}


def test_stats_json(cli_home, listed):
    home, _ = cli_home
    result = run(home, "stats", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert set(stats) == {
        "articles",
        "sentences",
        "chunks",
        "characters",
        "vectors",
        "bytes_on_disk",
        "model",
        "home",
        "chroma",
    }
    assert stats["articles"] == 6
    assert stats["sentences"] == sum(a["sentences"] for a in listed)
    assert stats["chunks"] == sum(a["chunks"] for a in listed)
    assert stats["vectors"] == stats["sentences"]
    assert stats["bytes_on_disk"] > 0 and stats["characters"] > 0
    assert stats["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert stats["home"] == str(home)
    assert stats["chroma"] == str(home / "chroma")
    plain = run(home, "stats").stdout
    assert plain.startswith(f"6 articles, {stats['sentences']} sentences")


def test_chroma_server_through_cli(tmp_path, chroma_server):
    home = tmp_path / "home"
    try:
        result = run(
            home,
            "ingest",
            "--quiet",
            str(SAMPLES / "marrowby_bridge.txt"),
            str(SAMPLES / "cold_algae.md"),
            chroma_url=chroma_server,
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("2 added")
        stats = json.loads(run(home, "stats", "--json", chroma_url=chroma_server).stdout)
        assert stats["chroma"] == chroma_server
        assert stats["vectors"] == stats["sentences"]  # chunks have no vectors
        assert not (home / "chroma").exists()
        answer = json.loads(run(home, "ask", BRIDGE_Q, "--json", chroma_url=chroma_server).stdout)
        assert any("£14.2 million" in c["sentence"] for c in answer["citations"])
    finally:
        with open_store(Settings(home=home, chroma_url=chroma_server), _Named()) as store:
            store._vectors.client.delete_collection(SENTENCES)


class _Named:
    """Just enough of an Embedder to reopen the store for clean-up (no model needed)."""

    name = "sentence-transformers/all-MiniLM-L6-v2"
    dimension = 384


@pytest.fixture
def citeqa() -> Iterator[str]:
    path = Path(sys.executable).parent / "citeqa"
    assert path.exists(), path
    yield str(path)


def test_installed_command_help(citeqa):
    result = subprocess.run([citeqa, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage: citeqa" in result.stdout
    for command in ("ingest", "ask", "articles", "remove", "stats"):
        assert command in result.stdout
