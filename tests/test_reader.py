"""The sentence reader: the packaged model is checked before use and only reorders the head.

Unit tests run the real int8 ONNX model (no store): a tampered copy or a missing sidecar is
refused naming the file; scores are one per passage, repeatable and independent of the batch;
`reorder` keeps every sentence, moves only the first `top_n`, and leaves scores falling. The
integration tests ask over samples/articles with the reader on and off (it reads extractive
answers only).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from dataclasses import replace

import numpy as np
import pytest

from qa.search.head import passage
from qa.search.reader import (
    PACKAGED_READER,
    ReaderModelError,
    SentenceReader,
    packaged_reader,
    read_meta,
    sidecar,
)
from tests.bridge_evidence import QUESTION, SENTENCES, TITLE, bridge_evidence

PASSAGES = [passage(TITLE, sentence) for sentence in SENTENCES]
_evidence = bridge_evidence


@pytest.mark.unit
def test_the_packaged_reader_matches_its_sidecar():
    meta = read_meta(PACKAGED_READER)
    assert meta.top_n >= 2 and meta.weight > 0 and meta.max_tokens >= 64
    assert PACKAGED_READER.stat().st_size <= 50_000_000
    record = json.loads(sidecar(PACKAGED_READER).read_text())
    assert record["cv"]["by"] == "article" and record["seed"] == 13
    assert "squad-train" in record["training"]["data"]
    assert meta.score_range is not None and meta.score_range[0] < 0 < meta.score_range[1]
    assert f"--layers {record['layers']}" in record["command"]
    # the weight is the one bench/reader_weight.py's recorded figures choose (not set by hand)
    choice = record["weight_choice"]
    assert meta.weight == choice["chosen"]
    figures = choice["first_hit"]
    mean = {w: (figures["squad"][w] + figures["newsqa"][w]) / 2 for w in figures["squad"]}
    assert mean[f"{meta.weight:g}"] == max(mean.values())


def _spy_on_scores(reader, monkeypatch) -> list[str]:
    """Let the reader score as it does, and return the passages it reads."""
    read: list[str] = []
    real = reader.scores

    def spy(question, passages):
        read.extend(passages)
        return real(question, passages)

    monkeypatch.setattr(reader, "scores", spy)
    return read


def _with_scores(evidence, scores):
    return [replace(e, score=s) for e, s in zip(evidence, scores, strict=True)]


@pytest.mark.unit
def test_sentences_out_of_reach_are_not_read_and_stay_below(monkeypatch):
    """A sentence further below the best than weight x the score range cannot be put first
    by the reader: it is not read, and keeps its place below the ones that were."""
    reader = packaged_reader()
    low, high = reader.meta.score_range or (0.0, 0.0)
    reach = reader.meta.weight * (high - low)
    evidence = _with_scores(_evidence(6), [1.0, 1.0 - reach / 2, -5.0, -5.1, -5.2, -5.3])
    read = _spy_on_scores(reader, monkeypatch)
    reordered = reader.reorder(QUESTION, evidence)
    head = [passage(e.title, e.sentence) for e in evidence[:2]]
    assert read in (head, head[:1])  # the best first; the rest never
    assert {e.sentence for e in reordered[:2]} == {e.sentence for e in evidence[:2]}
    assert [e.sentence for e in reordered[2:]] == [e.sentence for e in evidence[2:]]


def _fixed_scores(reader, monkeypatch, by_sentence: dict[str, float]) -> list[str]:
    """Make the reader score each passage by its sentence; return the passages it reads."""
    read: list[str] = []

    def fixed(question, passages):
        read.extend(passages)
        return np.array([by_sentence[p.split(": ", 1)[1]] for p in passages], dtype=np.float32)

    monkeypatch.setattr(reader, "scores", fixed)
    return read


@pytest.mark.unit
def test_once_the_best_reads_high_the_rest_are_not_read(monkeypatch):
    """Within reach before reading, but not after: the best sentence read at the top of the
    range leaves no other able to overtake it, so none is read and the order stands."""
    reader = copy.copy(packaged_reader())
    low, high = reader.meta.score_range or (0.0, 0.0)
    reach = reader.meta.weight * (high - low)
    evidence = _with_scores(_evidence(4), [1.0, 1.0 - reach / 4, 1.0 - reach / 3, -9.0])
    read = _fixed_scores(reader, monkeypatch, {e.sentence: high for e in evidence})
    reordered = reader.reorder(QUESTION, evidence)
    assert read == [passage(evidence[0].title, evidence[0].sentence)]
    assert [e.sentence for e in reordered] == [e.sentence for e in evidence]


@pytest.mark.unit
def test_when_the_best_reads_low_a_challenger_is_read_and_put_first(monkeypatch):
    reader = copy.copy(packaged_reader())
    low, high = reader.meta.score_range or (0.0, 0.0)
    reach = reader.meta.weight * (high - low)
    evidence = _with_scores(_evidence(4), [1.0, 1.0 - reach / 4, 1.0 - reach / 3, -9.0])
    scores = {e.sentence: low for e in evidence}
    scores[evidence[2].sentence] = high
    read = _fixed_scores(reader, monkeypatch, scores)
    reordered = reader.reorder(QUESTION, evidence)
    # the best, then each challenger that could still overtake, best first; never the fourth
    assert read == [passage(e.title, e.sentence) for e in evidence[:3]]
    assert reordered[0].sentence == evidence[2].sentence


@pytest.mark.unit
def test_a_score_read_during_the_search_is_not_read_again(monkeypatch):
    """The search reads its first sentence beside the alignment (`known`): the reader uses
    that score, prunes with it, and runs only for the challengers it leaves."""
    reader = copy.copy(packaged_reader())
    low, high = reader.meta.score_range or (0.0, 0.0)
    reach = reader.meta.weight * (high - low)
    evidence = _with_scores(_evidence(4), [1.0, 1.0 - reach / 4, 1.0 - reach / 3, -9.0])
    read = _fixed_scores(reader, monkeypatch, {e.sentence: low for e in evidence})
    first = evidence[0]
    known = {(first.article_id, first.sentence_index): high}
    bonus, pairs = reader.head_bonus(
        QUESTION, evidence, np.array([e.score for e in evidence]), known
    )
    assert read == [] and pairs == 0  # read high: nothing else can overtake it
    assert bonus[0] == pytest.approx(reader.meta.weight * high)
    known = {(first.article_id, first.sentence_index): low}
    bonus, pairs = reader.head_bonus(
        QUESTION, evidence, np.array([e.score for e in evidence]), known
    )
    assert read == [passage(e.title, e.sentence) for e in evidence[1:3]] and pairs == 2


@pytest.mark.integration
def test_the_search_reads_its_first_sentence_for_the_reader(sample_home, monkeypatch):
    from qa import Assistant

    monkeypatch.delenv("CITEQA_READER", raising=False)
    with Assistant(home=sample_home) as assistant:
        question = "Who drew up the replacement design for the Old Tanner Bridge?"
        asked: list[tuple[str, str]] = []
        reader = assistant.reader
        assert reader is not None

        def read_first(evidence):
            asked.append((question, evidence.sentence))
            return reader.read_one(question, evidence)

        result = assistant.searcher.search(question, 10, read_first=read_first)
        first = result.evidence[0]
        assert asked == [(question, first.sentence)]
        assert result.read == {
            (first.article_id, first.sentence_index): pytest.approx(
                float(reader.scores(question, [passage(first.title, first.sentence)])[0])
            )
        }
        assert assistant.searcher.search(question, 10).read == {}
        # an extractive answer reads the first sentence once, in the search, not again
        runs = _spy_on_scores(reader, monkeypatch)
        answer = assistant.ask(question)
    assert not answer.abstained
    assert runs.count(passage(first.title, first.sentence)) == 1
    assert len(runs) == answer.timings["read_pairs"] + 1


@pytest.mark.unit
def test_reading_only_what_is_in_reach_puts_first_what_reading_all_would():
    reader = packaged_reader()
    everything = copy.copy(reader)
    everything.meta = replace(reader.meta, score_range=None)
    rng = np.random.default_rng(7)
    low, high = reader.meta.score_range or (0.0, 0.0)
    span = reader.meta.weight * (high - low)
    skipped = 0
    for _ in range(60):
        scores = sorted(rng.uniform(0, 2.5 * span, size=5), reverse=True)
        evidence = _with_scores(_evidence(5), scores)
        skipped += int(not reader.meta.within_reach(np.array(scores)).all())
        first = reader.reorder(QUESTION, evidence)[0].sentence
        assert first == everything.reorder(QUESTION, evidence)[0].sentence, scores
    assert skipped > 10  # the draws did leave sentences unread


@pytest.mark.unit
def test_a_tampered_reader_is_refused_naming_the_file(tmp_path):
    copy = tmp_path / PACKAGED_READER.name
    shutil.copy(PACKAGED_READER, copy)
    shutil.copy(sidecar(PACKAGED_READER), sidecar(copy))
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ReaderModelError, match=re.escape(str(copy))):
        SentenceReader(copy)


@pytest.mark.unit
def test_a_reader_without_sidecar_is_refused(tmp_path):
    copy = tmp_path / PACKAGED_READER.name
    shutil.copy(PACKAGED_READER, copy)
    with pytest.raises(ReaderModelError, match=re.escape("reader_model.meta.json")):
        SentenceReader(copy)


@pytest.mark.unit
def test_scores_are_one_per_passage_and_do_not_depend_on_the_batch():
    reader = packaged_reader()
    together = reader.scores(QUESTION, PASSAGES)
    alone = np.array([reader.scores(QUESTION, [p])[0] for p in PASSAGES])
    assert together.shape == (len(PASSAGES),)
    # int8 activations are scaled per run: a pair's score must not depend on its company
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(together, reader.scores(QUESTION, PASSAGES))
    assert reader.scores(QUESTION, []).shape == (0,)


@pytest.mark.unit
def test_reorder_moves_only_the_head_and_keeps_scores_falling():
    reader = packaged_reader()
    evidence = _evidence(8)
    reordered = reader.reorder(QUESTION, evidence)
    top_n = reader.meta.top_n
    assert len(reordered) == len(evidence)
    assert {e.sentence for e in reordered[:top_n]} == {e.sentence for e in evidence[:top_n]}
    assert [e.sentence for e in reordered[top_n:]] == [e.sentence for e in evidence[top_n:]]
    scores = [e.score for e in reordered]
    assert scores == sorted(scores, reverse=True)
    # the head's order is ranker score + weight x reader score
    read = reader.scores(QUESTION, [passage(e.title, e.sentence) for e in evidence[:top_n]])
    combined = [
        e.score + reader.meta.weight * float(r) for e, r in zip(evidence[:top_n], read, strict=True)
    ]
    assert [e.sentence for e in reordered[:top_n]] == [
        evidence[n].sentence for n in sorted(range(top_n), key=lambda n: -combined[n])
    ]


@pytest.mark.unit
def test_a_single_sentence_is_left_alone():
    reader = packaged_reader()
    one = _evidence(1)
    assert reader.reorder(QUESTION, one) == one
    assert reader.reorder(QUESTION, []) == []


@pytest.mark.unit
def test_the_reader_prefers_the_sentence_that_answers():
    """A question whose words the wrong sentences repeat ("bridge", "replace") and the right
    one does not: the reader's score must put the naming sentence above both."""
    scores = packaged_reader().scores(QUESTION, PASSAGES)
    assert int(np.argmax(scores)) == 1, scores


