"""Unit tests for vectorstore.settings (validation and environment variables) and dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vectorstore.dates import day, iso, parse_date
from vectorstore.settings import DEFAULT_MODEL, Settings, SettingsError

pytestmark = pytest.mark.unit

ENV = (
    "CITEQA_HOME",
    "CITEQA_MODEL",
    "CITEQA_CHROMA_URL",
    "CITEQA_DATE_ORDER",
    "CITEQA_MAX_FILE_MB",
    "CITEQA_PRECISION",
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults(tmp_path):
    settings = Settings(home=tmp_path)
    assert settings.model == DEFAULT_MODEL
    assert settings.date_order == "dmy"
    assert settings.chroma_url is None
    assert settings.max_file_bytes == 20 * 1024 * 1024
    assert settings.chunk_tokens == 200
    assert settings.precision == "bf16"


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("date_order", "ymd", "'ymd'"),
        ("date_order", "", "''"),
        ("max_file_bytes", 0, "0"),
        ("max_file_bytes", -5, "-5"),
        ("chunk_tokens", 8, "8"),
        ("chunk_tokens", 1000, "1000"),
        ("precision", "fp16", "'fp16'"),
    ],
)
def test_invalid_values_are_named(tmp_path, field, value, named):
    with pytest.raises(SettingsError) as caught:
        Settings(home=tmp_path, **{field: value})
    message = str(caught.value)
    assert message.endswith(named)
    assert field.split("_")[0] in message


@pytest.mark.parametrize("tokens", [16, 512])
def test_chunk_token_bounds_inclusive(tmp_path, tokens):
    assert Settings(home=tmp_path, chunk_tokens=tokens).chunk_tokens == tokens


def test_settings_error_is_value_error():
    assert issubclass(SettingsError, ValueError)


def test_from_env_reads_variables(clean_env, tmp_path):
    clean_env.setenv("CITEQA_HOME", str(tmp_path / "store"))
    clean_env.setenv("CITEQA_MODEL", "some-other-model")
    clean_env.setenv("CITEQA_DATE_ORDER", "mdy")
    clean_env.setenv("CITEQA_CHROMA_URL", "http://127.0.0.1:9")
    clean_env.setenv("CITEQA_MAX_FILE_MB", "3")
    clean_env.setenv("CITEQA_PRECISION", "fp32")
    settings = Settings.from_env()
    assert settings.home == tmp_path / "store"
    assert settings.model == "some-other-model"
    assert settings.date_order == "mdy"
    assert settings.chroma_url == "http://127.0.0.1:9"
    assert settings.max_file_bytes == 3 * 1024 * 1024
    assert settings.precision == "fp32"


def test_from_env_defaults_when_unset_or_empty(clean_env, tmp_path):
    clean_env.setenv("CITEQA_HOME", str(tmp_path))
    clean_env.setenv("CITEQA_MODEL", "")
    clean_env.setenv("CITEQA_DATE_ORDER", "")
    settings = Settings.from_env()
    assert settings.model == DEFAULT_MODEL
    assert settings.date_order == "dmy"
    assert settings.chroma_url is None
    assert settings.max_file_bytes == 20 * 1024 * 1024


def test_from_env_home_default_is_user_data_dir(clean_env):
    settings = Settings.from_env()
    assert "citeqa" in str(settings.home)


def test_from_env_overrides_win_and_none_is_ignored(clean_env, tmp_path):
    clean_env.setenv("CITEQA_HOME", str(tmp_path / "env"))
    clean_env.setenv("CITEQA_DATE_ORDER", "mdy")
    settings = Settings.from_env(
        home=str(tmp_path / "given"), date_order=None, model="m2", chunk_tokens=64
    )
    assert settings.home == tmp_path / "given"
    assert settings.date_order == "mdy"
    assert settings.model == "m2"
    assert settings.chunk_tokens == 64


def test_from_env_home_override_expands_user(clean_env, tmp_path):
    clean_env.setenv("HOME", str(tmp_path))
    settings = Settings.from_env(home="~/articles")
    assert settings.home == Path(tmp_path) / "articles"


def test_from_env_bad_date_order_named(clean_env, tmp_path):
    clean_env.setenv("CITEQA_HOME", str(tmp_path))
    clean_env.setenv("CITEQA_DATE_ORDER", "ymd")
    with pytest.raises(SettingsError, match="'ymd'"):
        Settings.from_env()


def test_from_env_bad_override_named(clean_env, tmp_path):
    clean_env.setenv("CITEQA_HOME", str(tmp_path))
    with pytest.raises(SettingsError, match="'fp8'"):
        Settings.from_env(precision="fp8")


@pytest.mark.parametrize("raw", ["lots", "2.5"])
def test_from_env_bad_max_file_mb_named(clean_env, tmp_path, raw):
    clean_env.setenv("CITEQA_HOME", str(tmp_path))
    clean_env.setenv("CITEQA_MAX_FILE_MB", raw)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    assert "CITEQA_MAX_FILE_MB" in str(caught.value)
    assert repr(raw) in str(caught.value)


def test_from_env_zero_max_file_mb_rejected(clean_env, tmp_path):
    clean_env.setenv("CITEQA_HOME", str(tmp_path))
    clean_env.setenv("CITEQA_MAX_FILE_MB", "0")
    with pytest.raises(SettingsError, match="max file size"):
        Settings.from_env()


# -- dates (the date_order setting's consumer) ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "order", "expected"),
    [
        ("2023-01-10", "mdy", datetime(2023, 1, 10, tzinfo=UTC)),
        ("2023-01-10T16:48:00Z", "dmy", datetime(2023, 1, 10, 16, 48, tzinfo=UTC)),
        ("10/01/23", "dmy", datetime(2023, 1, 10, tzinfo=UTC)),
        ("10/01/23", "mdy", datetime(2023, 10, 1, tzinfo=UTC)),
        ("2 April 2025", "dmy", datetime(2025, 4, 2, tzinfo=UTC)),
        ("Mon, 19 Feb 2024 07:45:00 GMT", "mdy", datetime(2024, 2, 19, 7, 45, tzinfo=UTC)),
        (0, "dmy", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_date(value, order, expected):
    assert parse_date(value, order) == expected


def test_parse_date_keeps_offsets_and_rejects_junk():
    parsed = parse_date("2023-01-10T10:00:00+02:00")
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=2)
    assert parsed == datetime(2023, 1, 10, 8, tzinfo=UTC)
    for junk in (None, True, "", "   ", "not a date", "x" * 100, 1e20):
        assert parse_date(junk) is None


def test_iso_and_day():
    when = datetime(2023, 1, 10, 16, 48, tzinfo=UTC)
    assert iso(when) == "2023-01-10T16:48:00+00:00"
    assert iso(None) is None
    assert day(when) == "2023-01-10"
    assert day(None) == ""


@pytest.mark.unit
@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], "foo 1", "issue 12 of the paper", "n/a"])
def test_values_that_hold_no_date_give_none(value):
    """Fuzzy parsing used to turn any lone number (even inside a JSON object) into a date."""
    from vectorstore.dates import parse_date

    assert parse_date(value) is None
