"""Word-piece alignment (MaxSim): the arithmetic, the reordering of the head only, the same
token vectors from the ONNX export as from sentence-transformers, and the assistant using it on
extractive first questions only (never follow-ups, timelines or with CITEQA_ALIGN=0)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from qa.search.alignment import TOP_N, WEIGHT, TokenAligner, content_weights, maxsim
from qa.search.confidence import ALIGN_CENTER, ALIGN_WEIGHT, Signals
from qa.search.head import map_longest_first, passage, reorder_head
from tests.bridge_evidence import QUESTION, SENTENCES, bridge_evidence
from vectorstore import query_encoder
from vectorstore.embed import packaged_model_dir


def _unit(rows: list[list[float]]) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


_evidence = bridge_evidence


class _Lookup:
    """Token vectors by text: each text's words become fixed random unit vectors, so a sentence
    sharing more of the question's words aligns better."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self._words: dict[str, np.ndarray] = {}
        self._rng = np.random.default_rng(7)

    def embed_tokens(self, texts: Sequence[str]) -> list[np.ndarray]:
        self.calls.append(list(texts))
        out = []
        for text in texts:
            words = self.piece_words(text)
            for w in words:
                if w not in self._words:
                    v = self._rng.normal(size=16)
                    self._words[w] = (v / np.linalg.norm(v)).astype(np.float32)
            out.append(np.stack([self._words[w] for w in words]))
        return out

    def piece_words(self, text: str) -> list[str]:
        return text.lower().replace("?", "").replace(".", "").split()


@pytest.mark.unit
def test_function_words_and_punctuation_do_not_count_toward_alignment():
    words = ["when", "did", "the", "council", "approve", "it", "?", "##s"]
    assert content_weights(words).tolist() == [0, 0, 0, 1, 1, 0, 0, 1]
    assert content_weights(["who", "is", "it", "?"]).tolist() == [1, 1, 1, 1]  # nothing else
    question = _unit([[1, 0, 0], [0, 1, 0]])
    sentence = _unit([[1, 0, 0]])
    assert maxsim(question, sentence, np.array([1.0, 0.0])) == pytest.approx(1.0)
    assert maxsim(question, sentence, np.array([0.0, 1.0])) == pytest.approx(0.0)
    assert maxsim(question, sentence, np.array([0.0, 0.0])) == maxsim(question, sentence)


@pytest.mark.unit
def test_a_sentence_is_not_aligned_for_echoing_the_question_words():
    """Sharing "when", "was", "the" with the question earns a sentence nothing; sharing a
    content word does."""
    aligner = TokenAligner(_Lookup())
    question = "When was the bridge closed?"
    echo, answer = "When was the vote.", "Bridge closed Tuesday."
    scores = aligner.scores(question, [echo, answer])
    assert scores[1] > scores[0]
    assert scores[0] < 0.5 < scores[1]


@pytest.mark.unit
def test_maxsim_averages_each_question_piece_best_match():
    question = _unit([[1, 0, 0], [0, 1, 0]])
    assert maxsim(question, _unit([[1, 0, 0], [0, 1, 0], [0, 0, 1]])) == pytest.approx(1.0)
    assert maxsim(question, _unit([[1, 0, 0]])) == pytest.approx(0.5)  # one of two covered
    assert maxsim(question, _unit([[0, 0, 1]])) == pytest.approx(0.0)
    assert maxsim(question, _unit([[1, 1, 0]])) == pytest.approx(2**-0.5)
    empty = np.zeros((0, 3), dtype=np.float32)
    assert maxsim(empty, question) == 0.0 and maxsim(question, empty) == 0.0


