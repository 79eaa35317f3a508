"""Session limits: the idle timeout is renewed without a database write per request."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from .conftest import PASSWORDS, client_for

pytestmark = [
    pytest.mark.usefixtures("web_app"),
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
]


def _logged_in() -> tuple[Any, str]:
    from django.conf import settings

    client = client_for(None)
    client.get("/login/")
    response = client.post("/login/", {"username": "vic", "password": PASSWORDS["vic"]})
    assert response.status_code == 302
    return client, client.cookies[settings.SESSION_COOKIE_NAME].value


def _row(key: str) -> Any:
    from django.contrib.sessions.models import Session

    return Session.objects.get(session_key=key)


def _edit(key: str, **values: float) -> None:
    """Change the stored session data of ``key`` (as if time had passed)."""
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore(session_key=key)
    for name, value in values.items():
        store[name] = value
    store.save()


def test_a_request_renews_the_idle_timeout_at_most_once_a_minute() -> None:
    from django.conf import settings

    client, key = _logged_in()
    assert client.get("/customers/").status_code == 200
    first = _row(key).expire_date
    now = dt.datetime.now(dt.UTC)
    idle = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert now + idle - dt.timedelta(seconds=30) < first <= now + idle
    # a request right after: no session write, the expiry stays
    assert client.get("/customers/").status_code == 200
    assert _row(key).expire_date == first
    # last renewed over a minute ago: this request renews it
    _edit(key, regulars_seen_at=time.time() - settings.REGULARS_SESSION_RENEW - 1)
    stale = _row(key).expire_date
    time.sleep(0.01)
    assert client.get("/customers/").status_code == 200
    assert _row(key).expire_date > stale


def test_an_idle_session_ends() -> None:
    client, key = _logged_in()
    assert client.get("/customers/").status_code == 200
    row = _row(key)
    row.expire_date = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    row.save()
    response = client.get("/customers/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_a_session_ends_after_the_absolute_timeout_even_when_busy() -> None:
    from django.conf import settings

    client, key = _logged_in()
    assert client.get("/customers/").status_code == 200
    _edit(key, regulars_login_at=time.time() - settings.REGULARS_ABSOLUTE_TIMEOUT - 1)
    assert client.get("/customers/").status_code == 302
    assert client.get("/week/").status_code == 302
