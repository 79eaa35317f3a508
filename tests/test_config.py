"""regulars.toml parsing and validation."""

from __future__ import annotations

import pytest

from regulars.config import Config, default_config_text, load_config, parse_config
from regulars.errors import ConfigError


def test_default_text_parses_to_the_defaults() -> None:
    parsed = parse_config(default_config_text())
    assert parsed.workspace == Config().workspace
    assert parsed.channels == Config().channels
    assert parsed.guarantee.days == 90


def test_empty_file_gives_defaults() -> None:
    assert parse_config("") == Config()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "[workspace]\nfoo = 1",
            r"Unknown key 'workspace\.foo'.*Valid keys in \[workspace\]: "
            r"activity_window, business_start, currency",
        ),
        ("[workspac]\n", r"Unknown key 'workspac'.*Valid keys: .*workspace"),
        ('[workspace]\nperiod = "week"', r"'week' is not valid\. Valid values: 'month'"),
        ('[workspace]\ndefault_margin = "x"', r"wrong type \(expected a number\)"),
        ("[workspace]\ndefault_margin = 1.5", r"default_margin = 1\.5 is out of range"),
        ("[workspace]\nactivity_window = 0", r"activity_window = 0 must be at least 1"),
        ('[workspace]\ncurrency = "euro"', r"not an ISO 4217 code"),
        ('[channels]\nads = "paid"', r"'paid' is not a channel kind\. Valid kinds: referral"),
        ("[workspace\n", r"not valid TOML"),
        ("[workspace]\nactivity_window = true", r"wrong type \(expected an integer\)"),
    ],
)
def test_bad_config_names_key_and_valid_values(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(text)


def test_int_is_accepted_for_float() -> None:
    assert parse_config("[workspace]\ndefault_margin = 1").workspace.default_margin == 1.0


def test_currency_is_upper_cased() -> None:
    assert parse_config('[workspace]\ncurrency = "usd"').workspace.currency == "USD"


def test_channel_kind_lookup() -> None:
    cfg = parse_config('[channels]\ngoogle-ads = "cold"')
    assert cfg.channel_kind("google-ads") == "cold"
    assert cfg.channel_kind("unknown") == "other"
    assert cfg.channel_kind(None) == "other"


def test_missing_file_says_how_to_create(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="regulars init"):
        load_config(tmp_path / "regulars.toml")
