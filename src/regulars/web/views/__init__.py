"""Views: thin functions over :mod:`regulars.service`, each behind its role check."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regulars.web._access import require
from regulars.web._audit import audit
from regulars.web._settings import LANGUAGES

__all__ = ["LoginView", "account", "csrf_failure", "home", "logout_view"]


class LoginView(auth_views.LoginView):
    """Django's login: the session id is renewed at login (``cycle_key``)."""

    template_name = "regulars_web/login.html"
    redirect_authenticated_user = True


@require("viewer")
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Log out (POST only): the session is flushed and its id is dead."""
    logout(request)
    return redirect("login")


@require("viewer")
def home(request: HttpRequest) -> HttpResponse:
    return redirect("week")


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=[("", "—"), *LANGUAGES], required=False)


@require("viewer")
def account(request: HttpRequest) -> HttpResponse:
    """The user's own language and password."""
    profile = request.user.profile
    lang_form = LanguageForm(initial={"language": profile.language})
    pw_form = PasswordChangeForm(request.user)
    if request.method == "POST":
        if "language" in request.POST:
            lang_form = LanguageForm(request.POST)
            if lang_form.is_valid():
                profile.language = lang_form.cleaned_data["language"]
                profile.save(update_fields=["language"])
                if profile.language:
                    translation.activate(profile.language)
                messages.success(request, _("Language saved."))
                return redirect("account")
        else:
            pw_form = PasswordChangeForm(request.user, request.POST)
            if pw_form.is_valid():
                user = pw_form.save()
                update_session_auth_hash(request, user)
                audit(request, "password_changed")
                messages.success(request, _("Password changed."))
                return redirect("account")
    return render(
        request, "regulars_web/account.html", {"lang_form": lang_form, "pw_form": pw_form}
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """403 for a request without a valid CSRF token (nothing was changed)."""
    context: dict[str, Any] = {
        "message": _(
            "This form expired or came from another site, so nothing was changed. "
            "Go back, reload the page and try again."
        )
    }
    return render(request, "regulars_web/error.html", context, status=403)
