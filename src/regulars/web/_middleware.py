"""Session limits and the user's language."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import translation

__all__ = ["SessionLimitsMiddleware", "UserLanguageMiddleware"]

_LOGIN_AT = "regulars_login_at"
_SEEN_AT = "regulars_seen_at"


class SessionLimitsMiddleware:
    """End a session this long after its login, whatever the activity (absolute timeout).

    The idle timeout is Django's own: a session expires ``SESSION_COOKIE_AGE`` seconds
    after it was last saved.  Saving on every request would write the session database
    on every page view, so a request marks the session for saving only when it was last
    renewed ``REGULARS_SESSION_RENEW`` seconds ago or more: an idle session then ends
    at most that much *earlier* than the idle timeout, never later.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            started = request.session.get(_LOGIN_AT)
            now = time.time()
            if started is None:
                request.session[_LOGIN_AT] = now
            elif now - float(started) > settings.REGULARS_ABSOLUTE_TIMEOUT:
                logout(request)
                return self.get_response(request)
            seen = request.session.get(_SEEN_AT)
            if seen is None or now - float(seen) >= settings.REGULARS_SESSION_RENEW:
                request.session[_SEEN_AT] = now  # modified: saved, and its expiry renewed
        return self.get_response(request)


class UserLanguageMiddleware:
    """Speak the user's chosen language; without a choice, the browser's (LocaleMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        profile = getattr(user, "profile", None) if user.is_authenticated else None
        if profile is not None and profile.language:
            translation.activate(profile.language)
            request.LANGUAGE_CODE = profile.language
        return self.get_response(request)


class ErrorPagesMiddleware:
    """A RegularsError becomes a clear page: 404 unknown object, 503 busy, else 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        from django.shortcuts import render

        from regulars.errors import NotFoundError, RegularsError
        from regulars.web._ws import WorkspaceBusy

        if not isinstance(exc, RegularsError):
            return None
        status = (
            404
            if isinstance(exc, NotFoundError)
            else 503
            if isinstance(exc, WorkspaceBusy)
            else 400
        )
        response = render(request, "regulars_web/error.html", {"message": str(exc)}, status=status)
        if status == 503:
            response["Retry-After"] = "10"
        return response
