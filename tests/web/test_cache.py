"""Pages kept in memory: per-user bits and CSRF tokens stay right, writes show at once."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import client_for, open_action_ids

pytestmark = [
    pytest.mark.usefixtures("web_app"),
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
]


def _tokens(page: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page))


def _unmasked(response: Any) -> str:
    """The page with its CSRF tokens (masked anew for each request) blanked."""
    assert response.status_code == 200
    return re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1", response.content.decode())


def _customer_ids(n: int) -> list[str]:
    from django.conf import settings

    from regulars.store import Workspace

    with Workspace.open(settings.REGULARS_WORKSPACE) as ws:
        rows = ws.con.execute(
            "SELECT customer_id FROM customers ORDER BY customer_id LIMIT ?", [n]
        ).fetchall()
    return [r[0] for r in rows]


def _li(page: str, action_id: str) -> str:
    start = page.index(f'id="action-{action_id}"')
    return page[start : page.index("</li>", start)]


def test_a_cached_page_carries_each_sessions_own_csrf_token() -> None:
    from django.conf import settings
    from django.middleware.csrf import _unmask_cipher_token

    aid = open_action_ids(20)[15]
    boss, other = client_for("boss", csrf=True), client_for("boss", csrf=True)
    first = boss.get("/week/").content.decode()
    second = other.get("/week/").content.decode()
    tokens = _tokens(first)
    assert len(tokens) >= 1
    secret = boss.cookies[settings.CSRF_COOKIE_NAME].value
    assert {_unmask_cipher_token(t) for t in tokens} == {secret}  # every form's
    other_secret = other.cookies[settings.CSRF_COOKIE_NAME].value
    assert other_secret != secret
    assert {_unmask_cipher_token(t) for t in _tokens(second)} == {other_secret}
    # the token of the cached page works, and the other session's does not
    token = _tokens(_li(first, aid)).pop()
    refused = boss.post(
        f"/week/{aid}/dismiss/", {"csrfmiddlewaretoken": next(iter(_tokens(second)))}
    )
    assert refused.status_code == 403
    ok = boss.post(f"/week/{aid}/dismiss/", {"csrfmiddlewaretoken": token, "reason": "x"})
    assert ok.status_code == 302


def test_each_role_and_staff_member_sees_their_own_buttons() -> None:
    from django.contrib.auth import get_user_model

    from regulars.web.models import Assignment

    aid = open_action_ids(20)[16]
    sam = get_user_model().objects.get(username="sam")
    for name in ("boss", "sam", "tess", "vic"):  # fill the cache before the assignment
        client_for(name).get("/week/")
    Assignment.objects.update_or_create(action_id=aid, defaults={"user": sam})
    try:
        owner = _li(client_for("boss").get("/week/").content.decode(), aid)
        mine = _li(client_for("sam").get("/week/").content.decode(), aid)
        theirs = _li(client_for("tess").get("/week/").content.decode(), aid)
        viewer = _li(client_for("vic").get("/week/").content.decode(), aid)
    finally:
        Assignment.objects.filter(action_id=aid).delete()
    assert '<span class="assignee">sam</span>' in owner
    assert '<span class="assignee">sam</span>' in theirs
    assert "/done/" in owner
    assert "/done/" in mine
    assert "/done/" not in theirs  # assigned to another staff member
    assert "/done/" not in viewer
    after = _li(client_for("tess").get("/week/").content.decode(), aid)
    assert "/done/" in after  # unassigned again: tess may work it


def test_a_write_shows_at_once() -> None:
    aid = open_action_ids(20)[17]
    client = client_for("sam")
    assert f'id="action-{aid}"' in client.get("/week/?show=1000").content.decode()
    client.post(f"/week/{aid}/dismiss/", {"reason": "done elsewhere"})
    assert f'id="action-{aid}"' not in client.get("/week/?show=1000").content.decode()


def test_warm_pages_do_not_open_the_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    from regulars.web.views import customers, week

    cid = _customer_ids(1)[0]
    client = client_for("vic")
    cold = {url: _unmasked(client.get(url)) for url in ("/week/", f"/customers/{cid}/")}

    def refuse(**_: Any) -> Any:
        raise AssertionError("the workspace was opened for a cached page")

    monkeypatch.setattr(week, "open_ws", refuse)
    monkeypatch.setattr(customers, "open_ws", refuse)
    for url, body in cold.items():
        assert _unmasked(client.get(url)) == body


def test_prepared_customer_queries_equal_the_plain_ones() -> None:
    from django.conf import settings

    from regulars import service
    from regulars.service._customers import CustomerQueries
    from regulars.store import Workspace

    with Workspace.open(settings.REGULARS_WORKSPACE) as ws:
        queries = CustomerQueries(ws)  # with scores and actions, as the app has them
        for cid in _customer_ids(12):
            assert queries.detail(ws, cid) == service.customer_detail(ws, cid)
            assert queries.timeline(ws, cid) == service.customer_timeline(ws, cid)


def test_warm_up_fills_the_cache_for_the_first_visit(monkeypatch: pytest.MonkeyPatch) -> None:
    from regulars.web import _cache
    from regulars.web._server import warm_up
    from regulars.web.views import customers, week

    _cache.clear()
    done = warm_up()
    assert {"en /week/", "en /growth/", "en /customers/"} <= set(done)
    cid = next(p for p in done if p.startswith("en /customers/C"))[len("en /customers/") : -1]

    def refuse(**_: Any) -> Any:
        raise AssertionError("the workspace was opened for a warmed page")

    monkeypatch.setattr(week, "open_ws", refuse)
    monkeypatch.setattr(customers, "open_ws", refuse)
    client = client_for("boss")
    for url in ("/week/", "/customers/", f"/customers/{cid}/"):
        assert client.get(url).status_code == 200


def test_a_changed_file_recomputes_and_drops_the_older_results() -> None:
    import os
    from pathlib import Path

    from django.conf import settings

    from regulars.web import _cache

    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert _cache.cached(("probe",), compute) == 1
    assert _cache.cached(("probe",), compute) == 1  # from memory
    toml = Path(settings.REGULARS_WORKSPACE) / "regulars.toml"
    st = toml.stat()
    os.utime(toml, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert _cache.cached(("probe",), compute) == 2
    assert all(state == _cache.fingerprint() for _, state in _cache._store)
