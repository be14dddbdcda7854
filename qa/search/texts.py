"""Article texts for one search: each read from the store at most once."""

from __future__ import annotations

from collections.abc import Iterable

from vectorstore.store import ArticleStore


class ArticleTexts:
    """Article texts read from the store at most once per search."""

    def __init__(self, store: ArticleStore):
        self.store = store
        self.texts: dict[str, str] = {}

    def load(self, article_ids: Iterable[str]) -> None:
        missing = set(article_ids) - self.texts.keys()
        if missing:
            self.texts.update(self.store.texts(missing))

    def __call__(self, article_id: str) -> str:
        if article_id not in self.texts:
            self.texts[article_id] = self.store.text(article_id) or ""
        return self.texts[article_id]
