"""Guarantee and packages on a shop: nothing "under the guarantee" without one."""

from __future__ import annotations

from types import SimpleNamespace

from regulars.config import Config, GuaranteeConfig, WorkspaceSettings
from regulars.report._context import ReportContext
from regulars.report._i18n import translator
from regulars.report._sections_programs import guarantee_packages_section

from .conftest import ALL_KINDS, FakeData


class ShopData(FakeData):
    def __init__(self) -> None:
        super().__init__(kinds=[k for k in ALL_KINDS if k != "packages"])
        config = Config(workspace=WorkspaceSettings(kind="shop"), guarantee=GuaranteeConfig(days=0))
        self.workspace = SimpleNamespace(config=config)


def test_a_shop_without_a_guarantee_shows_no_refund_rate_under_it() -> None:
    section = guarantee_packages_section(ReportContext(ShopData(), translator("en"), "year"))
    assert not section.charts
    assert "under the guarantee" not in section.takeaway
    assert any("[guarantee] days = 0" in n for n in section.notes)
    assert section.missing == []  # a shop sells no packages: nothing to import


def test_a_studio_still_shows_its_guarantee() -> None:
    section = guarantee_packages_section(ReportContext(FakeData(), translator("en"), "year"))
    assert any(c.name == "guarantee" for c in section.charts)
