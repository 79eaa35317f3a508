"""regulars digest against a local SMTP server started by the test."""

from __future__ import annotations

import email
import email.policy
import socket
from pathlib import Path
from typing import Any

import pytest

from .conftest import open_action_ids

pytestmark = [
    pytest.mark.usefixtures("web_app"),
    pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning"),
]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (
                envelope.rcpt_tos,
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Any:
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_one_mail_per_user_with_due_actions_in_their_language(smtp_server: Any) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from regulars.config import load_config
    from regulars.store import Workspace
    from regulars.web import create_user
    from regulars.web._digest import send_digest
    from regulars.web.models import Assignment

    controller, inbox = smtp_server
    model = get_user_model()
    ru, _pw = create_user("ruth", role="staff", email="ruth@example.com", language="ru")
    he, _pw = create_user("hadas", role="staff", email="hadas@example.com", language="he")
    create_user("quiet", role="staff", email="quiet@example.com")  # nothing assigned
    boss = model.objects.get(username="boss")
    boss.email = "boss@example.com"
    boss.save()
    ids = open_action_ids(40)[20:24]
    Assignment.objects.update_or_create(action_id=ids[0], defaults={"user": ru})
    Assignment.objects.update_or_create(action_id=ids[1], defaults={"user": ru})
    Assignment.objects.update_or_create(action_id=ids[2], defaults={"user": he})
    path = Path(settings.REGULARS_WORKSPACE)
    toml = path / "regulars.toml"
    before = toml.read_text(encoding="utf-8")
    toml.write_text(
        before + f'\n[smtp]\nhost = "127.0.0.1"\nport = {controller.port}\nsecurity = "none"\n'
        'from_address = "regulars@example.com"\ndue_within_days = 100000\n',
        encoding="utf-8",
    )
    try:
        assert load_config(toml).smtp.port == controller.port
        with Workspace.open(path) as ws:
            result = send_digest(ws, base_url="http://127.0.0.1:8000")
    finally:
        toml.write_text(before, encoding="utf-8")
    by_rcpt = {tuple(rcpt): msg for rcpt, msg in inbox.messages}
    assert set(result.sent) == {"ruth", "hadas", "boss"}
    assert "quiet" in result.skipped
    assert len(inbox.messages) == 3
    ru_mail = by_rcpt[("ruth@example.com",)]
    assert "действия" in ru_mail["Subject"] or "действий" in ru_mail["Subject"]
    assert ru_mail["Content-Language"] == "ru"
    assert ru_mail.get_content().count("• ") == 2
    he_mail = by_rcpt[("hadas@example.com",)]
    assert he_mail["Content-Language"] == "he"
    assert "השבוע" in he_mail.get_content()
    assert he_mail.get_content().count("• ") == 1
    boss_mail = by_rcpt[("boss@example.com",)]
    assert boss_mail["Content-Language"] == "en"
    assert "http://127.0.0.1:8000/week/" in boss_mail.get_content()
    assert ids[0] not in boss_mail.get_content()


# -- the schedule: [digest] in regulars.toml, sent by `regulars serve` -----------------


def _digest_config(**kw: Any) -> Any:
    from regulars.config import DigestConfig

    return DigestConfig(**kw)


def test_the_slot_is_the_last_weekly_time_within_a_day() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from regulars.web._digest import scheduled_slot

    lj = ZoneInfo("Europe/Ljubljana")
    friday_nine = _digest_config(day="friday", hour=9, timezone="Europe/Ljubljana")
    slot = dt.datetime(2026, 12, 4, 9, tzinfo=lj)  # a Friday, winter time (UTC+1)
    assert slot.weekday() == 4
    assert scheduled_slot(friday_nine, slot) == slot.astimezone(dt.UTC)
    assert scheduled_slot(friday_nine, slot + dt.timedelta(hours=23)) == slot
    assert scheduled_slot(friday_nine, slot + dt.timedelta(hours=25)) is None
    assert scheduled_slot(friday_nine, slot - dt.timedelta(minutes=1)) is None
    # the hour is wall-clock time: 9:00 in summer is 7:00 UTC, in winter 8:00 UTC
    summer = dt.datetime(2026, 7, 3, 9, 30, tzinfo=lj)
    assert scheduled_slot(friday_nine, summer) == dt.datetime(2026, 7, 3, 7, tzinfo=dt.UTC)
    assert scheduled_slot(friday_nine, slot).hour == 8


def _write_schedule(path: Path, port: int, now: Any) -> str:
    """Add [smtp] (the test's server) and a [digest] due at ``now``; return the old text."""
    import json

    from regulars.config import WEEKDAYS

    toml = path / "regulars.toml"
    before = toml.read_text(encoding="utf-8")
    toml.write_text(
        before + f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        'from_address = "regulars@example.com"\ndue_within_days = 100000\n'
        f"\n[digest]\nenabled = true\nday = {json.dumps(WEEKDAYS[now.weekday()])}\n"
        f'hour = {now.hour}\ntimezone = "UTC"\nurl = "https://regulars.example.com"\n',
        encoding="utf-8",
    )
    return before


def test_a_due_schedule_sends_each_user_one_mail_once(smtp_server: Any) -> None:
    import datetime as dt

    from django.conf import settings
    from django.utils import translation
    from django.utils.translation import ngettext

    from regulars.store import Workspace
    from regulars.web import create_user
    from regulars.web._digest import DigestScheduler, run_scheduled_digest, send_digest
    from regulars.web.models import Assignment, AuditEvent, DigestRun

    controller, inbox = smtp_server
    mila, _pw = create_user("mila", role="staff", email="mila@example.com", language="sl")
    Assignment.objects.update_or_create(action_id=open_action_ids(40)[-1], defaults={"user": mila})
    path = Path(settings.REGULARS_WORKSPACE)
    now = dt.datetime.now(dt.UTC)
    before = _write_schedule(path, controller.port, now)
    try:
        with Workspace.open(path) as ws:
            expected = send_digest(ws, dry_run=True).sent  # who has due actions and an email
        run = DigestScheduler().tick()  # what `regulars serve` does once a minute
        assert run is not None
        assert run.state == "sent", run.detail
        first = list(inbox.messages)
        assert run_scheduled_digest() is None  # the next tick: this slot is taken
        assert DigestScheduler().tick() is None  # a restarted server: still taken
    finally:
        (path / "regulars.toml").write_text(before, encoding="utf-8")
    assert "mila" in expected
    assert len(first) == len(expected) == run.recipients
    assert len(inbox.messages) == len(first)
    recipients = sorted(rcpt for rcpt, _msg in first)
    assert len(set(map(tuple, recipients))) == len(recipients)  # one mail per user
    mail = next(msg for rcpt, msg in first if rcpt == ["mila@example.com"])
    assert mail["Content-Language"] == "sl"
    with translation.override("sl"):
        subject = ngettext(
            "regulars: %(n)s action due this week", "regulars: %(n)s actions due this week", 1
        ) % {"n": 1}
    assert mail["Subject"] == subject != "regulars: 1 action due this week"
    assert "https://regulars.example.com/week/" in mail.get_content()
    assert DigestRun.objects.filter(slot=run.slot).count() == 1
    events = AuditEvent.objects.filter(event="digest_sent", detail__contains="mila")
    assert events.count() == 1


def test_racing_threads_send_a_slot_once(smtp_server: Any) -> None:
    import datetime as dt
    import threading

    from django.conf import settings
    from django.db import connections

    from regulars.web._digest import run_scheduled_digest
    from regulars.web.models import DigestRun

    controller, inbox = smtp_server
    path = Path(settings.REGULARS_WORKSPACE)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)  # next week's slot: unclaimed
    before = _write_schedule(path, controller.port, now)
    barrier = threading.Barrier(4)
    runs: list[Any] = []

    def tick() -> None:
        barrier.wait()
        try:
            runs.append(run_scheduled_digest(now))
        finally:
            connections.close_all()

    try:
        threads = [threading.Thread(target=tick) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        (path / "regulars.toml").write_text(before, encoding="utf-8")
    claimed = [r for r in runs if r is not None]
    assert len(runs) == 4
    assert len(claimed) == 1
    assert claimed[0].state == "sent"
    assert DigestRun.objects.filter(slot=claimed[0].slot).count() == 1
    assert len(inbox.messages) == claimed[0].recipients > 0


def test_the_owner_sets_the_schedule_in_settings() -> None:
    from django.conf import settings

    from regulars.config import load_config
    from regulars.web.models import AuditEvent

    from .conftest import client_for

    toml = Path(settings.REGULARS_WORKSPACE) / "regulars.toml"
    before = toml.read_text(encoding="utf-8")
    client = client_for("boss")
    try:
        page = client.get("/settings/")
        assert b'id="digest-form"' in page.content
        form = {"enabled": "on", "day": "thursday", "hour": "18", "timezone": "Asia/Jerusalem"}
        response = client.post("/settings/digest/", form)
        assert response.status_code == 302
        digest = load_config(toml).digest
        assert (digest.enabled, digest.day, digest.hour, digest.timezone) == (
            True,
            "thursday",
            18,
            "Asia/Jerusalem",
        )
        text = toml.read_text(encoding="utf-8")
        assert text.startswith(before.rstrip("\n"))  # the rest of the file, comments too
        assert AuditEvent.objects.filter(event="digest_schedule_changed").exists()
        # switched off again: one [digest] table, not two
        client.post("/settings/digest/", {**form, "enabled": ""})
        assert not load_config(toml).digest.enabled
        assert toml.read_text(encoding="utf-8").count("[digest]") == 1
        # validated like the file: a bad time zone is refused and nothing is written
        saved = toml.read_text(encoding="utf-8")
        bad = client.post("/settings/digest/", {**form, "timezone": "Mars/Olympus"})
        assert bad.status_code == 200
        assert "is not a time zone" in bad.content.decode()
        assert toml.read_text(encoding="utf-8") == saved
    finally:
        toml.write_text(before, encoding="utf-8")
