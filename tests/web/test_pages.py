"""The owner's week through the test client: every page renders and every form works."""

from __future__ import annotations

import pytest

from .conftest import client_for, open_action_ids

pytestmark = [
    pytest.mark.usefixtures("web_app"),
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
]


def _action(action_id: str) -> dict[str, object]:
    from django.conf import settings

    from regulars.store import Workspace

    with Workspace.open(settings.REGULARS_WORKSPACE) as ws:
        cur = ws.con.execute("SELECT * FROM actions WHERE action_id = ?", [action_id])
        cols = [d[0] for d in cur.description or []]
        row = cur.fetchone()
    assert row is not None
    return dict(zip(cols, row, strict=True))


@pytest.mark.parametrize(
    "url", ["/week/", "/customers/", "/data/", "/models/", "/account/", "/settings/", "/users/"]
)
def test_owner_pages_render(url: str) -> None:
    response = client_for("boss").get(url)
    assert response.status_code == 200
    assert b"<html" in response.content


def test_week_lists_the_open_actions_ranked() -> None:
    from django.conf import settings

    from regulars.store import Workspace

    with Workspace.open(settings.REGULARS_WORKSPACE) as ws:
        expected = [
            r[0]
            for r in ws.con.execute(
                "SELECT action_id FROM actions WHERE status = 'open' "
                "ORDER BY value_at_stake DESC, priority, due, action_id"
            ).fetchall()
        ]
    page = client_for("boss").get("/week/").content.decode()
    shown = [aid for aid in expected if f'id="action-{aid}"' in page]
    assert shown == expected[: len(shown)]
    assert len(shown) == min(len(expected), 50)
    positions = [page.index(f'id="action-{aid}"') for aid in shown]
    assert positions == sorted(positions)


def test_done_snooze_dismiss_assign() -> None:
    import datetime as dt

    from django.contrib.auth import get_user_model

    from regulars.web.models import Assignment, AuditEvent

    a, b, c, d = open_action_ids(12)[4:8]
    client = client_for("sam")
    r = client.post(f"/week/{a}/done/", {"outcome": "accepted", "note": "called"})
    assert r.status_code == 302
    assert _action(a)["status"] == "done"
    assert _action(a)["outcome"] == "accepted"
    until = dt.date.today() + dt.timedelta(days=400)
    client.post(f"/week/{b}/snooze/", {"until": until.isoformat(), "reason": "on holiday"})
    row = _action(b)
    assert row["status"] == "snoozed"
    assert row["until"] == until
    assert row["note"] == "on holiday"
    client.post(f"/week/{c}/dismiss/", {"reason": "not relevant"})
    assert _action(c)["status"] == "dismissed"
    sam = get_user_model().objects.get(username="sam")
    client.post(f"/week/{d}/assign/", {"user": str(sam.pk)})
    assert Assignment.objects.get(action_id=d).user == sam
    mine = client.get("/week/?assignee=me").content.decode()
    assert f'id="action-{d}"' in mine
    assert f'id="action-{a}"' not in mine
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {"action_done", "action_snoozed", "action_dismissed", "action_assigned"} <= events


def test_playbook_filter() -> None:
    page = client_for("boss").get("/week/?playbook=win_back").content.decode()
    assert "keep_in_touch</span>" not in page


def test_customer_list_sorts_like_pandas() -> None:
    from django.conf import settings

    from regulars.store import Workspace

    with Workspace.open(settings.REGULARS_WORKSPACE) as ws:
        scores = ws.con.execute("SELECT customer_id, clv FROM scores").df()
    top = scores.sort_values(["clv", "customer_id"], ascending=[False, True]).head(3)
    page = client_for("vic").get("/customers/?sort=clv&dir=desc").content.decode()
    positions = [page.index(f'href="/customers/{cid}/"') for cid in top.customer_id]
    assert positions == sorted(positions)


def test_customer_page_shows_clv_and_p_alive_with_their_intervals() -> None:
    import html

    from django.conf import settings

    from regulars.store import Workspace
    from regulars.web._format import Formatter

    with Workspace.open(settings.REGULARS_WORKSPACE) as ws:
        # The book is fitted with MBG/CNBD-k, whose scores have P(alive) intervals but
        # no CLV interval (docs/models.md); give the top customer one, as the other
        # models' scores have, and keep the next one without.
        (top, plain) = ws.con.execute(
            "SELECT customer_id FROM scores WHERE clv IS NOT NULL AND p_alive_low IS NOT NULL "
            "ORDER BY clv DESC, customer_id LIMIT 2"
        ).fetchall()
        ws.con.execute(
            "UPDATE scores SET clv_low = round(clv * 0.7), clv_high = round(clv * 1.5) "
            "WHERE customer_id = ?",
            [top[0]],
        )
        ws.con.execute(
            "UPDATE scores SET clv_low = NULL, clv_high = NULL WHERE customer_id = ?", [plain[0]]
        )
        query = (
            "SELECT clv, clv_low, clv_high, p_alive, p_alive_low, p_alive_high FROM scores "
            "WHERE customer_id = ?"
        )
        a = ws.con.execute(query, [top[0]]).fetchone()
        b = ws.con.execute(query, [plain[0]]).fetchone()
        currency = ws.config.workspace.currency
    assert a is not None
    assert b is not None
    fmt = Formatter("en", currency)

    def page(customer_id: str) -> str:
        return html.unescape(client_for("vic").get(f"/customers/{customer_id}/").content.decode())

    shown = page(top[0])
    assert f"<dd>{fmt.money(a[0])} ({fmt.money(a[1])}–{fmt.money(a[2])})</dd>" in shown
    assert f"<dd>{fmt.percent(a[3])} ({fmt.percent(a[4])}–{fmt.percent(a[5])})</dd>" in shown
    # no CLV interval: the value alone; P(alive) keeps its own
    shown = page(plain[0])
    assert f"<dd>{fmt.money(b[0])}</dd>" in shown
    assert f"<dd>{fmt.percent(b[3])} ({fmt.percent(b[4])}–{fmt.percent(b[5])})</dd>" in shown


