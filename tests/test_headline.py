"""The headline-restatement penalty (qa/search/headline.py) on hand-made evidence."""

from __future__ import annotations

import numpy as np
import pytest

from qa.search.headline import restatement
from qa.types import Evidence
from vectorstore.lexical import tokenize

pytestmark = pytest.mark.unit

TITLE = "Former rowing club treasurer jailed for stealing £312,400"
SENTENCES = {
    ("trial", 0): "A former treasurer of the Dunmere Rowing Club has been jailed for three years "
    "after a jury found him guilty of stealing £312,400 from the club.",
    ("trial", 7): "Sentencing him, Judge Harriet Osgood said Fenwick had betrayed the trust of "
    "volunteers.",
}


def _head(title: str = TITLE) -> list[Evidence]:
    return [
        Evidence(a, i, text, 0, len(text), 1.0, title, None, "", "")
        for (a, i), text in SENTENCES.items()
    ]


def _terms(key: tuple[str, int]) -> frozenset[str]:
    return frozenset(tokenize(SENTENCES[key]))


def _lead(article: str) -> str:
    return SENTENCES[(article, 0)]


def test_a_detail_question_costs_the_sentence_that_restates_the_headline():
    penalty = restatement("Which judge sentenced the former treasurer?", _head(), _terms, _lead)
    assert penalty[0] > 0.3  # the lead holds most of the headline; the question asks more
    assert penalty[1] == 0.0  # the judge's sentence holds none of it
    assert np.all((penalty >= 0) & (penalty <= 1))


def test_a_question_about_the_headline_itself_costs_nothing():
    penalty = restatement("Was the former rowing club treasurer jailed?", _head(), _terms, _lead)
    assert np.all(penalty == 0.0)


def test_a_headline_cut_from_the_lead_is_no_headline():
    stand_in = "A former treasurer of the Dunmere Rowing Club has been jailed"  # NewsQA-style
    penalty = restatement(
        "Which judge sentenced the former treasurer?", _head(stand_in), _terms, _lead
    )
    assert np.all(penalty == 0.0)


def test_no_title_and_no_content_words_cost_nothing():
    assert np.all(restatement("Which judge sentenced him?", _head(""), _terms, _lead) == 0.0)
    assert np.all(restatement("What did he say?", _head(), _terms, _lead) == 0.0)