@pytest.mark.unit
def test_reorder_moves_only_the_head_by_score_plus_weighted_alignment():
    embedder = _Lookup()
    aligner = TokenAligner(embedder)
    evidence = _evidence(TOP_N + 3)
    passages = [passage(e.title, e.sentence) for e in evidence[:TOP_N]]
    aligned = aligner.scores(QUESTION, passages)
    # one text a run (the question and each sentence after its title), longest first
    assert sorted(embedder.calls) == sorted([[QUESTION], *([p] for p in passages)])
    assert [len(c[0]) for c in embedder.calls] == sorted(
        (len(c[0]) for c in embedder.calls), reverse=True
    )
    reordered = reorder_head(evidence, WEIGHT * aligned)  # as the assistant combines them
    assert len(reordered) == len(evidence)
    assert [e.sentence for e in reordered[TOP_N:]] == [e.sentence for e in evidence[TOP_N:]]
    combined = [e.score + WEIGHT * float(a) for e, a in zip(evidence, aligned, strict=False)]
    expected = sorted(range(TOP_N), key=lambda n: (-combined[n], n))
    assert [e.sentence for e in reordered[:TOP_N]] == [evidence[n].sentence for n in expected]
    assert expected != list(range(TOP_N))  # the fixture does reorder something
    scores = [e.score for e in reordered]
    assert scores == sorted(scores, reverse=True)
    assert [e.score for e in evidence] == [1.0 - 0.01 * i for i in range(TOP_N + 3)]  # untouched


@pytest.mark.unit
def test_texts_are_handed_out_longest_first_and_come_back_in_order():
    handed: list[str] = []

    def recording_map(read, texts):
        handed.extend(texts)
        return map(read, texts)

    texts = ["bb", "a", "dddd", "ccc"]
    assert map_longest_first(recording_map, str.upper, texts) == ["BB", "A", "DDDD", "CCC"]
    assert handed == ["dddd", "ccc", "bb", "a"]
    assert map_longest_first(recording_map, str.upper, []) == []


@pytest.mark.unit
def test_the_confidence_reads_the_best_alignment_when_there_is_one():
    plain = Signals(dense=0.6, coverage1=0.4, coverage_chunk=0.6)
    assert plain.confidence == pytest.approx(0.6 + 0.25 * 1.0)
    centred = Signals(dense=0.6, coverage1=0.4, coverage_chunk=0.6, aligned=ALIGN_CENTER)
    assert centred.confidence == pytest.approx(plain.confidence)
    better = Signals(dense=0.6, coverage1=0.4, coverage_chunk=0.6, aligned=ALIGN_CENTER + 0.2)
    assert better.confidence == pytest.approx(plain.confidence + ALIGN_WEIGHT * 0.2)


@pytest.mark.unit
def test_no_sentence_or_no_bonus_is_left_alone_without_embedding():
    embedder = _Lookup()
    aligner = TokenAligner(embedder)
    one = _evidence(1)
    assert reorder_head(one, np.zeros(0)) == one
    assert reorder_head([], np.zeros(0)) == []
    assert aligner.scores(QUESTION, []).shape == (0,)
    assert embedder.calls == []


@pytest.mark.integration
def test_the_export_gives_sentence_transformers_token_vectors(tmp_path, monkeypatch, embedder):
    """Same word pieces, nearly the same vectors from the export's int8 copy (one run per
    text, so a text's vectors do not depend on the texts beside it)."""
    monkeypatch.setenv("CITEQA_CACHE_DIR", str(tmp_path / "cache"))
    name, location = "sentence-transformers/all-MiniLM-L6-v2", str(packaged_model_dir())
    record = query_encoder.export(embedder.model, name, location)
    assert record is not None and record.int8_size > 0
    encoder = query_encoder.load(name, location)
    assert encoder is not None
    texts = [QUESTION, *SENTENCES, "Émile's café — «naïve»?"]
    exported = encoder.encode_tokens(texts)
    reference = embedder.embed_tokens(texts)
    pieces = embedder.count_tokens(texts)
    for text, got, expected, count in zip(texts, exported, reference, pieces, strict=True):
        assert got.dtype == np.float32 and got.shape == expected.shape == (count, 384), text
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        cosines = np.sum(got * expected, axis=1)
        assert float(cosines.mean()) > 0.98 and float(cosines.min()) > 0.95, (text, cosines)
    for text, count in zip(texts, pieces, strict=True):  # each piece's whole word, both ways
        words = encoder.piece_words(text)
        assert len(words) == count, text
        assert [w.lower() for w in words] == [w.lower() for w in embedder.piece_words(text)]
    marrowby = len(embedder.model.tokenizer.tokenize("Marrowby"))  # several word pieces
    expected = ["who", "designed", "the", *["marrowby"] * marrowby, "bridge", "?"]
    assert [w.lower() for w in encoder.piece_words("Who designed the Marrowby bridge?")] == expected
    assert marrowby > 1
    alone = encoder.encode_tokens([QUESTION])[0]
    np.testing.assert_array_equal(alone, exported[0])
    assert encoder.encode_tokens([]) == []
    # a question's vector and its word-piece vectors come from one run: the pieces asked for
    # next are the same as a run of their own gives, and another text is not given them
    runs = 0
    session = encoder._session
    real_run = session.run

    class Counting:
        def run(self, *args, **kwargs):
            nonlocal runs
            runs += 1
            return real_run(*args, **kwargs)

    monkeypatch.setattr(encoder, "_session", Counting())
    encoder.encode(QUESTION)
    np.testing.assert_array_equal(encoder.encode_tokens([QUESTION])[0], exported[0])
    assert runs == 1
    np.testing.assert_array_equal(encoder.encode_tokens([SENTENCES[0]])[0], exported[1])
    assert runs == 2


