"""The public API of regulars.actions and its settings in regulars.toml."""

from __future__ import annotations

import pytest

import regulars.actions
from regulars._config_actions import PLAYBOOK_NAMES, PLAYBOOK_PLACEHOLDERS
from regulars.config import Config, default_config_text, parse_config
from regulars.errors import ConfigError

EXPECTED = [
    "ACTION_STATUSES",
    "OUTCOMES",
    "PLAYBOOKS",
    "REASONS",
    "SIGNALS",
    "ActionRun",
    "action_id",
    "action_outcomes",
    "co_purchase_rules",
    "compute_actions",
    "difference_interval",
    "ensure_action_tables",
    "holdout_draw",
    "is_held_out",
    "log_touch",
    "open_actions",
    "playbook_effectiveness",
    "record_offer",
    "record_outcome",
    "resolve_today",
    "signal_deciles",
    "signal_strength",
    "welch_interval",
    "wilson_interval",
]


def test_public_api_is_pinned_and_sorted() -> None:
    assert regulars.actions.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(regulars.actions, name) is not None


def test_every_playbook_has_a_function_and_settings() -> None:
    assert tuple(regulars.actions.PLAYBOOKS) == PLAYBOOK_NAMES
    cfg = Config()
    for name in PLAYBOOK_NAMES:
        assert cfg.playbooks.get(name).message


def test_default_config_text_parses_to_the_defaults() -> None:
    cfg = parse_config(default_config_text())
    assert cfg.actions == Config().actions
    assert cfg.playbooks == Config().playbooks
    assert cfg.actions.holdout_share == 0.1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[actions]\nholdout_share = 1.5", r"holdout_share = 1\.5 is out of range"),
        ("[actions]\nfrequency_cap_days = -1", "must not be negative"),
        ('[actions]\nclock = "wall"', r"'wall' is not valid\. Valid values: 'data', 'clock'"),
        ("[playbooks.winback]\nenable = false", r"Unknown key 'playbooks\.winback'.*win_back"),
        (
            "[playbooks.win_back]\ngap = 2",
            r"Unknown key 'playbooks\.win_back\.gap'.*gap_multiple",
        ),
        (
            '[playbooks.win_back]\nmessage = "Hi {nmae}"',
            r"unknown placeholder \{nmae\}\. Valid placeholders: business, currency",
        ),
        ('[playbooks.win_back]\nmessage = "Hi {name.upper}"', "write a plain name"),
        ('[playbooks.win_back]\nmessage = "Hi {name"', "not a valid template"),
        ('[playbooks.win_back]\ntouch_kind = "fax"', "is not a touch kind"),
        ("[playbooks.renewal_due]\ncheckpoints = []", "non-empty list"),
        ('[playbooks.renewal_due]\nbilling_periods = ["day"]', "Valid periods: week"),
        ("[playbooks.keep_in_touch]\nmin_days = -3", "must not be negative"),
        ("[playbooks.next_step]\nholdout_share = 2.0", "or -1 to use"),
    ],
)
def test_bad_settings_say_what_is_valid(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(text)


def test_templates_may_use_every_documented_placeholder() -> None:
    for name, fields in PLAYBOOK_PLACEHOLDERS.items():
        text = " ".join("{" + f + "}" for f in fields)
        cfg = parse_config(f"[playbooks.{name}]\nmessage = {text!r}")
        assert cfg.playbooks.get(name).message == text


def test_docs_list_every_placeholder_and_setting() -> None:
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "actions.md").read_text(encoding="utf-8")
    for name, fields in PLAYBOOK_PLACEHOLDERS.items():
        assert f"`{name}`" in docs
        for f in fields:
            assert "{" + f + "}" in docs, f
    import dataclasses

    cfg = Config()
    for name in PLAYBOOK_NAMES:
        for f in dataclasses.fields(cfg.playbooks.get(name)):
            assert f"`{f.name}`" in docs, (name, f.name)
    for f in dataclasses.fields(cfg.actions):
        assert f"`{f.name}`" in docs, f.name


def test_docs_list_every_reason_code() -> None:
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "actions.md").read_text(encoding="utf-8")
    for code in regulars.actions.REASONS:
        assert f"`{code}`" in docs, code
