"""Owner pages: settings (regulars.toml), users and roles, the audit log."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dates import WEEKDAYS as WEEKDAY_NAMES
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regulars.config import CONFIG_FILE, WEEKDAYS, DigestConfig, parse_config
from regulars.errors import RegularsError
from regulars.web._access import require
from regulars.web._audit import audit
from regulars.web._settings import LANGUAGES
from regulars.web._users import ROLES, create_user
from regulars.web.models import AuditEvent, DigestRun, Profile

__all__ = ["audit_log", "digest_schedule", "settings_page", "user_edit", "users"]


class SettingsForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}))


def _config_path() -> Path:
    return Path(settings.REGULARS_WORKSPACE) / CONFIG_FILE


class DigestForm(forms.Form):
    """``[digest]`` of regulars.toml: when the app sends the weekly digest."""

    enabled = forms.BooleanField(required=False)
    day = forms.ChoiceField(choices=[(d, WEEKDAY_NAMES[i]) for i, d in enumerate(WEEKDAYS)])
    hour = forms.TypedChoiceField(choices=[(h, f"{h:02d}:00") for h in range(24)], coerce=int)
    timezone = forms.CharField(max_length=64)
    url = forms.URLField(required=False, max_length=300, assume_scheme="https")


def _write_config(text: str) -> None:
    """Replace regulars.toml atomically (the text was validated by the caller)."""
    path = _config_path()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def with_digest(text: str, values: dict[str, object]) -> str:
    """``text`` with its ``[digest]`` table replaced by (or appended as) ``values``.

    The rest of the file, comments included, is kept as it is.
    """
    lines = text.splitlines()
    kept: list[str] = []
    inside = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped.split("#", 1)[0].strip() == "[digest]"
        if not inside:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    block = ["", "[digest]"] + [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(kept + block) + "\n"


def _digest_initial() -> dict[str, object]:
    try:
        digest = parse_config(_config_path().read_text(encoding="utf-8")).digest
    except RegularsError:
        digest = DigestConfig()
    return {
        "enabled": digest.enabled,
        "day": digest.day,
        "hour": digest.hour,
        "timezone": digest.timezone,
        "url": digest.url,
    }


def _settings_response(
    request: HttpRequest, form: SettingsForm, digest_form: DigestForm
) -> HttpResponse:
    return render(
        request,
        "regulars_web/settings.html",
        {"form": form, "digest_form": digest_form, "last_digest": DigestRun.objects.first()},
    )


@require("owner")
def settings_page(request: HttpRequest) -> HttpResponse:
    """Edit regulars.toml, validated exactly as the command line validates it."""
    path = _config_path()
    form = SettingsForm(initial={"text": path.read_text(encoding="utf-8")})
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            text = form.cleaned_data["text"].replace("\r\n", "\n")
            try:
                parse_config(text)
            except RegularsError as exc:
                form.add_error("text", str(exc))
            else:
                _write_config(text)
                audit(request, "settings_changed", f"{len(text)} characters")
                messages.success(request, _("Settings saved."))
                return redirect("settings")
    return _settings_response(request, form, DigestForm(initial=_digest_initial()))


@require("owner")
@require_POST
def digest_schedule(request: HttpRequest) -> HttpResponse:
    """Set the weekly digest's day, hour and on/off: ``[digest]`` in regulars.toml."""
    path = _config_path()
    digest_form = DigestForm(request.POST)
    if digest_form.is_valid():
        values = {k: digest_form.cleaned_data[k] for k in ("enabled", "day", "hour", "timezone")}
        if digest_form.cleaned_data["url"]:
            values["url"] = digest_form.cleaned_data["url"]
        text = with_digest(path.read_text(encoding="utf-8"), values)
        try:
            parse_config(text)
        except RegularsError as exc:
            digest_form.add_error(None, str(exc))
        else:
            _write_config(text)
            state = "on" if values["enabled"] else "off"
            detail = f"{state}: {values['day']} {values['hour']:02d}:00 {values['timezone']}"
            audit(request, "digest_schedule_changed", detail)
            messages.success(request, _("Digest schedule saved."))
            return redirect("settings")
    form = SettingsForm(initial={"text": path.read_text(encoding="utf-8")})
    return _settings_response(request, form, digest_form)


class UserForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES], initial="staff")
    language = forms.ChoiceField(choices=[("", "—"), *LANGUAGES], required=False)


@require("owner")
def users(request: HttpRequest) -> HttpResponse:
    form = UserForm()
    created = None
    if request.method == "POST":
        form = UserForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                user, password = create_user(
                    d["username"], role=d["role"], email=d["email"], language=d["language"]
                )
            except RegularsError as exc:
                form.add_error("username", str(exc))
            else:
                audit(request, "user_added", f"{user.username} ({d['role']})")
                created = {"username": user.username, "password": password}
                form = UserForm()
    people = get_user_model().objects.select_related("profile").order_by("username")
    return render(
        request,
        "regulars_web/users.html",
        {"form": form, "people": people, "created": created, "roles": ROLES},
    )


@require("owner")
def user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    """Change a user's role or disable them (POST); GET goes back to the list."""
    user = get_object_or_404(get_user_model(), pk=user_id)
    if request.method != "POST":
        return redirect("users")
    if user.pk == request.user.pk:
        messages.error(request, _("You cannot change your own role or disable yourself."))
        return redirect("users")
    role = request.POST.get("role")
    profile, _created = Profile.objects.get_or_create(user=user)
    if role in ROLES:
        profile.role = role
        profile.save(update_fields=["role"])
        audit(request, "role_changed", f"{user.username} -> {role}")
    if "active" in request.POST:
        user.is_active = request.POST["active"] == "1"
        user.save(update_fields=["is_active"])
        audit(request, "user_enabled" if user.is_active else "user_disabled", user.username)
    messages.success(request, _("Saved."))
    return redirect("users")


@require("owner")
def audit_log(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.all()
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "regulars_web/audit.html", {"page": page})
