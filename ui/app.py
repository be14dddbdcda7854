"""The Gradio chat: cited answers with their sources in view, and the article collection.

`build_app(assistant)` returns the Blocks; `serve(...)` launches it with the safety settings
(127.0.0.1, no share link, no SSR, no analytics, upload limits, the store folder blocked,
uploads removed from Gradio's temporary folder once ingested and when the server stops).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from qa.assistant import MAX_QUESTION_CHARS, Assistant
from ui.api import article_ids, ask_options, checked, url_list
from ui.chat import Update, answer_again_all_dates, answer_updates, time_filtered
from ui.examples import example_questions
from ui.render import (
    CSS,
    PANEL_CSS,
    PANEL_JS,
    articles_table,
    articles_view,
    id_choices,
    label_choices,
    listing_html,
    sources_html,
)
from ui.uploads import discard_uploads, upload_result, web_result
from vectorstore.fetch import FetchPolicy
from vectorstore.loaders import SUPPORTED

ARTICLE_HEADERS = ["id", "title", "published", "source", "sentences", "chunks", "story"]
UPLOAD_TYPES = [s for s in SUPPORTED if s != ".markdown"]
# uploads nobody added are removed after an hour; all of them when the server stops
DELETE_CACHE = (600, 3600)
# the Articles tab lists a page of the newest (or of those a search finds): at 100,000 articles
# the whole list in the page made it too slow to load (Gradio refused to start)
ARTICLES_SHOWN = 200
MAX_FIND_CHARS = 200


class GradioProgress:
    """vectorstore.ingest.Progress shown as Gradio's progress bar."""

    def __init__(self, progress: gr.Progress):
        self.progress = progress
        self._counts: dict[str, list[int]] = {}  # name -> [done, total]

    def task(self, name: str, total: int) -> Any:
        """A named counter; named again, its total grows (an ingest goes chunk by chunk)."""
        counts = self._counts.setdefault(name, [0, 0])
        counts[1] += total
        self.progress((counts[0], counts[1] or 1), desc=name)

        def advance(n: int) -> None:
            counts[0] += n
            self.progress((counts[0], counts[1] or 1), desc=name)

        return advance


