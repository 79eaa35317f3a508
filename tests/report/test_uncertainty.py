"""Covariate effects in the channel section, intervals beside the customers' scores."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from regulars.report._context import ReportContext
from regulars.report._data import ReportData
from regulars.report._effects import effect_sentences
from regulars.report._i18n import translator
from regulars.report._sections_value import channels_section, customer_value_section

from .conftest import FRAMES, FakeData

REFERRED = {
    "en": "Referred customers buy 1.4× as often (1.2–1.6) and drop out 30% less (15–42%) "
    "than cold ones.",
    "ru": "Клиенты по рекомендации покупают в 1,4 раза чаще (1,2–1,6) и уходят на "
    "30\xa0% реже (15–42\xa0%), чем холодные.",
}


class NoCovariates(FakeData):
    def frame(self, name: str) -> pd.DataFrame:
        return pd.DataFrame() if name == "covariate_effects" else FRAMES[name]()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_channel_section_words_each_effect_with_its_interval(lang: str) -> None:
    section = channels_section(ReportContext(FakeData(), translator(lang), "year"))
    assert REFERRED[lang] in section.notes
    lead = section.notes[section.notes.index(REFERRED[lang]) - 1]
    assert "bgnbd" in lead
    assert "95" in lead


def test_report_and_cli_share_one_wording() -> None:
    """The sentence is effect_sentences' (the CLI prints the same one)."""
    effects = FRAMES["covariate_effects"]()
    t = translator("en")
    assert effect_sentences(effects.to_dict("records"), {"channel_kind": "cold"}, t) == [
        REFERRED["en"]
    ]


def test_effects_without_a_clear_difference_say_so() -> None:
    effects = [
        {"process": "purchase", "term": "segment=vip", "ratio": 1.1, "lower_95": 1.05,
         "upper_95": 1.16},
        {"process": "dropout", "term": "segment=vip", "ratio": 0.9, "lower_95": 0.7,
         "upper_95": 1.2},
        {"process": "dropout", "term": "tenure", "ratio": 1.5, "lower_95": 1.2,
         "upper_95": 1.9},
    ]  # fmt: skip
    said = effect_sentences(effects, {"segment": "smb"}, translator("en"))
    assert said == [
        "Customers with segment = vip buy 1.10× as often (1.05–1.16) and drop out about as "
        "often as those with segment = smb (0.7–1.2×: no clear difference).",
        "With tenure 1 higher, customers drop out 50% more (20–90%).",
    ]


def test_without_a_covariate_fit_one_line_says_how_to_get_one() -> None:
    section = channels_section(ReportContext(NoCovariates(), translator("en"), "year"))
    hints = [n for n in section.notes if "regulars fit --covariates channel_kind" in n]
    assert len(hints) == 1
    assert "\n" not in hints[0]
    assert not any("than cold ones." in n for n in section.notes)


@pytest.mark.parametrize(
    ("lang", "clv", "p_alive", "alone"),
    [
        ("en", "€1,200 (€800–€1,900)", "64% (52%–75%)", "€400"),
        ("ru", "1\xa0200\xa0€ (800\xa0€–1\xa0900\xa0€)", "64\xa0% (52\xa0%–75\xa0%)", "400\xa0€"),
    ],
)
def test_top_customers_show_clv_with_its_interval(
    lang: str, clv: str, p_alive: str, alone: str
) -> None:
    section = customer_value_section(ReportContext(FakeData(), translator(lang), "year"))
    table = next(t for t in section.tables if t.name == "top-customers")
    rows = {r[0]: r for r in table.rows}
    assert rows["Ada Studio"][1:3] == (clv, p_alive)
    assert rows["Ada Studio"][3] == ("2.4 (1.9–3.0)" if lang == "en" else "2,4 (1,9–3,0)")
    # scored before intervals were stored: the value alone
    assert rows["C-3"][1] == alone
    assert "(" not in rows["C-3"][2]
    assert "90" in table.note


