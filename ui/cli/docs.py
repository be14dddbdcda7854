"""The README's CLI reference, generated from the real commands (`python -m ui.cli.docs`).

`tests/test_readme.py` fails when the README's block differs from this output, so the
documented help cannot go stale; `make readme` rewrites the block.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from click.testing import CliRunner

from ui.cli import main

START = "<!-- cli-help:start -->"
END = "<!-- cli-help:end -->"
_BLOCK = re.compile(re.escape(START) + r"(.*?)" + re.escape(END), re.S)


def help_text() -> str:
    runner = CliRunner()
    parts = []
    for args in ([], *[[name] for name in sorted(main.commands)]):
        result = runner.invoke(main, [*args, "--help"], prog_name="citeqa", terminal_width=100)
        parts.append(f"$ citeqa {' '.join([*args, '--help'])}\n{result.output.rstrip()}")
    return "```text\n" + "\n\n".join(parts) + "\n```"


def readme_block(readme: str) -> str:
    match = _BLOCK.search(readme)
    return match.group(1).strip("\n") if match else ""


def update(path: Path) -> bool:
    readme = path.read_text(encoding="utf-8")
    fresh = help_text()
    if readme_block(readme) == fresh or not _BLOCK.search(readme):
        return False
    path.write_text(
        _BLOCK.sub(lambda m: f"{START}\n{fresh}\n{END}", readme, count=1), encoding="utf-8"
    )
    return True


if __name__ == "__main__":
    changed = update(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
    print("README.md updated" if changed else "README.md already up to date")