def test_log_a_touch_shows_on_the_timeline() -> None:
    client = client_for("sam")
    r = client.post("/customers/C-00003/touch/", {"kind": "call", "note": "Asked about Q3"})
    assert r.status_code == 302
    page = client.get("/customers/C-00003/").content.decode()
    assert "Asked about Q3" in page


def test_upload_fix_mapping_import_and_see_the_orders() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from regulars.web.models import ImportRecord

    csv = (
        "Invoice,Client,Day,Total\n"
        "W-1,C-00003,2024-12-30,410.00\n"
        "W-2,C-00003,2024-12-31,90.50\n"
        "W-3,C-00004,not a date,12.00\n"
    )
    client = client_for("sam")
    r = client.post(
        "/data/upload/",
        {"file": SimpleUploadedFile("new.csv", csv.encode()), "table": "orders"},
    )
    assert r.status_code == 302
    record = ImportRecord.objects.latest("id")
    preview = client.get(f"/data/{record.pk}/").content.decode()
    assert "Invoice" in preview
    # the automatic mapping misses Day -> order_date; fix it and import
    mapping = {
        "map_order_id": "Invoice",
        "map_customer_id": "Client",
        "map_order_date": "Day",
        "map_revenue": "Total",
        "go": "1",
    }
    r = client.post(f"/data/{record.pk}/import/", mapping)
    assert r.status_code == 302
    record.refresh_from_db()
    assert record.state == "done", record.message
    assert record.rows_imported == 2
    assert record.rows_rejected == 1
    rejects = client.get(f"/data/{record.pk}/rejects/")
    assert rejects.status_code == 200
    assert b"W-3" in b"".join(rejects.streaming_content)
    page = client.get("/customers/C-00003/").content.decode()
    assert "W-1" in page
    assert "W-2" in page
    history = client_for("boss").get("/data/").content.decode()
    assert "new.csv" in history


def test_settings_are_validated_like_regulars_toml() -> None:
    from pathlib import Path

    from django.conf import settings

    path = Path(settings.REGULARS_WORKSPACE) / "regulars.toml"
    before = path.read_text(encoding="utf-8")
    client = client_for("boss")
    r = client.post("/settings/", {"text": before + "\n[workspace2]\nx = 1\n"})
    assert r.status_code == 200
    assert "workspace2" in r.content.decode()
    assert path.read_text(encoding="utf-8") == before
    r = client.post("/settings/", {"text": before})
    assert r.status_code == 302


def test_owner_adds_a_user_and_sees_the_password_once() -> None:
    client = client_for("boss")
    r = client.post("/users/", {"username": "newbie", "role": "viewer", "email": ""})
    page = r.content.decode()
    assert 'id="new-password"' in page
    again = client.get("/users/").content.decode()
    assert 'id="new-password"' not in again


def test_hebrew_is_right_to_left() -> None:
    client = client_for("vic")
    r = client.post("/account/", {"language": "he"})
    assert r.status_code == 302
    page = client.get("/week/").content.decode()
    assert 'dir="rtl"' in page
    assert 'lang="he"' in page
    client.post("/account/", {"language": ""})


def test_browser_language_is_the_default() -> None:
    page = client_for(None).get("/login/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'lang="ru"' in page
    assert "Войти" in page


def test_growth_page_and_chart() -> None:
    client = client_for("vic")
    page = client.get("/growth/?period=year")
    assert page.status_code == 200
    assert "growth-accounting" in page.content.decode()
    chart = client.get("/growth/chart/growth-accounting.svg?period=year")
    assert chart.status_code == 200
    assert chart["Content-Type"] == "image/svg+xml"
    assert b"<svg" in chart.content


def test_a_snooze_into_the_past_is_refused_with_a_message() -> None:
    aid = open_action_ids(12)[9]
    client = client_for("boss")
    r = client.post(f"/week/{aid}/snooze/", {"until": "2000-01-01"}, follow=True)
    assert r.status_code == 200
    assert "must be after today" in r.content.decode()
    assert aid in open_action_ids(50)
