"""One small simulated workspace served by the Django app, and users of each role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# Ibis 12's DuckDB list_tables() calls fetch_arrow_table(), deprecated in duckdb 1.5.
pytestmark = pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")

XSS_NAME = "<script>alert(1)</script>"
XSS_NOTE = '"><img src=x onerror=alert(1)>'
PASSWORDS = {"boss": "owner-pass-93kd", "sam": "staff-pass-71xq", "vic": "viewer-pass-28mz"}


def build_workspace(path: Path) -> Path:
    """A 150-customer book with scores, this week's actions and an XSS-named customer."""
    import warnings

    from regulars.actions import compute_actions, log_touch
    from regulars.datasets import SimulationParams, simulate
    from regulars.models import score_workspace
    from regulars.store import Workspace

    params = SimulationParams()
    book = simulate(n_customers=150, years=2, seed=7, params=params)
    ws = Workspace.init(path, name="Web test", channels={c.name: c.kind for c in params.channels})
    # The tests mark, snooze and assign different actions of one queue: list them all
    # (weekly_capacity 0), not only the 25 most valuable.
    toml = path / "regulars.toml"
    text = toml.read_text(encoding="utf-8")
    assert "weekly_capacity = 25 " in text
    toml.write_text(text.replace("weekly_capacity = 25 ", "weekly_capacity = 0 ", 1), "utf-8")
    ws.close()
    ws = Workspace.open(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        book.write(ws)
        ws.con.execute(
            "UPDATE customers SET name = ? WHERE customer_id = "
            "(SELECT min(customer_id) FROM customers)",
            [XSS_NAME],
        )
        first = ws.con.execute("SELECT min(customer_id) FROM customers").fetchone()
        assert first is not None
        log_touch(ws, first[0], kind="email", note=XSS_NOTE, at="2024-01-02 10:00")
        score_workspace(ws)
        compute_actions(ws)
    ws.close()
    return path


@pytest.fixture(scope="session")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Django configured on the workspace (once per test session), with three users."""
    import warnings

    from django.conf import settings
    from django.test.utils import setup_test_environment

    from regulars.web import create_user, setup

    path = build_workspace(tmp_path_factory.mktemp("web") / "ws")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        setup(path)
    settings.REGULARS_SYNC_JOBS = True
    setup_test_environment()
    from django.contrib.auth import get_user_model

    if not get_user_model().objects.filter(username="boss").exists():
        create_user("boss", role="owner", password=PASSWORDS["boss"])
        create_user("sam", role="staff", password=PASSWORDS["sam"])
        create_user("vic", role="viewer", password=PASSWORDS["vic"])
        create_user("tess", role="staff", password="staff-pass-55kw")
    return path


def client_for(username: str | None, *, csrf: bool = False) -> Any:
    """A Django test client, logged in as ``username`` (None: logged out)."""
    from django.test import Client

    client = Client(enforce_csrf_checks=csrf)
    if username is not None:
        from django.contrib.auth import get_user_model

        client.force_login(get_user_model().objects.get(username=username))
    return client


def open_action_ids(n: int = 5) -> list[str]:
    from django.conf import settings

    from regulars.service import week_queue
    from regulars.store import Workspace

    with Workspace.open(settings.REGULARS_WORKSPACE) as ws:
        return [r["action_id"] for r in week_queue(ws, limit=n)]