class ArticleListing:
    """What the Articles tab lists: a page of the newest articles, or of those a search finds
    (ARTICLES_SHOWN; a page holding 100,000 rows made Gradio refuse to start)."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def newest(self) -> tuple[list[list[object]], Any]:
        """The table and the remove picker after a write: the newest articles."""
        return self._page(self.assistant.articles(limit=ARTICLES_SHOWN))

    @staticmethod
    def _page(rows: list[Any]) -> tuple[list[list[object]], Any]:
        """The table's rows and the remove picker's choices for `rows`."""
        return articles_view(rows), gr.update(choices=id_choices(rows), value=[])

    def line(self) -> str:
        """The line above the table: how many it shows, of how many."""
        total = self.assistant.article_count()
        return listing_html(min(total, ARTICLES_SHOWN), total)

    def found(self, matching: Any) -> tuple[list[list[object]], Any, str]:
        """The articles whose title, source or id contains `matching` (the newest when empty)."""
        needle = str(matching or "").strip()[:MAX_FIND_CHARS]
        rows = self.assistant.articles(limit=ARTICLES_SHOWN, matching=needle)
        line = listing_html(len(rows), self.assistant.article_count(), needle, ARTICLES_SHOWN)
        return *self._page(rows), line

    def recount(self) -> tuple[str, str]:
        """After a write the table lists the newest again: say so, and empty the search."""
        return self.line(), ""


def build_app(assistant: Assistant, fetch: FetchPolicy | None = None) -> gr.Blocks:
    """The chat and the Articles tab; `fetch` sets how the tab's URLs and feeds are fetched
    (default: public addresses only, so the app cannot be used to reach the machine's own
    services)."""
    llm_ready = assistant.llm is not None
    writable = not assistant.store.read_only  # a read-only process answers; another writes
    modes = ["extractive", "llm", "timeline"] if llm_ready else ["extractive", "timeline"]
    listing = ArticleListing(assistant)

    def answer_ui(
        question: Any, history: Any, k: Any, mode: Any, since: Any, until: Any, source: Any
    ) -> Iterator[Update]:
        yield from answer_updates(
            assistant, question, history, k, mode, since, until, source, ui=True
        )

    def answer_all_dates(
        last: Any, history: Any, k: Any, mode: Any, since: Any, until: Any, source: Any
    ) -> Iterator[Update]:
        """The last question again, without the time filter its own words set."""
        yield from answer_again_all_dates(assistant, last, history, k, mode, since, until, source)

    def answer_api(
        question: Any, history: Any, k: Any, mode: Any, since: Any, until: Any, source: Any
    ) -> Iterator[Update]:
        yield from answer_updates(
            assistant, question, history, k, mode, since, until, source, ui=False
        )

    @checked
    def api_ask(
        question: str, k: int = 5, since: str = "", until: str = "", source: str = ""
    ) -> dict[str, Any]:
        """Answer one question: text, citations and abstention, as JSON."""
        options = ask_options(k, None, since, until, source)
        options.pop("mode")
        return assistant.ask(question, None, **options).to_dict()

    def api_articles() -> list[dict[str, Any]]:
        """Stored articles with their counts."""
        return [
            dict(zip(ARTICLE_HEADERS, row, strict=True))
            for row in articles_table(assistant.articles())
        ]

    @checked
    def api_remove(ids: list[str]) -> list[str]:
        """Remove articles by id; returns the ids that were present."""
        return assistant.remove(article_ids(ids))

    @checked
    def upload(files: list[Any] | None, progress: gr.Progress = gr.Progress()) -> tuple:
        paths = [str(getattr(f, "name", f)) for f in files or []]
        if not paths:
            return "Choose one or more files first.", *listing.newest(), None
        try:
            report = assistant.ingest(paths, GradioProgress(progress))
        finally:
            discard_uploads(paths)  # the text is in the store now; no copy stays behind
        return upload_result(paths, report), *listing.newest(), None

    @checked
    def fetch_urls(text: Any, progress: gr.Progress = gr.Progress()) -> tuple:
        urls = url_list(text)
        if not urls:
            return "Paste one or more article or feed URLs first.", *listing.newest(), None
        report = assistant.ingest(urls, GradioProgress(progress), fetch)
        return web_result(report), *listing.newest(), ""

    @checked
    def remove(ids: Any) -> tuple:
        removed = assistant.remove(article_ids(ids or []))
        return f"Removed {len(removed)} article(s).", *listing.newest()

    sources = assistant.store.sources()
    with gr.Blocks(title="citeqa", analytics_enabled=False, delete_cache=DELETE_CACHE) as app:
        gr.Markdown("## citeqa — answers from your articles, every sentence cited")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3, min_width=320):
                    chat = gr.Chatbot(
                        label="Answers",
                        height=420,
                        render_markdown=True,
                        sanitize_html=True,
                        elem_id="citeqa-chat",
                        allow_tags=False,
                        buttons=["copy"],
                        latex_delimiters=[],
                    )
                    question = gr.Textbox(
                        label="Question",
                        placeholder="Ask about the articles",
                        max_length=MAX_QUESTION_CHARS,
                        elem_id="citeqa-q",
                        submit_btn=True,
                    )
                    with gr.Row():
                        clear = gr.Button("Clear conversation", elem_id="citeqa-clear")
                        # shown when the question's own time ("in March 2025") filtered it
                        all_dates = gr.Button(
                            "Search all dates", elem_id="citeqa-all-dates", visible=False
                        )
                    examples = example_questions(assistant)
                    if examples:  # each one asked and answered with a citation (ui/examples.py)
                        gr.Examples(examples, inputs=question, label="Example questions")
                with gr.Column(scale=2, min_width=240):
                    gr.Markdown("### Sources")
                    panel = gr.HTML(
                        sources_html(None, None),
                        elem_id="citeqa-sources",
                        js_on_load=PANEL_JS,
                        css_template=PANEL_CSS,
                    )
            with gr.Accordion("Settings", open=False):
                k = gr.Slider(1, 10, value=assistant.k, step=1, label="Number of sources")
                mode = gr.Radio(
                    modes, value=modes[-1] if llm_ready else "extractive", label="Answer mode"
                )
                since = gr.Textbox(label="Published since (YYYY-MM-DD)")
                until = gr.Textbox(label="Published until (YYYY-MM-DD)")
                source = gr.Dropdown([("", ""), *label_choices(sources)], value="", label="Source")
            last = gr.JSON(visible=False)
            # /chat for API clients: the same stream; its history is plain JSON, checked by us
            api_chat, api_history = gr.Button(visible=False), gr.JSON(visible=False)
        with gr.Tab("Articles"):
            files = gr.File(
                label="Upload articles",
                file_count="multiple",
                file_types=UPLOAD_TYPES,
                elem_id="citeqa-upload",
                visible=writable,
            )
            add = gr.Button(
                "Add to collection", variant="primary", elem_id="citeqa-add", visible=writable
            )
            with gr.Row(visible=writable):
                urls = gr.Textbox(
                    label="Article or feed URLs (RSS/Atom), one per line",
                    lines=2,
                    max_lines=8,
                    elem_id="citeqa-urls",
                    scale=4,
                )
                fetch_button = gr.Button("Fetch and add", elem_id="citeqa-fetch", scale=1)
            result = gr.Textbox(
                label="Result", lines=4, max_lines=20, interactive=False, elem_id="citeqa-result"
            )
            find = gr.Textbox(
                label="Find stored articles",
                placeholder="words of a title or source, or an id; Enter to search",
                max_length=MAX_FIND_CHARS,
                elem_id="citeqa-find",
            )
            shown = gr.HTML(listing.line(), elem_id="citeqa-listing")
            newest = assistant.articles(limit=ARTICLES_SHOWN)
            table = gr.Dataframe(
                value=articles_view(newest),
                headers=ARTICLE_HEADERS,
                interactive=False,
                label="Stored articles, newest first",
                elem_id="citeqa-articles",
                wrap=True,
                latex_delimiters=[],
                column_widths=["14%", "30%", "11%", "14%", "8%", "7%", "16%"],
            )
            chosen = gr.Dropdown(
                choices=id_choices(newest),
                multiselect=True,
                label="Articles to remove",
                elem_id="citeqa-chosen",
                visible=writable,
            )
            drop = gr.Button(
                "Remove selected", variant="stop", elem_id="citeqa-drop", visible=writable
            )

        inputs = [question, chat, k, mode, since, until, source]
        outputs = [chat, question, panel, last]
        asking = question.submit(
            answer_ui,
            inputs,
            outputs,
            api_visibility="private",
            preprocess=False,
            trigger_mode="always_last",
            show_progress_on=[chat],
            concurrency_limit=4,
            concurrency_id="answers",
        )
        asking.then(
            lambda answer: gr.update(visible=time_filtered(answer)),
            last,
            all_dates,
            api_visibility="private",
        )
        all_dates.click(
            answer_all_dates,
            [last, chat, k, mode, since, until, source],
            outputs,
            api_visibility="private",
            preprocess=False,
            show_progress_on=[chat],
            concurrency_limit=4,
            concurrency_id="answers",
        ).then(lambda: gr.update(visible=False), None, all_dates, api_visibility="private")
        api_inputs = [question, api_history, k, mode, since, until, source]
        api_chat.click(
            answer_api,
            api_inputs,
            outputs,
            api_name="chat",
            preprocess=False,
            concurrency_limit=4,
            concurrency_id="answers",
        )
        clear.click(
            lambda: ([], "", sources_html(None, None), None),
            None,
            outputs,
            api_name="clear",
            cancels=[asking],
        ).then(lambda: gr.update(visible=False), None, all_dates, api_visibility="private")
        add.click(
            upload,
            files,
            [result, table, chosen, files],
            api_name="upload",
            concurrency_limit=1,
            concurrency_id="writes",
        ).then(listing.recount, None, [shown, find], api_visibility="private")
        fetch_button.click(
            fetch_urls,
            urls,
            [result, table, chosen, urls],
            api_name="fetch",
            concurrency_limit=1,
            concurrency_id="writes",
        ).then(listing.recount, None, [shown, find], api_visibility="private")
        drop.click(
            remove,
            chosen,
            [result, table, chosen],
            api_name="remove",
            preprocess=False,
            concurrency_limit=1,
            concurrency_id="writes",
        ).then(listing.recount, None, [shown, find], api_visibility="private")
        find.submit(listing.found, find, [table, chosen, shown], api_visibility="private")
        gr.api(api_ask, api_name="ask", concurrency_limit=4, concurrency_id="answers")
        gr.api(api_articles, api_name="articles")
        gr.api(api_remove, api_name="remove_ids", concurrency_limit=1, concurrency_id="writes")
    return app


def serve(
    assistant: Assistant,
    host: str = "127.0.0.1",
    port: int = 7860,
    max_upload_mb: int = 20,
    auth: tuple[str, str] | None = None,
    queue_size: int = 64,
    block: bool = True,
    fetch: FetchPolicy | None = None,
) -> Any:
    app = build_app(assistant, fetch)
    app.queue(max_size=queue_size, default_concurrency_limit=4)
    return app.launch(
        server_name=host,
        server_port=port,
        share=False,
        ssr_mode=False,
        max_file_size=f"{max_upload_mb}mb",
        blocked_paths=[str(assistant.settings.home)],
        auth=auth,
        show_error=True,
        prevent_thread_lock=not block,
        quiet=True,
        footer_links=["api"],
        css=CSS,
        mcp_server=False,
        pwa=False,
    )
