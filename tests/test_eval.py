"""`citeqa eval`: the project's own question set must stay above measured floors, the report
files must be written and safe, and bad question sets must fail with a useful message.

The integration tests run the real CLI (CliRunner) on a throwaway store built from
samples/articles; `--home` points at an empty folder that must stay untouched.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from qa.eval.baselines import BaselineError, parse_names
from qa.eval.evaluate import (
    Question,
    missing_evidence,
    read_questions,
    spread,
    squash,
    summarise,
)
from qa.eval.report import fmt
from tests.conftest import SAMPLE_QUESTIONS, SAMPLES
from ui.cli import main

# measured on samples/questions.jsonl (README "Evaluating"), minus a small margin
FLOORS = {"hit@1": 0.75, "hit@5": 0.95, "mrr@10": 0.85, "abstained_unanswerable": 0.54,
          "answered_answerable": 0.9, "citation_precision": 0.65}
BRIDGE_GOLD = ("The bridge was built in 1923 and carries about 9,600 vehicles on an average "
               "weekday, according to the council's most recent traffic survey.")
INVENTED_GOLD = "The Marrowby council also plans a cable car over the River Wend."


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """One full run on the project's own question set, with every baseline."""
    tmp = tmp_path_factory.mktemp("eval")
    out = tmp / "out"
    result = CliRunner().invoke(main, [
        "--home", str(tmp / "home"), "eval", str(SAMPLE_QUESTIONS), "--corpus", str(SAMPLES),
        "--compare", "naive,bm25,dense", "--out", str(out), "--quiet"])
    return tmp, out, result


@pytest.mark.integration
def test_sample_set_stays_above_its_floors(sample_run):
    _, out, result = sample_run
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())["summary"]
    assert summary["questions"] == 48
    low = {k: summary[k] for k, floor in FLOORS.items() if summary[k] < floor}
    assert not low, f"below the floor: {low}"
    assert summary["missing_evidence"] == 0
    assert set(summary["by_type"]) == {"date", "factoid", "number", "person", "unanswerable"}


@pytest.mark.integration
def test_sample_run_writes_the_three_files_and_leaves_home_alone(sample_run):
    tmp, out, _ = sample_run
    rows = [json.loads(line) for line in (out / "per_question.jsonl").read_text().splitlines()]
    assert len(rows) == 48 and {"rank", "latency_ms", "baselines"} <= set(rows[0])
    page = (out / "report.html").read_text()
    assert page.startswith("<!doctype html>") and "data:image/png;base64," in page
    assert "<script" not in page and "src='http" not in page  # self-contained
    assert not (tmp / "home").exists() or not any((tmp / "home").iterdir())


@pytest.mark.integration
def test_compare_prints_baseline_columns(sample_run):
    _, out, result = sample_run
    header = next(line for line in result.stdout.splitlines() if "metric" in line)
    assert all(name in header for name in ("citeqa", "naive", "bm25", "dense"))
    abstained = next(line for line in result.stdout.splitlines() if "abstained (" in line)
    assert abstained.count("-") >= 3  # baselines never abstain
    baselines = json.loads((out / "summary.json").read_text())["baselines"]
    for name in ("naive", "bm25", "dense"):
        assert baselines[name]["hit@5"] > 0.5
        assert "abstained_unanswerable" not in baselines[name]
    assert baselines["naive"]["chars_cited"] > 5 * baselines["bm25"]["chars_cited"]


@pytest.mark.integration
def test_report_escapes_questions_and_counts_absent_gold(tmp_path):
    questions = tmp_path / "q.jsonl"
    lines = [
        {"id": "ok", "question": "In which year was the Old Tanner Bridge built?",
         "answers": ["1923"], "evidence": [BRIDGE_GOLD], "type": "date"},
        {"id": "xss", "question": "<script>alert(1)</script> Does Marrowby get a cable car?",
         "answers": ["yes"], "evidence": [INVENTED_GOLD], "type": "<b>odd</b>"},
        {"id": "none", "question": "What is the boiling point of tungsten?",
         "answerable": False},
    ]
    questions.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "--home", str(tmp_path / "home"), "eval", str(questions), "--corpus", str(SAMPLES),
        "--out", str(out), "--json", "--quiet", "--compare", "bm25"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["summary"]["missing_evidence"] == 1
    assert printed["missing_evidence"] == [{"id": "xss", "evidence": INVENTED_GOLD}]
    assert "occur in no ingested article" in result.stderr
    page = (out / "report.html").read_text()
    assert "<script>alert" not in page and "<b>odd" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;odd" in page
    assert "Gold evidence in no article" in page and "cable car" in page


