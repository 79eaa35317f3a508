"""Growth sources: one base per statement (regulars/report/_sections_sources.py)."""

from __future__ import annotations

import math
import re

import pytest

from regulars.report._context import ReportContext
from regulars.report._i18n import translator
from regulars.report._sections_sources import gain_shares, growth_sources_section

from .conftest import ALL_KINDS, FakeData


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_share_in_the_sentence_is_the_table_share(lang: str) -> None:
    t = translator(lang)
    section = growth_sources_section(ReportContext(FakeData(), t, "year"))
    (table,) = section.tables
    shares = {row[0]: row[2] for row in table.rows if row[2] != "–"}
    said = re.findall(r"(\d+\s?%)", section.takeaway.split(":", 1)[1].split(".")[0])
    assert said
    assert set(said) <= set(shares.values())
    # Shares of the gains add up to 100% (give or take rounding), never below zero.
    assert sum(int(v.rstrip("%\xa0 ")) for v in shares.values()) in (99, 100, 101)


def test_gain_shares_ignore_losses() -> None:
    shares = gain_shares({"upsell": -25000.0, "new_cold": 17000.0, "win_back": 3000.0})
    assert shares == {"new_cold": 0.85, "win_back": 0.15}
    assert gain_shares({"upsell": -1.0}) == {}
    assert math.isclose(sum(gain_shares({"a": 1.0, "b": 2.0}).values()), 1.0)


def test_a_loss_of_existing_customers_is_words() -> None:
    section = growth_sources_section(ReportContext(FakeData(), translator("en"), "year"))
    rows = {row[0]: row for row in section.tables[0].rows}
    assert "Upsell" not in rows
    assert rows["Existing customers spent less"][2] == "–"
    assert "Existing customers spent €25,000 less than the year before." in section.takeaway


def test_without_spend_the_cost_columns_say_no_data() -> None:
    data = FakeData(kinds=[k for k in ALL_KINDS if k != "spend"])
    section = growth_sources_section(ReportContext(data, translator("en"), "year"))
    for row in section.tables[0].rows:
        assert row[4:] == ("no data", "no data")
    assert any("regulars import spend spend.csv" in m.commands for m in section.missing)
    assert "per 1 EUR of revenue" not in section.takeaway
