"""Security of the web app through Django's test client (issue 12, "Security tests")."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import PASSWORDS, XSS_NAME, XSS_NOTE, client_for, open_action_ids

pytestmark = [
    pytest.mark.usefixtures("web_app"),
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
]


def _patterns() -> list[Any]:
    from regulars.web.urls import urlpatterns

    return list(urlpatterns)


def _url(pattern: Any) -> str:
    """A concrete URL for ``pattern``: every converter filled with a sample value."""
    from django.urls import reverse

    converters = getattr(pattern.pattern, "converters", {})
    kwargs = {}
    for name, conv in converters.items():
        kwargs[name] = 1 if conv.regex == "[0-9]+" else "x1"
    if pattern.name == "static":
        return "/static/regulars_web/app.css"
    return reverse(pattern.name, kwargs=kwargs)


def test_every_page_needs_a_login() -> None:
    from regulars.web.urls import PUBLIC

    client = client_for(None)
    checked = 0
    for pattern in _patterns():
        if pattern.name in PUBLIC:
            continue
        url = _url(pattern)
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (url, response.status_code)
            assert response["Location"].startswith("/login/"), url
        checked += 1
    assert checked == len(_patterns()) - len(PUBLIC)


def test_every_post_without_csrf_token_is_refused() -> None:
    client = client_for("boss", csrf=True)
    for pattern in _patterns():
        if pattern.name == "static":
            continue
        response = client.post(_url(pattern), {"x": "1"})
        assert response.status_code == 403, (pattern.name, response.status_code)


def test_login_page_posts_need_csrf_too() -> None:
    client = client_for(None, csrf=True)
    response = client.post("/login/", {"username": "boss", "password": PASSWORDS["boss"]})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "url", ["/settings/", "/settings/digest/", "/users/", "/audit/", "/users/1/"]
)
def test_staff_gets_403_on_owner_pages(url: str) -> None:
    client = client_for("sam")
    assert client.get(url).status_code == 403
    assert client.post(url, {"text": "x"}).status_code == 403


def test_viewer_changes_nothing() -> None:
    from regulars.web.models import Assignment

    aid = open_action_ids(1)[0]
    # Other tests (the browser's week) may have assigned this action already: the
    # viewer's posts must leave whatever is there as it was.
    before = list(Assignment.objects.filter(action_id=aid).values_list("user_id", flat=True))
    client = client_for("vic")
    posts = {
        f"/week/{aid}/done/": {"outcome": "accepted"},
        f"/week/{aid}/snooze/": {"until": "2031-01-01"},
        f"/week/{aid}/dismiss/": {},
        f"/week/{aid}/assign/": {"user": "1"},
        "/customers/C-00002/touch/": {"kind": "call", "note": "hi"},
        "/data/upload/": {},
        "/data/1/import/": {"go": "1"},
        "/models/refit/": {},
        "/settings/": {"text": ""},
        "/settings/digest/": {"enabled": "on", "day": "monday", "hour": "7", "timezone": "UTC"},
        "/users/": {"username": "mallory", "role": "owner"},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url
    assert aid in open_action_ids(50)
    after = list(Assignment.objects.filter(action_id=aid).values_list("user_id", flat=True))
    assert after == before
    page = client.get("/week/")
    assert page.status_code == 200
    assert b'action="/week/' not in page.content  # no forms to change anything


def test_staff_cannot_change_an_action_assigned_to_someone_else() -> None:
    from django.contrib.auth import get_user_model

    from regulars.web.models import Assignment

    aid = open_action_ids(3)[2]
    tess = get_user_model().objects.get(username="tess")
    Assignment.objects.update_or_create(action_id=aid, defaults={"user": tess})
    client = client_for("sam")
    assert client.post(f"/week/{aid}/done/", {"outcome": "accepted"}).status_code == 403
    assert client.post(f"/week/{aid}/assign/", {"user": ""}).status_code == 403
    assert aid in open_action_ids(50)


def test_changed_ids_never_show_another_object() -> None:
    from django.contrib.auth import get_user_model

    from regulars.web.models import ImportRecord

    tess = get_user_model().objects.get(username="tess")
    other = ImportRecord.objects.create(user=tess, file_name="secret.csv", stored_name="none.csv")
    client = client_for("sam")
    for url in (f"/data/{other.pk}/", f"/data/{other.pk}/status/", f"/data/{other.pk}/rejects/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"secret.csv" not in response.content
    assert client.get("/customers/NOPE-1/").status_code == 404
    assert client.post("/week/A-000000000000/done/", {}).status_code == 404
    # held-out actions exist in the table but are never shown
    from django.conf import settings

    from regulars.store import Workspace

    with Workspace.open(settings.REGULARS_WORKSPACE) as ws:
        held = ws.con.execute(
            "SELECT action_id FROM actions WHERE status = 'held_out' LIMIT 1"
        ).fetchone()
    if held is not None:
        assert client.post(f"/week/{held[0]}/done/", {}).status_code == 404


def test_eleventh_wrong_password_in_a_minute_is_refused() -> None:
    from axes.utils import reset

    from regulars.web import create_user

    create_user("lock-me", role="viewer", password="right-pass-4471")
    client = client_for(None)
    codes = []
    for _ in range(10):
        codes.append(client.post("/login/", {"username": "lock-me", "password": "wrong-x"}))
    # the 11th: even the right password is refused
    eleventh = client.post("/login/", {"username": "lock-me", "password": "right-pass-4471"})
    assert eleventh.status_code in (403, 429)
    assert "_auth_user_id" not in client.session
    assert all(r.status_code in (200, 403, 429) for r in codes)
    from regulars.web.models import AuditEvent

    assert AuditEvent.objects.filter(event="login_failed", username="lock-me").count() >= 10
    reset(username="lock-me")


def test_session_id_changes_at_login_and_dies_at_logout() -> None:
    from django.conf import settings
    from django.contrib.sessions.models import Session

    client = client_for(None)
    client.get("/login/")
    session = client.session
    session["probe"] = 1
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    response = client.post("/login/", {"username": "sam", "password": PASSWORDS["sam"]})
    assert response.status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert len(after) >= 32  # Django session keys: 32 chars of [a-z0-9], > 128 bits
    assert client.get("/week/").status_code == 200
    client.post("/logout/")
    assert not Session.objects.filter(session_key=after).exists()
    # replaying the old cookie does not log in
    replay = client_for(None)
    replay.cookies[settings.SESSION_COOKIE_NAME] = after
    assert replay.get("/week/").status_code == 302


def test_cookies_and_headers() -> None:
    from django.conf import settings

    client = client_for(None)
    client.get("/login/")
    response = client.post("/login/", {"username": "sam", "password": PASSWORDS["sam"]})
    morsel = response.cookies[settings.SESSION_COOKIE_NAME]
    assert morsel["httponly"]
    assert morsel["samesite"] == "Lax"
    page = client.get("/week/")
    csp = page["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"
    assert page["X-Frame-Options"] == "DENY"


def test_no_state_change_on_get() -> None:
    aid = open_action_ids(1)[0]
    client = client_for("boss")
    for suffix in ("done", "snooze", "dismiss", "assign"):
        assert client.get(f"/week/{aid}/{suffix}/").status_code == 405
    assert aid in open_action_ids(50)


def test_user_data_is_escaped() -> None:
    from django.conf import settings

    from regulars.store import Workspace

    with Workspace.open(settings.REGULARS_WORKSPACE) as ws:
        row = ws.con.execute("SELECT customer_id FROM customers WHERE name = ?", [XSS_NAME])
        found = row.fetchone()
    assert found is not None
    client = client_for("boss")
    page = client.get(f"/customers/{found[0]}/").content.decode()
    assert XSS_NAME not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert XSS_NOTE not in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    listing = client.get("/customers/?q=script").content.decode()
    assert XSS_NAME not in listing
    assert not re.search(r"<script>alert", listing)


def test_upload_checks_content_not_just_the_extension(tmp_path: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for("sam")
    fake = SimpleUploadedFile("orders.xlsx", b"order_id,customer_id\n1,2\n")
    response = client.post("/data/upload/", {"file": fake, "table": "orders"}, follow=True)
    assert "not an Excel" in response.content.decode()
    binary = SimpleUploadedFile("orders.csv", b"\x00\x01\x02binary")
    response = client.post("/data/upload/", {"file": binary, "table": "orders"}, follow=True)
    assert "not a text file" in response.content.decode()
    exe = SimpleUploadedFile("tool.exe", b"MZ")
    response = client.post("/data/upload/", {"file": exe, "table": "orders"}, follow=True)
    assert "cannot be imported" in response.content.decode()


def test_upload_size_limit() -> None:
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for("sam")
    old = settings.REGULARS_MAX_UPLOAD_BYTES
    settings.REGULARS_MAX_UPLOAD_BYTES = 10
    try:
        big = SimpleUploadedFile("orders.csv", b"a,b\n" * 20)
        response = client.post("/data/upload/", {"file": big, "table": "orders"}, follow=True)
    finally:
        settings.REGULARS_MAX_UPLOAD_BYTES = old
    assert "larger than the upload limit" in response.content.decode()


def test_passwords_are_argon2id_and_validated() -> None:
    from django.contrib.auth import get_user_model

    from regulars.errors import RegularsError
    from regulars.web import create_user

    assert get_user_model().objects.get(username="sam").password.startswith("argon2$argon2id$")
    with pytest.raises(RegularsError, match="too short"):
        create_user("shorty", password="a1b2c3")
    with pytest.raises(RegularsError, match="too common"):
        create_user("commoner", password="password123")