@pytest.mark.integration
def test_an_extractive_answer_is_read_unless_told_not_to(sample_home, monkeypatch):
    from qa import Assistant

    home = sample_home
    question = "How many vehicles cross the Old Tanner Bridge on a weekday?"
    monkeypatch.delenv("CITEQA_READER", raising=False)
    with Assistant(home=home) as on:  # alignment and the reader read by default
        assert on.reader is packaged_reader() and on.aligner is not None
        read = on.ask(question)
        assert not read.abstained and "read_ms" in read.timings
        timeline = on.ask(question, mode="timeline")  # ordered by date: never read
        assert "read_ms" not in timeline.timings
        follow_up = on.ask("When was it built?", [(question, read.text)])
        assert not follow_up.abstained and "read_ms" not in follow_up.timings
    monkeypatch.setenv("CITEQA_READER", "0")
    with Assistant(home=home) as off:
        assert off.reader is None
        plain = off.ask(question)
    assert "read_ms" not in plain.timings
    # the same sentences, at most the best few reordered; abstention is the ranker's
    assert {e.sentence for e in read.evidence} == {e.sentence for e in plain.evidence}
    assert read.abstained == plain.abstained
    top_n = packaged_reader().meta.top_n
    assert [e.sentence for e in read.evidence[top_n:]] == [
        e.sentence for e in plain.evidence[top_n:]
    ]


