"""Serve benchmark: time from `citeqa serve` to the first answered question, and server RSS.

    python bench/serve.py [--home DIR] [--questions N]
                          (default: a fresh store of the SQuAD bench corpus; one question)

The server runs as a real `citeqa serve` process; the questions go through gradio_client.
With `--questions N` the first N SQuAD dev questions (spread over the set) follow the first
one, and the server's RSS and peak (VmHWM) are read after them: what a server that has
answered for a while holds, not only what it loaded.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import SQUAD, default_corpus, machine, status_mb


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    return status_mb("VmRSS", pid)


def measure_serve(
    home: str,
    chroma_url: str | None = None,
    question: str = "Which NFL team represented the AFC at Super Bowl 50?",
    more: Sequence[str] = (),
) -> dict:
    """Start `citeqa serve` on `home`, ask one question through gradio_client (then `more`),
    measure RSS."""
    from gradio_client import Client

    citeqa = str(Path(sys.executable).parent / "citeqa")
    port = free_port()
    command = [
        citeqa,
        "--home",
        home,
        *(["--chroma-url", chroma_url] if chroma_url else []),
        "serve",
        "--port",
        str(port),
    ]
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit("citeqa serve exited before it was ready")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        listening = time.perf_counter() - started
        client = None
        for attempt in range(12):  # a big store on a busy machine: the first page can be slow
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:
                if attempt == 11:
                    raise
                time.sleep(5)
        assert client is not None
        answer = client.predict(question, api_name="/ask")
        first_answer = time.perf_counter() - started
        for text in more:
            client.predict(text, api_name="/ask")
        return {
            "listening_s": round(listening, 1),
            "first_answer_s": round(first_answer, 1),
            "citations": len(answer["citations"]),
            "abstained": answer["abstained"],
            "questions": 1 + len(more),
            "rss_mb": round(rss_mb(server.pid)),
            "peak_mb": round(status_mb("VmHWM", server.pid)),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home")
    parser.add_argument("--chroma-url")
    parser.add_argument("--questions", type=int, default=0, help="asked after the first one")
    args = parser.parse_args()
    citeqa = str(Path(sys.executable).parent / "citeqa")
    home = args.home or tempfile.mkdtemp(prefix="citeqa-serve-bench-")
    if not args.home:
        subprocess.run(
            [citeqa, "--home", home, "ingest", "--quiet", *[str(p) for p in default_corpus()]],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    more: list[str] = []
    if args.questions:
        from qa.eval.evaluate import read_questions, spread

        asked = [q for q in read_questions(SQUAD / "questions-dev.jsonl") if q.answerable]
        more = [q.question for q in spread(asked, args.questions)]
    result = measure_serve(home, args.chroma_url, more=more)
    print(f"serve benchmark on {machine()} (store: {home})")
    print(f"  listening after          {result['listening_s']:6.1f} s")
    print(
        f"  first answer after       {result['first_answer_s']:6.1f} s  "
        f"({result['citations']} citation(s), abstained={result['abstained']})"
    )
    print(
        f"  server RSS               {result['rss_mb']:6.0f} MB after {result['questions']}"
        f" question(s), peak {result['peak_mb']:,} MB"
    )


if __name__ == "__main__":
    main()
