"""The Gradio chat: cited answers with their sources in view, and the article collection.

`build_app(assistant)` returns the Blocks; `serve(...)` launches it with the safety settings
(127.0.0.1, no share link, no SSR, no analytics, upload limits, the store folder blocked).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from qa.assistant import MAX_QUESTION_CHARS, Assistant, QuestionError
from qa.filters import FilterError
from qa.followup import message_text
from qa.types import Answer
from ui.render import (
    CSS,
    articles_table,
    chat_text,
    escape_markdown,
    sources_html,
    unescape_markdown,
)
from vectorstore.loaders import SUPPORTED

ARTICLE_HEADERS = ["id", "title", "published", "source", "sentences", "chunks"]
UPLOAD_TYPES = [s for s in SUPPORTED if s != ".markdown"]


class GradioProgress:
    """vectorstore.ingest.Progress shown as Gradio's progress bar."""

    def __init__(self, progress: gr.Progress):
        self.progress = progress

    def task(self, name: str, total: int) -> Any:
        done = [0]
        self.progress((0, total or 1), desc=name)

        def advance(n: int) -> None:
            done[0] += n
            self.progress((done[0], total or 1), desc=name)

        return advance


def example_questions(assistant: Assistant, limit: int = 4) -> list[str]:
    """Questions built from the newest stored articles' titles."""
    return [f"What happened: {a.title}?" for a in assistant.articles()[:limit]]