def _workspace(tmp_path: Path, *, intervals: bool) -> Path:
    """A workspace fitted before model_fits had a covariates column, and scored."""
    from regulars.store import Workspace

    ws = Workspace.init(tmp_path / "ws")
    ws.con.execute(
        "CREATE TABLE model_fits (fit_id VARCHAR NOT NULL, model VARCHAR NOT NULL, "
        "kind VARCHAR NOT NULL, params JSON NOT NULL, log_likelihood DOUBLE, "
        "n_customers BIGINT, fitted_at TIMESTAMP NOT NULL, time_unit VARCHAR NOT NULL, "
        "observation_end DATE NOT NULL, holdout JSON)"
    )
    ws.con.execute(
        "INSERT INTO model_fits VALUES ('f1', 'bgnbd', 'purchase', "
        """'{"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}', -9.0, 3, ?, 'D', ?, NULL)""",
        [dt.datetime(2025, 1, 1), dt.date(2024, 12, 31)],
    )
    ws.con.execute("INSERT INTO customers (customer_id, name) VALUES ('C-1', 'Ada'), ('C-2', NULL)")
    extra = ", clv_low DOUBLE, clv_high DOUBLE, p_alive_low DOUBLE, p_alive_high DOUBLE"
    ws.con.execute(
        "CREATE TABLE scores (customer_id VARCHAR, p_alive DOUBLE, clv DOUBLE, "
        f"expected_orders_365d DOUBLE{extra if intervals else ''})"
    )
    values = ", 800, 1900, 0.5, 0.8" if intervals else ""
    ws.con.execute(f"INSERT INTO scores VALUES ('C-1', 0.7, 1200, 2.0{values})")
    ws.con.execute(
        f"INSERT INTO scores VALUES ('C-2', 0.2, 300, 0.4{', NULL' * 4 if intervals else ''})"
    )
    ws.close()
    return tmp_path / "ws"


def test_the_stored_effects_reach_the_report(tmp_path: Path) -> None:
    from regulars.models import latest_fit
    from regulars.models._fit_store import store_covariates
    from regulars.store import Workspace

    with Workspace.open(_workspace(tmp_path, intervals=True)) as ws:
        assert ReportData(ws, period="year").frame("covariate_effects").empty
        fit = latest_fit(ws)
        assert fit is not None
        assert fit.covariates is None
        store_covariates(
            ws,
            fit,
            {
                "model": "bgnbd",
                "columns": ["channel_kind"],
                "references": {"channel_kind": "cold"},
                "effects": FRAMES["covariate_effects"]()[
                    ["process", "term", "ratio", "lower_95", "upper_95"]
                ].to_dict("records"),
            },
        )
        data = ReportData(ws, period="year")
        effects = data.frame("covariate_effects")
        top = data.frame("top_customers")
        again = latest_fit(ws)
    assert again is not None
    assert again.covariates is not None
    assert again.covariates["references"] == {"channel_kind": "cold"}
    assert effects["reference"].tolist() == ["cold", "cold"]
    assert effects["model"].iloc[0] == "bgnbd"
    t = translator("en")
    refs = {"channel_kind": "cold"}
    assert effect_sentences(effects.to_dict("records"), refs, t) == [REFERRED["en"]]
    assert top["name"].tolist() == ["Ada", "C-2"]
    assert t.money_interval(*top.loc[0, ["clv", "clv_low", "clv_high"]]) == ("€1,200 (€800–€1,900)")
    assert t.money_interval(*top.loc[1, ["clv", "clv_low", "clv_high"]]) == "€300"


def test_old_scores_without_intervals_show_the_value_alone(tmp_path: Path) -> None:
    from regulars.store import Workspace

    with Workspace.open(_workspace(tmp_path, intervals=False)) as ws:
        top = ReportData(ws, period="year").frame("top_customers")
    assert top["clv_low"].isna().all()
    assert top["expected_orders_365d_high"].isna().all()
    t = translator("en")
    assert t.money_interval(*top.loc[0, ["clv", "clv_low", "clv_high"]]) == "€1,200"
    assert t.percent_interval(*top.loc[0, ["p_alive", "p_alive_low", "p_alive_high"]]) == "70%"
