"""A book without amounts (a customer + date log) shows no invented money."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np

from regulars.io import import_file
from regulars.report import write_report
from regulars.store import Workspace


def test_report_of_a_log_without_amounts_shows_no_money(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    rows = ["cust,date"]
    for c in range(80):
        first = int(rng.integers(0, 300))
        for k in range(int(rng.integers(1, 6))):
            day = np.datetime64("2024-01-01") + first + 30 * k + int(rng.integers(0, 9))
            rows.append(f"K{c:03d},{day}")
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n")
    ws = Workspace.init(tmp_path / "ws")
    import_file(ws, "orders", log)
    out = write_report(ws, tmp_path / "r.html", fit=False)
    ws.close()
    page = out.read_text()
    page = re.sub(r"<(script|style).*?</\1>", "", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "no amounts" in text
    assert "€" not in text
    assert not re.search(r"\b0\.00\b", text)
