"""The audit log: one row per login, failed login, import, outcome or settings change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

__all__ = ["audit"]


def _address(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def audit(request: HttpRequest | None, event: str, detail: str = "", *, user: Any = None) -> None:
    """Record ``event`` for the request's user (or ``user``)."""
    from regulars.web.models import AuditEvent

    who = user if user is not None else getattr(request, "user", None)
    if who is not None and not who.is_authenticated:
        who = None
    AuditEvent.objects.create(
        user=who,
        username=who.get_username() if who is not None else "",
        event=event,
        detail=detail[:2000],
        address=_address(request),
    )


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    audit(request, "login", user=user)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit(request, "logout", user=user)


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    from regulars.web.models import AuditEvent

    AuditEvent.objects.create(
        username=str(credentials.get("username", ""))[:150],
        event="login_failed",
        address=_address(request),
    )