@pytest.mark.integration
@pytest.mark.parametrize(("content", "message"), [
    ('{"question": "Fine?", "evidence": ["x"]}\n{"question": oops}\n', ":2: invalid JSON"),
    ("", "no questions"),
    ('{"question": "  "}\n', "no questions"),
    ('["a list"]\n', ":1: expected a JSON object"),
])
def test_bad_question_sets_fail_with_the_line(tmp_path, content, message):
    questions = tmp_path / "q.jsonl"
    questions.write_text(content)
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "h"), "eval", str(questions),
                                       "--corpus", str(SAMPLES), "--quiet"])
    assert result.exit_code != 0
    assert message in result.output


@pytest.mark.integration
def test_usage_errors(tmp_path):
    runner = CliRunner()
    home = str(tmp_path / "home")
    result = runner.invoke(main, ["--home", home, "eval", str(SAMPLE_QUESTIONS), "--compare",
                                  "bm25,bogus"])
    assert result.exit_code == 1 and "unknown baseline 'bogus'" in result.output
    result = runner.invoke(main, ["--home", home, "eval", str(SAMPLE_QUESTIONS), str(SAMPLES)])
    assert result.exit_code == 2 and "--corpus" in result.output
    result = runner.invoke(main, ["--home", str(tmp_path / "empty"), "eval",
                                  str(SAMPLE_QUESTIONS), "--quiet", "--limit", "2"])
    assert result.exit_code == 1 and "is empty" in result.output


@pytest.mark.unit
def test_matching_ignores_space_and_case_both_ways():
    from qa.eval.evaluate import matches

    gold = ["The bridge was built in 1923."]
    assert matches("the  bridge was\nBUILT in 1923. It is old.", gold)
    assert matches("built in 1923", gold)
    assert not matches("The bridge was built in 1924.", gold)
    assert not matches("   ", gold) and not matches("anything", [""])
    assert squash(" A b\tC ") == "abc"


@pytest.mark.unit
def test_summarise_counts_ranks_abstention_and_latency():
    def row(rank, answerable=True, abstained=False, latency=10.0):
        return {"answerable": answerable, "abstained": abstained, "rank": rank,
                "hit1": rank == 1, "hit5": rank is not None and rank <= 5,
                "hit10": rank is not None, "cited": 1, "cited_gold": int(rank == 1),
                "cited_first_gold": rank == 1, "answer_recall": rank == 1,
                "latency_ms": latency, "cited_chars": 100, "type": None}

    rows = [row(1), row(2), row(None, abstained=True), row(None, False, True, 30.0),
            row(None, False, False, 50.0)]
    s = summarise(rows)
    assert (s["questions"], s["answerable"], s["unanswerable"]) == (5, 3, 2)
    assert s["hit@1"] == pytest.approx(1 / 3, abs=1e-3)
    assert s["hit@5"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["mrr@10"] == pytest.approx(0.5, abs=1e-3)
    assert s["answered_answerable"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["abstained_unanswerable"] == 0.5
    assert s["citation_precision"] == 0.2 and s["latency_p50_ms"] == 10.0
    assert s["chars_cited"] == 100


@pytest.mark.unit
def test_read_questions_skips_empty_text_with_a_warning(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": ""}\n\n{"id": 7, "question": "Why?", "evidence": ["x"]}\n')
    warnings: list[str] = []
    questions = read_questions(path, warnings.append)
    assert [q.id for q in questions] == ["7"] and questions[0].answerable
    assert warnings == [f"{path}:1: question without text, skipped"]


@pytest.mark.unit
def test_limit_spreads_and_absent_gold_is_found():
    qs = [Question(str(i), f"q{i}?", (), (f"Gold {i}.",), True) for i in range(10)]
    assert [q.id for q in spread(qs, 3)] == ["0", "3", "6"]
    assert spread(qs, 50) == qs and spread(qs, None) == qs
    texts = ["Intro. GOLD   0. More.", "gold 1."]
    assert [m["id"] for m in missing_evidence(qs[:3], texts)] == ["2"]


@pytest.mark.unit
def test_baseline_names_and_dashes():
    assert parse_names(" bm25, dense,bm25 ") == ("bm25", "dense")
    assert parse_names("") == ()
    with pytest.raises(BaselineError, match="naive,bm25,dense"):
        parse_names("bm26")
    assert fmt({"hit@1": 0.5, "answerable": 0}, "hit@1", "f") == "-"
    assert fmt({"abstained_unanswerable": 0.5, "unanswerable": 2},
               "abstained_unanswerable", "f") == "0.500"
    assert fmt({}, "latency_p50_ms", "ms") == "-"