@pytest.mark.integration
def test_reordered_evidence_still_cites_verbatim_sentences(sample_home, monkeypatch):
    from qa import Assistant

    home = sample_home
    monkeypatch.setenv("CITEQA_READER", "1")
    with Assistant(home=home) as assistant:
        assert assistant.reader is not None
        answer = assistant.ask("Who drew up the replacement design for the Old Tanner Bridge?")
        texts = {a.id: assistant.store.text(a.id) for a in assistant.store.list_articles()}
    assert not answer.abstained
    for citation in answer.citations:
        text = texts[citation.article_id]
        assert text[citation.start : citation.end] == citation.sentence


@pytest.mark.unit
def test_replace_keeps_evidence_frozen():
    """`reorder` builds new records (Evidence is frozen): the caller's list is untouched."""
    evidence = _evidence(4)
    before = [replace(e) for e in evidence]
    packaged_reader().reorder(QUESTION, evidence)
    assert evidence == before


@pytest.mark.unit
def test_a_question_longer_than_the_reader_reads_is_cut_not_refused():
    """A question may be 2,000 characters (qa.assistant.MAX_QUESTION_CHARS): longer than the
    reader's 128 word pieces on its own."""
    scores = packaged_reader().scores("which bridge " * 300, PASSAGES)
    assert scores.shape == (len(PASSAGES),) and np.isfinite(scores).all()