def build_app(assistant: Assistant) -> gr.Blocks:
    llm_ready = assistant.llm is not None
    modes = ["extractive", "llm"] if llm_ready else ["extractive"]

    def answer_stream(question: str, history: list[dict[str, Any]], k: float, mode: str,
                      since: str, until: str, source: str
                      ) -> Iterator[tuple[list[dict[str, Any]], str, str, Any]]:
        history = list(history or [])
        shown = escape_markdown(question or "")
        try:
            turns = [(unescape_markdown(message_text(m.get("content"))), "")
                     for m in history if m.get("role") == "user"]
            history = [*history, {"role": "user", "content": shown},
                       {"role": "assistant", "content": "Searching the articles…"}]
            yield history, "", sources_html(None, None), None
            final: Answer | None = None
            for partial in assistant.stream(
                    question, turns, k=int(k), mode=mode, since=since or None,
                    until=until or None, source=source or None):
                final = partial
                for text in _growing(partial.text):
                    history[-1] = {"role": "assistant", "content": chat_text(text)}
                    yield history, "", sources_html(None, None), None
            assert final is not None
            history[-1] = {"role": "assistant", "content": chat_text(final.text)}
            yield history, "", sources_html(final, assistant.paragraph_of), final.to_dict()
        except (QuestionError, FilterError) as err:
            history[-1:] = [{"role": "assistant", "content": escape_markdown(f"⚠ {err}")}]
            yield history, question, sources_html(None, None), None

    def api_ask(question: str, k: int = 5, since: str = "", until: str = "",
                source: str = "") -> dict[str, Any]:
        """Answer one question: text, citations and abstention, as JSON."""
        try:
            answer = assistant.ask(question, None, k=int(k), since=since or None,
                                   until=until or None, source=source or None)
        except (QuestionError, FilterError) as err:
            raise gr.Error(str(err)) from None
        return answer.to_dict()

    def api_articles() -> list[dict[str, Any]]:
        """Stored articles with their counts."""
        return [dict(zip(ARTICLE_HEADERS, row, strict=True)) for row in _table()]

    def api_remove(ids: list[str]) -> list[str]:
        """Remove articles by id; returns the ids that were present."""
        return assistant.remove(list(ids))

    def upload(files: list[Any] | None, progress: gr.Progress = gr.Progress()
               ) -> tuple[str, list[list[object]], Any, Any]:
        paths = [getattr(f, "name", f) for f in files or []]
        if not paths:
            return "Choose one or more files first.", _table(), gr.update(), None
        report = assistant.ingest(paths, GradioProgress(progress))
        failed_files = {Path(f.origin).name.rsplit(":", 1)[0] for f in report.failed}
        lines = [f"✓ {Path(p).name}" for p in paths if Path(p).name not in failed_files]
        lines += [f"✗ {Path(f.origin).name}: {f.reason}" for f in report.failed]
        lines.append(report.summary())
        return "\n".join(lines), _table(), gr.update(choices=_ids()), None

    def remove(ids: list[str] | None) -> tuple[str, list[list[object]], Any]:
        removed = assistant.remove(list(ids or []))
        return f"Removed {len(removed)} article(s).", _table(), gr.update(choices=_ids(),
                                                                           value=[])

    def _table() -> list[list[object]]:
        return articles_table(assistant.articles())

    def _ids() -> list[tuple[str, str]]:
        return [(f"{a.title} ({a.id})", a.id) for a in assistant.articles()]

    sources = sorted({a.source for a in assistant.articles() if a.source})
    with gr.Blocks(title="citeqa", analytics_enabled=False) as app:
        gr.Markdown("## citeqa — answers from your articles, every sentence cited")
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Answers", height=420, render_markdown=True,
                                      sanitize_html=True, elem_id="citeqa-chat",
                                      allow_tags=False, buttons=["copy"])
                    question = gr.Textbox(label="Question", placeholder="Ask about the articles",
                                          max_length=MAX_QUESTION_CHARS, elem_id="citeqa-q",
                                          submit_btn=True)
                    with gr.Row():
                        clear = gr.Button("Clear conversation", elem_id="citeqa-clear")
                    gr.Examples(example_questions(assistant) or ["What happened?"],
                                inputs=question, label="Example questions")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    panel = gr.HTML(sources_html(None, None), elem_id="citeqa-sources")
            with gr.Accordion("Settings", open=False):
                k = gr.Slider(1, 10, value=assistant.k, step=1, label="Number of sources")
                mode = gr.Radio(modes, value=modes[-1] if llm_ready else "extractive",
                                label="Answer mode")
                since = gr.Textbox(label="Published since (YYYY-MM-DD)")
                until = gr.Textbox(label="Published until (YYYY-MM-DD)")
                source = gr.Dropdown(["", *sources], value="", label="Source")
            last = gr.JSON(visible=False)
        with gr.Tab("Articles"):
            files = gr.File(label="Upload articles", file_count="multiple",
                            file_types=UPLOAD_TYPES, elem_id="citeqa-upload")
            add = gr.Button("Add to collection", variant="primary", elem_id="citeqa-add")
            result = gr.Textbox(label="Result", lines=4, interactive=False,
                                elem_id="citeqa-result")
            table = gr.Dataframe(value=_table(), headers=ARTICLE_HEADERS, interactive=False,
                                 label="Stored articles", elem_id="citeqa-articles")
            chosen = gr.Dropdown(choices=_ids(), multiselect=True, label="Articles to remove")
            drop = gr.Button("Remove selected", variant="stop")

        inputs = [question, chat, k, mode, since, until, source]
        question.submit(answer_stream, inputs, [chat, question, panel, last], api_name="chat",
                        concurrency_limit=4, concurrency_id="answers")
        clear.click(lambda: ([], "", sources_html(None, None), None), None,
                    [chat, question, panel, last], api_name="clear")
        add.click(upload, files, [result, table, chosen, files], api_name="upload",
                  concurrency_limit=1, concurrency_id="writes")
        drop.click(remove, chosen, [result, table, chosen], api_name="remove",
                   concurrency_limit=1, concurrency_id="writes")
        gr.api(api_ask, api_name="ask", concurrency_limit=4, concurrency_id="answers")
        gr.api(api_articles, api_name="articles")
        gr.api(api_remove, api_name="remove_ids", concurrency_limit=1, concurrency_id="writes")
    return app


def _growing(text: str) -> Iterator[str]:
    """Reveal an answer sentence by sentence (each piece ends at a citation marker)."""
    cut = 0
    while True:
        at = text.find("] ", cut)
        if at < 0:
            break
        cut = at + 1
        yield text[:cut]
    yield text


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860,
          max_upload_mb: int = 20, auth: tuple[str, str] | None = None,
          queue_size: int = 64, block: bool = True) -> Any:
    app = build_app(assistant)
    app.queue(max_size=queue_size, default_concurrency_limit=4)
    return app.launch(
        server_name=host, server_port=port, share=False, ssr_mode=False,
        max_file_size=f"{max_upload_mb}mb", blocked_paths=[str(assistant.settings.home)],
        auth=auth, show_error=True, prevent_thread_lock=not block, quiet=True,
        footer_links=["api"], css=CSS, mcp_server=False, pwa=False)
