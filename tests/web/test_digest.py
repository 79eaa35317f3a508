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
