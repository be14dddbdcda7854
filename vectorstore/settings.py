"""One place for the knobs, with their environment-variable fallbacks and early validation."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from vectorstore.errors import CiteqaError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DATE_ORDERS = ("dmy", "mdy")


class SettingsError(ValueError, CiteqaError):
    """A setting has a value we cannot use; the message names the setting and the value."""


@dataclass(frozen=True)
class Settings:
    """Where the store lives and how articles are read and embedded."""

    home: Path
    model: str = DEFAULT_MODEL
    chroma_url: str | None = None
    date_order: str = "dmy"
    max_file_bytes: int = 20 * 1024 * 1024
    chunk_tokens: int = 200
    embed_batch: int = 32
    precision: str = "bf16"
    collection: str = "citeqa"  # the Chroma collection <collection>_sentences
    read_only: bool = False  # answer from a store another process writes (CITEQA_READ_ONLY)
    reader: bool = True  # the trained reader reorders them too (CITEQA_READER=0 to leave out)
    align: bool = True  # word-piece alignment: confidence and the best 5's order (CITEQA_ALIGN)

    def __post_init__(self) -> None:
        if self.date_order not in DATE_ORDERS:
            raise SettingsError(
                f"date order must be one of {', '.join(DATE_ORDERS)}, not {self.date_order!r}"
            )
        if self.max_file_bytes <= 0:
            raise SettingsError(f"max file size must be positive, not {self.max_file_bytes}")
        if not 16 <= self.chunk_tokens <= 512:
            raise SettingsError(f"chunk tokens must be within 16..512, not {self.chunk_tokens}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,48}[a-z0-9]", self.collection):
            raise SettingsError(
                f"collection name must be 3-50 lowercase letters, digits, - or _, "
                f"not {self.collection!r}"
            )
        if self.precision not in ("bf16", "fp32"):
            raise SettingsError(f"precision must be bf16 or fp32, not {self.precision!r}")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from CITEQA_* variables; explicit non-None overrides win."""
        env = os.environ
        base = cls(
            home=Path(env.get("CITEQA_HOME") or platformdirs.user_data_dir("citeqa")),
            model=env.get("CITEQA_MODEL") or DEFAULT_MODEL,
            chroma_url=env.get("CITEQA_CHROMA_URL") or None,
            date_order=env.get("CITEQA_DATE_ORDER") or "dmy",
            max_file_bytes=_int_env("CITEQA_MAX_FILE_MB", 20) * 1024 * 1024,
            precision=env.get("CITEQA_PRECISION") or "bf16",
            collection=env.get("CITEQA_COLLECTION") or "citeqa",
            read_only=(env.get("CITEQA_READ_ONLY") or "").lower() in ("1", "true", "yes"),
            reader=(env.get("CITEQA_READER") or "1").lower() not in ("0", "false", "no"),
            align=(env.get("CITEQA_ALIGN") or "1").lower() not in ("0", "false", "no"),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        if "home" in given:
            given["home"] = Path(str(given["home"])).expanduser()
        return replace(base, **given)  # type: ignore[arg-type]


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
