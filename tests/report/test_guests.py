"""Guest checkouts in the headline: counted or left out as [workspace] guest_revenue says."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from regulars.report._build import build_sections
from regulars.report._data import ReportData
from regulars.report._i18n import translator

from .conftest import FRAMES, YEARS, FakeData

# -- the sentence, on hand-made frames ----------------------------------------------------


class GuestData(FakeData):
    """The fake report data plus guest checkouts in 2024 and 2025 (none in 2023)."""

    def __init__(self, include: bool, guests: bool = True) -> None:
        super().__init__()
        self.include = include
        if guests:
            self.kinds.add("guests")

    def frame(self, name: str) -> pd.DataFrame:
        if name != "business_revenue":
            return FRAMES[name]()
        nvr = FRAMES["new_vs_returning"]()
        customers = nvr["new_revenue"] + nvr["returning_revenue"]
        guests = pd.Series([0.0, 0.0, 4000.0, 6000.0])
        return pd.DataFrame(
            {
                "period": YEARS,
                "customer_revenue": customers,
                "guest_revenue": guests,
                "guest_orders": [0, 0, 50, 80],
                "revenue": customers + guests if self.include else customers,
                "includes_guests": self.include,
                "complete": True,
            }
        )


def headline(data: FakeData, lang: str = "en") -> tuple[str, dict[str, str]]:
    (section,) = build_sections(data, translator(lang, currency="EUR"), only=["headline"])
    return section.takeaway, {f.label: f.value for f in section.figures}


def test_included_guest_revenue_is_in_the_total_and_named() -> None:
    text, figures = headline(GuestData(include=True))
    assert text == (
        "Revenue in 2025 was €140,000 (€134,000 from customers, €6,000 from guest "
        "checkouts), up 22% from 2024; returning customers brought 65% of it."
    )
    assert figures["Revenue"] == "€140,000"


def test_excluded_guest_revenue_is_said_to_be_left_out() -> None:
    text, figures = headline(GuestData(include=False))
    assert text == (
        "Revenue in 2025 was €134,000 (customers only; €6,000 from guest checkouts left "
        "out), up 21% from 2024; returning customers brought 68% of it."
    )
    assert figures["Revenue"] == "€134,000"


def test_without_guest_orders_nothing_changes() -> None:
    plain = headline(FakeData())
    assert headline(GuestData(include=True, guests=False)) == plain
    assert plain[0] == (
        "Revenue in 2025 was €134,000, up 21% from 2024; returning customers brought 68% of it."
    )


def test_the_guest_clause_is_translated() -> None:
    text, _ = headline(GuestData(include=True), lang="ru")
    assert "от гостевых заказов" in text


# -- a real workspace, both settings -----------------------------------------------------

ORDERS = (
    "order_id,customer_id,order_date,revenue\n"
    "A1,C1,2010-10-01,100\n"
    "A2,C2,2010-10-15,50\n"
    "A3,C1,2010-11-10,80\n"
    "A4,C3,2010-11-30,40\n"
    "G3,,2010-10-03,20\n"
    "G1,,2010-11-05,30\n"
    "G2,,2010-11-20,15\n"
    "CG2,,2010-11-25,-15\n"  # returns G2 whole: netted, G2 is no paid order
)


@pytest.mark.parametrize(
    ("setting", "want"),
    [
        (
            "include",
            "Revenue in Nov 2010 was €150 (€120 from customers, €30 from guest checkouts), "
            "down 12% from Oct 2010; returning customers brought 53% of it.",
        ),
        (
            "exclude",
            "Revenue in Nov 2010 was €120 (customers only; €30 from guest checkouts left out), "
            "down 20% from Oct 2010; returning customers brought 67% of it.",
        ),
    ],
)
def test_a_workspace_with_guest_checkouts(tmp_path: Path, setting: str, want: str) -> None:
    from regulars.io import import_file
    from regulars.store import Workspace

    ws = Workspace.init(tmp_path / "ws")
    cfg = ws.path / "regulars.toml"
    ws.close()
    cfg.write_text(
        cfg.read_text().replace("[workspace]\n", f'[workspace]\nguest_revenue = "{setting}"\n')
    )
    ws = Workspace.open(tmp_path / "ws")
    try:
        f = tmp_path / "orders.csv"
        f.write_text(ORDERS)
        r = import_file(ws, "orders", f)
        assert r.guest_orders == 4
        data = ReportData(ws, period="month")
        text, figures = headline(data)
        assert text == want
        assert figures["Revenue"] == want.split(" ")[5]  # €150 with guests, €120 without
        assert data.frame("business_revenue")["guest_orders"].tolist() == [1, 1]
    finally:
        ws.close()
