"""News-aware answers on samples/news (one story, four outlets, a wire copy republished twice,
a figure reported differently, a correction): who else reported a sentence, sources that
disagree, dates, timelines, and the eval's figures per question type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.reports import differing
from qa.types import Evidence

NEWS = Path(__file__).resolve().parent.parent / "samples" / "news"
EVACUATED = "How many homes were evacuated below the Oriel Dam?"
HOLDS = "How much water does the Oriel Dam hold back?"


def ev(article: str, sentence: str) -> Evidence:
    published = datetime(2025, 5, 9, tzinfo=UTC)
    return Evidence(article, 0, sentence, 0, len(sentence), 1.0, article, published, "", "")


@pytest.mark.unit
def test_differing_figures_need_the_same_thing_counted():
    best = ev("a", "About 400 homes below the dam were evacuated on Thursday, the council said.")
    other = ev("b", "LOWER BRISK — About 340 homes below the dam were evacuated on Thursday.")
    same = ev("c", "About 400 homes below the dam were evacuated on Thursday, officials said.")
    unrelated = ev("d", "The club sold 340 homes to a developer in a deal agreed last year.")
    assert differing(best, [other]) is other
    assert differing(best, [same]) is None  # the same figure: a copy, not a dispute
    assert differing(best, [unrelated]) is None  # "homes", but not the same claim
    assert differing(best, [ev("a", other.sentence)]) is None  # its own article


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder) -> Iterator:
    from tests.store_invariants import assistant_with

    built = assistant_with(embedder, tmp_path_factory.mktemp("news") / "home")
    with built:
        report = built.ingest([NEWS / "articles"])
        assert not report.failed and len(report.added) == 8
        yield built


@pytest.mark.integration
def test_a_wire_sentence_lists_who_else_reported_it(assistant):
    answer = assistant.ask(HOLDS)
    first = answer.citations[0]
    assert "9 million cubic metres" in first.sentence
    assert not answer.disagreement
    others = {a.source for a in first.also_in}
    sources = {first.source} | others
    assert sources == {"Valley Wire", "Carrowick Courier", "Harrowgate Herald"}
    assert first.article_id not in {a.article_id for a in first.also_in}
    assert "also reported by 2 sources" in first.footnote()
    keys = [(c.article_id, c.sentence_index) for c in answer.citations]
    assert len(keys) == len(set(keys))  # never the same sentence twice
    data = json.loads(json.dumps(answer.to_dict()))
    assert len(data["citations"][0]["also_in"]) == 2


@pytest.mark.integration
def test_sources_that_disagree_are_both_cited(assistant):
    answer = assistant.ask(EVACUATED)
    assert answer.disagreement
    assert answer.text.startswith("Sources differ.")
    assert len(answer.citations) == 2
    figures = {"400" if "400 homes" in c.sentence else "340" for c in answer.citations}
    assert figures == {"340", "400"}
    assert len({c.article_id for c in answer.citations}) == 2
    first, second = answer.citations  # the later report first: figures get revised
    assert first.published > second.published
    for citation in answer.citations:  # each with its source and date
        assert f"{citation.source}, {citation.published.date().isoformat()}:" in answer.text
    # the wire copy of the 340 figure was republished: the citation says so
    wire = next(c for c in answer.citations if "340" in c.sentence)
    assert len(wire.also_in) == 2


@pytest.mark.integration
def test_relative_dates_and_timeline_on_the_story(assistant):
    found = assistant.ask("When were the cracks in the Oriel Dam spillway found?")
    assert [m.value for m in found.citations[0].dates] == ["2025-05-05"]  # "on Monday"
    story = assistant.ask("How did the Oriel Dam story develop?")
    assert story.mode == "timeline" and len(story.citations) >= 4
    assert story.citations[0].published.date().isoformat() == "2025-05-06"
    assert story.citations[-1].published >= story.citations[0].published


@pytest.mark.integration
def test_eval_reports_each_news_question_type(tmp_path):
    from ui.cli import main

    done = CliRunner().invoke(
        main,
        [
            "--home",
            str(tmp_path / "home"),
            "eval",
            str(NEWS / "questions.jsonl"),
            "--corpus",
            str(NEWS / "articles"),
            "--json",
            "--quiet",
        ],
    )
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output[done.output.index("{") :])["summary"]
    by_type = summary["by_type"]
    assert {"wire", "disagreement", "correction", "date", "time_filter", "recency"} <= set(by_type)
    assert by_type["disagreement"]["first_citation_hit"] == 1.0
    assert by_type["wire"]["first_citation_hit"] == 1.0


@pytest.mark.unit
def test_the_sources_panel_says_when_sources_differ_or_a_time_filtered():
    from qa.types import AlsoIn, Answer, citation_from
    from ui.render import sources_html

    base = citation_from(ev("a", "About 400 homes were evacuated <i>quickly</i>."), 1)
    copy = AlsoIn("b", "Copy", "Harrowgate Herald", None)
    cited = (base.__class__(**{**base.__dict__, "also_in": (copy,)}),)
    answer = Answer("q", "…", cited, False, disagreement=True, filters={})
    shown = sources_html(answer, None)
    assert "Sources differ:" in shown
    assert "Also reported by 1 source: Harrowgate Herald" in shown
    assert "<i>" not in shown
    timed = Answer(
        "q",
        "…",
        (base,),
        False,
        filters={"from_question": "in May 2025", "since": "2025-05-01", "until": "2025-05-31"},
    )
    note = sources_html(timed, None)
    assert "Only articles published 2025-05-01 – 2025-05-31" in note
    assert "Sources differ" not in note


@pytest.mark.unit
def test_a_lightly_edited_copy_shares_its_fingerprint_and_another_story_does_not():
    from vectorstore.near_duplicates import fingerprint

    lines = [json.loads(line) for line in (NEWS / "articles" / "oriel_dam.jsonl").open()]
    wire = fingerprint(lines[1]["text"])
    edited = fingerprint(lines[2]["text"])  # the same wire story, "said on Friday", a new end
    other = fingerprint(lines[0]["text"])  # the first report of the cracks
    assert wire.similarity(edited.signature) >= 0.5
    assert wire.similarity(other.signature) < 0.2
    assert set(wire.bands) & set(edited.bands)  # filed where a lookup finds it


@pytest.mark.integration
def test_wire_copies_are_grouped_at_ingest_and_listed_as_one_story(assistant):
    from vectorstore.near_duplicates import story_labels

    rows = assistant.articles()
    labels = story_labels(rows)
    grouped = [a for a in rows if a.id in labels]
    assert {a.source for a in grouped} == {"Valley Wire", "Carrowick Courier", "Harrowgate Herald"}
    assert len({a.story for a in grouped}) == 1 and len(grouped) == 3
    assert set(labels.values()) == {"story 1 (3 articles)"}
    stories = assistant.store.stories([grouped[0].id])
    assert sorted(stories[grouped[0].id]) == sorted(a.id for a in grouped)


@pytest.mark.integration
def test_a_correction_note_gives_the_corrected_fact_first(assistant):
    answer = assistant.ask("When was the Oriel Dam completed?")
    first, note = answer.citations[:2]
    assert first.sentence == "It was completed in 1962."
    assert note.sentence.startswith("Correction: an earlier version of this article said")
    assert answer.text.startswith("It was completed in 1962. [1]")


@pytest.mark.integration
def test_a_claim_corrected_later_says_so_and_cites_the_correction(assistant):
    answer = assistant.ask(HOLDS)
    first = answer.citations[0]
    assert "built in 1958" in first.sentence
    fix = answer.citations[first.corrected_by - 1]
    assert (
        first.corrected_by == len(answer.citations) and fix.sentence == "It was completed in 1962."
    )
    assert (
        f"Corrected later (Carrowick Courier, 2025-05-12): It was completed in 1962. [{fix.n}]"
        in answer.text
    )
    assert f"corrected later, see [{fix.n}]" in first.footnote()
    # the first report of the cracks predates nothing to correct: no correction attached
    plain = assistant.ask("How long is the longest crack in the Oriel Dam spillway?")
    assert all(c.corrected_by == 0 for c in plain.citations)


@pytest.mark.integration
def test_time_in_the_question_can_be_switched_off(assistant):
    asked = "What did the water board say about the Oriel Dam in June 2025?"
    timed = assistant.ask(asked)
    assert timed.filters.get("from_question") == "in June 2025"
    untimed = assistant.ask(asked, time_in_question=False)
    assert untimed.filters == {}


def _article(title: str, url: str, published: str, text: str, source: str = "Tollard Times"):
    return {"title": title, "url": url, "published": published, "source": source, "text": text}


@pytest.mark.integration
def test_a_later_version_of_the_same_url_replaces_the_earlier_one(tmp_path, embedder):
    from tests.store_invariants import assistant_with

    url = "https://news.example/tollard-times/dam-bill"
    first = _article("Dam bill", url, "2025-05-27T09:00:00Z", "The repair bill is £6.8 million.")
    second = _article(
        "Dam bill (updated)",
        url,
        "2025-05-27T15:00:00Z",
        "The repair bill is £7.1 million, the board said in an update.",
    )
    older = _article("Dam bill (draft)", url, "2025-05-26T20:00:00Z", "The bill is unknown.")
    for name, item in (("v1.json", first), ("v2.json", second), ("v0.json", older)):
        (tmp_path / name).write_text(json.dumps(item), encoding="utf-8")
    built = assistant_with(embedder, tmp_path / "home")
    with built:
        assert len(built.ingest([tmp_path / "v1.json"]).added) == 1
        report = built.ingest([tmp_path / "v2.json"])
        assert len(report.replaced) == 1 and not report.added
        titles = [a.title for a in built.articles()]
        assert titles == ["Dam bill (updated)"]
        stale = built.ingest([tmp_path / "v0.json"])  # an older version arrives late
        assert len(stale.older) == 1 and not stale.added and not stale.replaced
        assert "1 older versions not stored" in stale.summary()
        assert [a.title for a in built.articles()] == ["Dam bill (updated)"]
        other = _article("Dam bill", url, "2025-05-28T09:00:00Z", "Other text.", "Valley Wire")
        (tmp_path / "other.json").write_text(json.dumps(other), encoding="utf-8")
        assert len(built.ingest([tmp_path / "other.json"]).added) == 1  # another source: kept
        assert len(built.articles()) == 2


@pytest.mark.integration
def test_two_versions_in_one_ingest_store_only_the_later(tmp_path, embedder):
    from tests.store_invariants import assistant_with

    url = "https://news.example/valley-wire/levels"
    lines = [
        _article("Levels", url, "2025-06-02T10:00:00Z", "The reservoir is 3 metres low.", "VW"),
        _article("Levels", url, "2025-06-01T10:00:00Z", "The reservoir is 4 metres low.", "VW"),
    ]
    path = tmp_path / "levels.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    built = assistant_with(embedder, tmp_path / "home")
    with built:
        report = built.ingest([path])
        assert len(report.added) == 1 and len(report.older) == 1
        [stored] = built.articles()
        assert built.store.text(stored.id) == "The reservoir is 3 metres low."


@pytest.mark.integration
def test_articles_sharing_a_site_home_page_url_are_not_versions(tmp_path, embedder):
    from tests.store_invariants import assistant_with

    lines = [
        _article("One", "https://news.example/", "2025-06-01T10:00:00Z", "The ferry sailed."),
        _article("Two", "https://news.example/", "2025-06-02T10:00:00Z", "The bus was late."),
    ]
    path = tmp_path / "dump.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    built = assistant_with(embedder, tmp_path / "home")
    with built:
        report = built.ingest([path])
        assert len(report.added) == 2 and not report.older


def _copies(count: int) -> list[dict]:
    """`count` outlets repeating the claim the correction note says was wrong, a day before it."""
    return [
        _article(
            f"Oriel Dam history, part {n}",
            f"https://news.example/outlet-{n}/2025/05/11/oriel-dam-history",
            "2025-05-11T08:00:00Z",
            f"The Oriel Dam was built in 1958 and holds back about 9 million cubic metres of "
            f"water. Outlet {n} covered the valley's history at length.",
            source=f"Outlet {n}",
        )
        for n in range(count)
    ]


@pytest.mark.integration
def test_a_correction_is_found_however_many_copies_repeat_the_claim(tmp_path, embedder):
    """Twelve copies of the wrong claim: a BM25 lookup of the cited sentence returns the copies
    before the note (LOOKUP 8 missed it); the stored notes table finds it."""
    from tests.store_invariants import assistant_with

    feed = tmp_path / "copies.jsonl"
    feed.write_text("".join(json.dumps(a) + "\n" for a in _copies(12)), "utf-8")
    with assistant_with(embedder, tmp_path / "home") as built:
        assert not built.ingest([NEWS / "articles", feed]).failed
        lookup = built.store.bm25_sentences("The Oriel Dam was built in 1958 and holds back", 8)
        assert all("earlier version" not in built.store.text(h.article_id) for h in lookup)
        answer = built.ask(HOLDS)
        first = answer.citations[0]
        assert "built in 1958" in first.sentence and first.corrected_by
        assert answer.citations[first.corrected_by - 1].sentence == "It was completed in 1962."
        # removing the correcting article removes its note
        note = next(a for a in built.articles() if a.title.startswith("Water board says"))
        built.remove([note.id])
        assert built.store.correction_notes() == []
        assert all(c.corrected_by == 0 for c in built.ask(HOLDS).citations)


@pytest.mark.integration
def test_a_store_from_before_the_notes_table_finds_its_notes(tmp_path, embedder):
    """An older store (no notes table): a read-only process scans for the notes; the first
    writer fills the table once; both attach the same correction."""
    import sqlite3

    from qa import Assistant
    from tests.store_invariants import assistant_with

    home = tmp_path / "home"
    with assistant_with(embedder, home) as built:
        assert not built.ingest([NEWS / "articles"]).failed
        expected = built.store.correction_notes()
    assert len(expected) == 1 and expected[0][2] == "the Oriel Dam was built in 1958"
    with sqlite3.connect(home / "manifest.sqlite3") as db:
        db.execute("DROP TABLE notes")
        db.execute("DELETE FROM meta WHERE key='notes'")
    with Assistant(home=home, read_only=True) as reader:
        assert reader.store.correction_notes() == expected
        first = reader.ask(HOLDS).citations[0]
        assert first.corrected_by
    with assistant_with(embedder, home) as writer:
        assert writer.store.correction_notes() == expected
    with sqlite3.connect(home / "manifest.sqlite3") as db:
        assert db.execute("SELECT value FROM meta WHERE key='notes'").fetchone() == ("1",)
        assert db.execute("SELECT article_id, idx, claim FROM notes").fetchall() == expected


@pytest.mark.integration
def test_a_date_filter_reads_an_index_a_writer_builds(tmp_path, embedder):
    """A date filter is answered from an index on publication time; an older store without
    it is filtered the same by a reader (which builds nothing) and gets it from its writer."""
    import sqlite3

    from qa import Assistant
    from tests.store_invariants import assistant_with

    home = tmp_path / "home"
    since, until = datetime(2025, 5, 9, tzinfo=UTC), datetime(2025, 5, 31, tzinfo=UTC)
    plan = (
        "EXPLAIN QUERY PLAN SELECT id FROM articles WHERE published_ts >= 0 AND published_ts <= 1"
    )
    with assistant_with(embedder, home) as built:
        assert not built.ingest([NEWS / "articles"]).failed
        expected = built.store.matching_ids(since=since.timestamp(), until=until.timestamp())
        assert 0 < len(expected) < built.article_count()
    with sqlite3.connect(home / "manifest.sqlite3") as db:
        assert "articles_by_published" in str(db.execute(plan).fetchall())
        db.execute("DROP INDEX articles_by_published")
    with Assistant(home=home, read_only=True) as reader:
        got = reader.store.matching_ids(since=since.timestamp(), until=until.timestamp())
        assert got == expected
    with sqlite3.connect(home / "manifest.sqlite3") as db:
        assert "articles_by_published" not in str(db.execute(plan).fetchall())
    with assistant_with(embedder, home) as writer:
        got = writer.store.matching_ids(since=since.timestamp(), until=until.timestamp())
        assert got == expected
    with sqlite3.connect(home / "manifest.sqlite3") as db:
        assert "articles_by_published" in str(db.execute(plan).fetchall())


@pytest.mark.integration
def test_evidence_leaves_out_an_article_removed_after_the_search(tmp_path, embedder):
    """The title, date and source of chosen sentences are read in one lookup at the end; an
    article removed between the search and that lookup is left out and the choice made again
    (never an Evidence without its article)."""
    from qa.search.evidence import select_evidence
    from qa.search.texts import ArticleTexts
    from tests.store_invariants import assistant_with

    with assistant_with(embedder, tmp_path / "home") as built:
        assert not built.ingest([NEWS / "articles"]).failed
        result = built.searcher.search(HOLDS, k=4)
        rows = built.store.sentence_rows(r.features.key for r in result.ranked)
        before = select_evidence(built.store, result.ranked, rows, 4, ArticleTexts(built.store))
        assert [e.sentence for e in before] == [e.sentence for e in result.evidence]
        gone = before[0].article_id
        built.remove([gone])
        after = select_evidence(built.store, result.ranked, rows, 4, ArticleTexts(built.store))
        assert len(after) == 4 and gone not in {e.article_id for e in after}
        # the same wording from another outlet (a duplicate before) now takes its place
        assert after[0].sentence == before[0].sentence and after[0].article_id != gone
        assert [e.sentence for e in after[1:]] == [e.sentence for e in before[1:]]


@pytest.mark.unit
def test_a_disagreement_puts_the_later_report_first():
    from qa.extractive import disagreement_answer

    older = ev("a", "About 340 homes below the dam were evacuated.")
    newer = ev("b", "About 400 homes below the dam were evacuated.")
    newer = replace(newer, published=datetime(2025, 5, 10, tzinfo=UTC))
    for best, other in ((older, newer), (newer, older)):
        text, cited = disagreement_answer(best, other)
        assert [c.article_id for c in cited] == ["b", "a"], text
    undated = replace(newer, published=None)
    _, cited = disagreement_answer(older, undated)  # no date to compare: the best first
    assert [c.article_id for c in cited] == ["a", "b"]
