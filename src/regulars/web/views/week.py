"""This week: the ranked action queue, and done / snooze / dismiss / assign."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regulars import service
from regulars.actions import OUTCOMES, PLAYBOOKS
from regulars.errors import ActionError
from regulars.web._access import can_change_action, require, role_of
from regulars.web._audit import audit
from regulars.web._cache import cached, cached_html
from regulars.web._format import Formatter, back
from regulars.web._ws import open_ws
from regulars.web.models import Assignment

__all__ = ["assign", "dismiss", "done", "snooze", "week"]

#: Actions shown at first; "Show more" adds as many again.
PAGE = 50


class DoneForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("", "—"), *[(o, o) for o in OUTCOMES]], required=False)
    note = forms.CharField(max_length=1000, required=False)


class SnoozeForm(forms.Form):
    until = forms.DateField()
    reason = forms.CharField(max_length=1000, required=False)


class DismissForm(forms.Form):
    reason = forms.CharField(max_length=1000, required=False)


def _assignees() -> dict[str, Any]:
    return {a.action_id: a.user for a in Assignment.objects.select_related("user")}


def _draft(row: dict[str, Any], email: str | None) -> dict[str, str]:
    text = row.get("message") or ""
    subject = row.get("name") or ""
    mailto = ""
    if email:
        mailto = f"mailto:{quote(email, safe='@')}?body={quote(text)}"
    return {"text": text, "mailto": mailto, "subject": subject}


@require("viewer")
def week(request: HttpRequest) -> HttpResponse:
    """The open actions, ranked, filterable by playbook and assignee.

    The list is rendered once per filter, language, role and state of the
    assignments and users, and kept until the workspace changes (see
    :func:`~regulars.web._cache.cached_html`).
    """
    playbook = request.GET.get("playbook", "")
    if playbook not in PLAYBOOKS:
        playbook = ""
    assignee = request.GET.get("assignee", "")
    if assignee not in ("me", "none") and not assignee.isdigit():
        assignee = ""
    try:
        shown = min(max(PAGE, int(request.GET.get("show", PAGE))), 1000)
    except ValueError:
        shown = PAGE
    user = request.user
    assigned = _assignees()
    users = list(
        get_user_model()
        .objects.filter(is_active=True, profile__role__in=["owner", "staff"])
        .order_by("username")
    )
    role = role_of(user)
    snooze_default = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    key = (
        playbook,
        assignee,
        user.pk if assignee == "me" or role == "staff" else None,  # "me"; staff's own actions
        shown,
        role,
        tuple(sorted((a, u.pk, u.username) for a, u in assigned.items())),
        tuple((u.pk, u.username) for u in users),
        snooze_default,
    )

    def context() -> dict[str, Any]:
        return _week_context(user, playbook, assignee, shown, assigned, users) | {
            "snooze_default": snooze_default
        }

    body = cached_html(request, key, "regulars_web/week_body.html", context)
    return render(request, "regulars_web/week.html", {"body": body})


def _week_context(
    user: Any,
    playbook: str,
    assignee: str,
    shown: int,
    assigned: dict[str, Any],
    users: list[Any],
) -> dict[str, Any]:
    ids: set[str] | None = None
    if assignee == "me":
        ids = {a for a, u in assigned.items() if u.pk == user.pk}
    elif assignee.isdigit():
        ids = {a for a, u in assigned.items() if str(u.pk) == assignee}
    key = ("week", playbook, None if ids is None else frozenset(ids), shown)
    rows, emails, currency = cached(key, lambda: _queue(playbook, ids, shown + 1))
    if assignee == "none":
        rows = [r for r in rows if r["action_id"] not in assigned]
    more = len(rows) > shown
    rows = rows[:shown]
    fmt = Formatter(translation.get_language() or "en", currency)
    items = []
    for r in rows:
        who = assigned.get(r["action_id"])
        items.append(
            {
                **r,
                "reason_text": fmt.reason(r),
                "value_text": fmt.money(r["value_at_stake"]),
                "due_text": fmt.date(r["due"]) if r["due"] else "",
                "assignee": who,
                "can_change": can_change_action(user, who.pk if who else None),
                "draft": _draft(r, emails.get(r["customer_id"])),
            }
        )
    return {
        "items": items,
        "more": more,
        "show_more": shown + PAGE,
        "playbooks": PLAYBOOKS,
        "playbook": playbook,
        "assignee": assignee,
        "users": users,
        "outcomes": OUTCOMES,
    }


def _queue(
    playbook: str, ids: set[str] | None, limit: int
) -> tuple[list[dict[str, Any]], dict[str, str], str]:
    with open_ws() as ws:
        rows = service.week_queue(ws, playbook=playbook or None, action_ids=ids, limit=limit)
        emails = _emails(ws, [r["customer_id"] for r in rows])
        return rows, emails, ws.config.workspace.currency


def _emails(ws: Any, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    from regulars.engine import table

    c = table(ws, "customers")  # the engine's customers: a Parquet folder's too
    rows = c.filter(c.customer_id.isin(ids)).select("customer_id", "email").to_pyarrow()
    return {r["customer_id"]: r["email"] for r in rows.to_pylist() if r["email"]}


def _check(request: HttpRequest, action_id: str) -> None:
    """403 unless the user may change this action (404 for an unknown id, from the service)."""
    with open_ws() as ws:
        service.action_row(ws, action_id)
    a = Assignment.objects.filter(action_id=action_id).first()
    if not can_change_action(request.user, a.user_id if a else None):
        raise PermissionDenied(_("You cannot change this action."))


def _record(request: HttpRequest, action_id: str, status: str, **kw: Any) -> HttpResponse:
    _check(request, action_id)
    try:
        with open_ws() as ws:
            service.record_action(ws, action_id, status, **kw)
    except ActionError as exc:  # already done, a date in the past...: say so on the page
        messages.error(request, str(exc))
        return redirect(back(request, "week"))
    audit(request, f"action_{status}", json.dumps({"action_id": action_id, **kw}, default=str))
    messages.success(request, _("Saved."))
    return redirect(back(request, "week"))


@require("staff")
@require_POST
def done(request: HttpRequest, action_id: str) -> HttpResponse:
    form = DoneForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    d = form.cleaned_data
    return _record(request, action_id, "done", outcome=d["outcome"] or None, note=d["note"] or None)


@require("staff")
@require_POST
def snooze(request: HttpRequest, action_id: str) -> HttpResponse:
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    d = form.cleaned_data
    return _record(request, action_id, "snoozed", until=d["until"], note=d["reason"] or None)


@require("staff")
@require_POST
def dismiss(request: HttpRequest, action_id: str) -> HttpResponse:
    form = DismissForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    return _record(request, action_id, "dismissed", note=form.cleaned_data["reason"] or None)


@require("staff")
@require_POST
def assign(request: HttpRequest, action_id: str) -> HttpResponse:
    _check(request, action_id)
    raw = request.POST.get("user", "")
    if not raw:
        Assignment.objects.filter(action_id=action_id).delete()
        audit(request, "action_unassigned", action_id)
    else:
        model = get_user_model()
        user = model.objects.filter(
            pk=raw if raw.isdigit() else -1,
            is_active=True,
            profile__role__in=["owner", "staff"],
        ).first()
        if user is None:
            messages.error(request, _("Choose a staff member or the owner."))
            return redirect("week")
        Assignment.objects.update_or_create(action_id=action_id, defaults={"user": user})
        audit(request, "action_assigned", f"{action_id} -> {user.username}")
    messages.success(request, _("Saved."))
    return redirect(back(request, "week"))


def _invalid(request: HttpRequest, form: forms.Form) -> HttpResponse:
    errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
    messages.error(request, errors)
    return redirect("week")