@pytest.mark.integration
def test_a_damaged_int8_copy_makes_the_export_stale(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("CITEQA_CACHE_DIR", str(tmp_path / "cache"))
    name, location = "sentence-transformers/all-MiniLM-L6-v2", str(packaged_model_dir())
    assert query_encoder.export(embedder.model, name, location) is not None
    copy = query_encoder.export_dir(name) / query_encoder.INT8_MODEL
    copy.write_bytes(copy.read_bytes()[:1000])  # cut short
    assert query_encoder.find_export(name, location) is None


@pytest.mark.integration
def test_first_extractive_answers_are_aligned_unless_told_not_to(sample_home, monkeypatch):
    import qa.assistant
    from qa import Assistant
    from qa.search import headline

    question = "How many vehicles cross the Old Tanner Bridge on a weekday?"
    reordered: list[int] = []
    monkeypatch.setattr(
        qa.assistant,
        "reorder_head",
        lambda evidence, bonus: reordered.append(len(bonus)) or reorder_head(evidence, bonus),
    )
    monkeypatch.setenv("CITEQA_READER", "0")  # alignment's bonus alone (the reader adds its own)
    monkeypatch.setattr(headline, "WEIGHT", 0.0)  # and so does the headline penalty
    with Assistant(home=sample_home) as on:
        assert on.aligner is not None
        aligned = on.ask(question)
        assert not aligned.abstained and "align_ms" in aligned.timings
        assert reordered == [TOP_N]
        # a first question's search aligns its first sentences (the confidence reads the best
        # score) whatever the mode; a follow-up's searches do not
        timeline = on.ask(question, mode="timeline")
        follow_up = on.ask("When was it built?", [(question, aligned.text)])
        assert "align_ms" in timeline.timings and "align_ms" not in follow_up.timings
        assert not follow_up.abstained
        assert reordered == [TOP_N]  # only an extractive first answer is reordered
    monkeypatch.setenv("CITEQA_ALIGN", "0")
    with Assistant(home=sample_home) as off:
        assert off.aligner is None and off.reader is None
        plain = off.ask(question)
        head = [passage(e.title, e.sentence) for e in plain.evidence[:TOP_N]]
        aligned_scores = TokenAligner(off.embedder).scores(question, head)
    assert "align_ms" not in plain.timings and "read_ms" not in plain.timings
    assert aligned.abstained == plain.abstained  # abstention is the ranker's
    # the head reordered by ranker score + WEIGHT x alignment, from the scores the search made
    bonus = WEIGHT * aligned_scores
    expected = reorder_head(plain.evidence, bonus)
    assert [(e.article_id, e.sentence_index) for e in aligned.evidence] == [
        (e.article_id, e.sentence_index) for e in expected
    ]
    assert [e.score for e in aligned.evidence] == pytest.approx([e.score for e in expected])
