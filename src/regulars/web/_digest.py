"""The weekly digest: each user's due actions by email, in the user's language.

Owners get the actions assigned to them and the unassigned ones; staff get the
actions assigned to them; viewers get none.  Users without an email address or
without due actions get no mail.  The mail server is ``[smtp]`` in regulars.toml.

``regulars serve`` also sends it by itself at the time set in ``[digest]`` (Settings
page): :class:`DigestScheduler` checks once a minute and :func:`run_scheduled_digest`
sends each weekly slot at most once.  The slot is claimed by inserting a row with a
unique slot time into the app database, so a restart, a second thread or a second
server on the same app database never sends it again.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from regulars.errors import ConfigError, RegularsError

if TYPE_CHECKING:
    from regulars.config import DigestConfig
    from regulars.web.models import DigestRun

__all__ = [
    "CATCH_UP",
    "DigestResult",
    "DigestScheduler",
    "run_scheduled_digest",
    "scheduled_slot",
    "send_digest",
]

#: A slot missed while the app was down is still sent if the app runs within this time.
CATCH_UP = dt.timedelta(hours=24)


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


def scheduled_slot(digest: DigestConfig, now: dt.datetime) -> dt.datetime | None:
    """The last weekly slot at or before ``now``, in UTC, if it is at most
    :data:`CATCH_UP` old; otherwise None (the next slot is still to come).

    The slot is the ``hour`` o'clock of ``day`` in ``timezone`` (wall-clock time, so
    a change to or from summer time keeps the hour).
    """
    from zoneinfo import ZoneInfo

    from regulars.config import WEEKDAYS

    tz = ZoneInfo(digest.timezone)
    local = now.astimezone(tz)
    back = (local.weekday() - WEEKDAYS.index(digest.day)) % 7
    day = local.date() - dt.timedelta(days=back)
    slot = dt.datetime.combine(day, dt.time(digest.hour), tzinfo=tz)
    if slot > local:
        slot = dt.datetime.combine(day - dt.timedelta(days=7), dt.time(digest.hour), tzinfo=tz)
    if local - slot > CATCH_UP:
        return None
    return slot.astimezone(dt.UTC)


def run_scheduled_digest(
    now: dt.datetime | None = None, *, default_url: str = ""
) -> DigestRun | None:
    """Send the digest of the current slot unless it is not due or already claimed.

    Returns the claimed :class:`~regulars.web.models.DigestRun` (``sent`` or
    ``failed``), or None when there was nothing to do.  A failed send is recorded and
    audit-logged, not retried: a retry could mail some users twice.
    """
    from pathlib import Path

    from django.conf import settings
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from regulars.config import CONFIG_FILE, load_config
    from regulars.web._audit import audit
    from regulars.web._ws import open_ws
    from regulars.web.models import DigestRun

    try:
        config = load_config(Path(settings.REGULARS_WORKSPACE) / CONFIG_FILE)
    except RegularsError:
        return None  # a broken regulars.toml: the Settings page and the CLI say why
    if not config.digest.enabled:
        return None
    slot = scheduled_slot(config.digest, now or timezone.now())
    if slot is None or DigestRun.objects.filter(slot=slot).exists():
        return None
    try:
        with transaction.atomic():
            run = DigestRun.objects.create(slot=slot)
    except IntegrityError:
        return None  # another thread or process claimed this slot first
    when = slot.strftime("%Y-%m-%d %H:%M UTC")
    try:
        with open_ws(retry_seconds=60) as ws:
            result = send_digest(ws, base_url=config.digest.url or default_url)
    except (RegularsError, OSError) as exc:  # smtplib errors are OSErrors
        run.state, run.detail = "failed", str(exc)[:2000]
        run.save(update_fields=["state", "detail"])
        audit(None, "digest_failed", f"{when}: {exc}")
        return run
    run.state, run.recipients = "sent", len(result.sent)
    run.detail = ", ".join(result.sent)
    run.save(update_fields=["state", "recipients", "detail"])
    audit(None, "digest_sent", f"{when}: {len(result.sent)} mail(s): {run.detail or 'nobody'}")
    return run


class DigestScheduler:
    """A daemon thread that calls :func:`run_scheduled_digest` every ``interval`` seconds."""

    def __init__(self, *, interval: float = 60.0, default_url: str = "") -> None:
        self.interval = interval
        self.default_url = default_url
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DigestScheduler:
        self._thread = threading.Thread(target=self._run, name="regulars-digest", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def tick(self) -> DigestRun | None:
        from django.db import connections

        try:
            return run_scheduled_digest(default_url=self.default_url)
        finally:
            connections.close_all()  # this thread's connections only

    def _run(self) -> None:
        import logging

        log = logging.getLogger("regulars.digest")
        while True:
            try:
                self.tick()
            except Exception:  # the scheduler outlives any one failure (a locked database)
                log.exception("The scheduled digest failed; trying again in a minute.")
            if self._stop.wait(self.interval):
                return
