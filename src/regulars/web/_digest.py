"""The weekly digest: each user's due actions by email, in the user's language.

Owners get the actions assigned to them and the unassigned ones; staff get the
actions assigned to them; viewers get none.  Users without an email address or
without due actions get no mail.  The mail server is ``[smtp]`` in regulars.toml.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from regulars.errors import ConfigError

__all__ = ["DigestResult", "send_digest"]


@dataclass
class DigestResult:
    sent: list[str]
    skipped: list[str]
    dry_run: bool = False


def _connection(smtp: Any) -> Any:
    from django.core.mail import get_connection

    if not smtp.host or not smtp.from_address:
        raise ConfigError(
            "The digest needs a mail server: set [smtp] host and from_address in "
            "regulars.toml (see docs/web.md, 'Weekly digest').",
            hint={"option": "smtp", "field": "host"},
        )
    password = os.environ.get(smtp.password_env, "") if smtp.password_env else ""
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=smtp.host,
        port=smtp.port,
        username=smtp.username or None,
        password=password or None,
        use_tls=smtp.security == "starttls",
        use_ssl=smtp.security == "ssl",
        timeout=30,
        fail_silently=False,
    )


def _body(rows: list[dict[str, Any]], fmt: Any, base_url: str) -> str:
    from django.utils.translation import gettext as _

    lines = [_("Your actions due this week:"), ""]
    for r in rows:
        due = fmt.date(r["due"]) if r["due"] else ""
        lines.append(f"• {r['name']} — {r['playbook']} — {fmt.money(r['value_at_stake'])} {due}")
        lines.append(f"  {fmt.reason(r)}")
    if base_url:
        lines += ["", _("Open This week: %(url)s") % {"url": base_url.rstrip("/") + "/week/"}]
    return "\n".join(lines) + "\n"


def send_digest(ws: Any, *, base_url: str = "", dry_run: bool = False) -> DigestResult:
    """Email every user their due actions; returns who got mail and who did not."""
    from django.contrib.auth import get_user_model
    from django.core.mail import EmailMessage
    from django.utils import translation
    from django.utils.translation import ngettext

    from regulars.service import due_actions
    from regulars.web._format import Formatter
    from regulars.web.models import Assignment

    smtp = ws.config.smtp
    rows = due_actions(ws, within_days=smtp.due_within_days)
    owner_of = dict(Assignment.objects.values_list("action_id", "user_id"))
    currency = ws.config.workspace.currency
    default_lang = ws.config.workspace.locale or "en"
    messages: list[Any] = []
    sent, skipped = [], []
    for user in get_user_model().objects.filter(is_active=True).order_by("username"):
        profile = getattr(user, "profile", None)
        role = profile.role if profile is not None else "viewer"
        mine = [
            r
            for r in rows
            if owner_of.get(r["action_id"]) == user.pk
            or (role == "owner" and r["action_id"] not in owner_of)
        ]
        if not user.email or not mine or role == "viewer":
            skipped.append(user.username)
            continue
        lang = (profile.language if profile is not None else "") or default_lang
        with translation.override(lang):
            fmt = Formatter(lang, currency)
            subject = ngettext(
                "regulars: %(n)s action due this week",
                "regulars: %(n)s actions due this week",
                len(mine),
            ) % {"n": len(mine)}
            body = _body(mine, fmt, base_url)
        messages.append(
            EmailMessage(
                subject, body, smtp.from_address, [user.email], headers={"Content-Language": lang}
            )
        )
        sent.append(user.username)
    if messages and not dry_run:
        connection = _connection(smtp)
        connection.send_messages(messages)
    return DigestResult(sent=sent, skipped=skipped, dry_run=dry_run)
