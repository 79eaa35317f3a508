"""Accounts from the shell: the first owner, add, list, disable, set a password."""

from __future__ import annotations

import secrets
from typing import Any

from regulars.errors import RegularsError

__all__ = [
    "ROLES",
    "create_user",
    "disable_user",
    "ensure_owner",
    "generate_password",
    "list_users",
    "set_password",
]

ROLES = ("owner", "staff", "viewer")


class UserError(RegularsError, ValueError):
    """An account request that cannot be done (unknown user, weak password...)."""


def generate_password() -> str:
    """A random password of 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def _validate(password: str, user: Any = None) -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise UserError(
            "The password is not accepted: " + " ".join(exc.messages) + " Choose a longer, "
            "less common one, or leave it out to get a generated password.",
            hint={"option": "password", "field": "password"},
        ) from None


def _get(username: str) -> Any:
    from django.contrib.auth import get_user_model

    model = get_user_model()
    try:
        return model.objects.get(username=username)
    except model.DoesNotExist:
        known = ", ".join(model.objects.order_by("username").values_list("username", flat=True))
        raise UserError(
            f"No user named {username!r}. Users: {known or '(none)'}. "
            "Add one with `regulars user add NAME`.",
            hint={"field": "username"},
        ) from None


def create_user(
    username: str,
    *,
    role: str = "staff",
    email: str = "",
    language: str = "",
    password: str | None = None,
) -> tuple[Any, str]:
    """Create a user; returns ``(user, password)`` (a generated one when not given)."""
    from django.contrib.auth import get_user_model

    from regulars.web.models import Profile

    if role not in ROLES:
        raise UserError(
            f"Role {role!r} is not valid. Valid roles: {', '.join(ROLES)}.",
            hint={"option": "role", "field": "role", "value": "staff"},
        )
    username = username.strip()
    if not username or len(username) > 150:
        raise UserError("A user name needs 1 to 150 characters.", hint={"field": "username"})
    model = get_user_model()
    if model.objects.filter(username=username).exists():
        raise UserError(
            f"A user named {username!r} already exists. Choose another name, or run "
            f"`regulars user set-password {username}`.",
            hint={"field": "username"},
        )
    secret = password if password is not None else generate_password()
    user = model(username=username, email=email)
    _validate(secret, user)
    user.set_password(secret)
    user.save()
    Profile.objects.create(user=user, role=role, language=language)
    return user, secret


def ensure_owner() -> tuple[str, str] | None:
    """Create the first owner when there is no user; returns ``(name, password)`` once."""
    from django.contrib.auth import get_user_model

    if get_user_model().objects.exists():
        return None
    user, secret = create_user("owner", role="owner")
    return user.username, secret


def list_users() -> list[dict[str, Any]]:
    """Every user: name, role, email, language, active, last login."""
    from django.contrib.auth import get_user_model

    from regulars.web.models import Profile

    rows = []
    for u in get_user_model().objects.order_by("username"):
        profile = Profile.objects.filter(user=u).first()
        rows.append(
            {
                "username": u.username,
                "role": profile.role if profile else "viewer",
                "email": u.email,
                "language": profile.language if profile else "",
                "active": u.is_active,
                "last_login": u.last_login,
            }
        )
    return rows


def disable_user(username: str) -> None:
    """Disable a user: they cannot log in, and their sessions end."""
    from django.contrib.sessions.models import Session

    user = _get(username)
    user.is_active = False
    user.save(update_fields=["is_active"])
    for s in Session.objects.all():
        if str(s.get_decoded().get("_auth_user_id")) == str(user.pk):
            s.delete()


def set_password(username: str, password: str | None = None) -> str:
    """Set a user's password (generated when not given) and end their sessions."""
    user = _get(username)
    secret = password if password is not None else generate_password()
    _validate(secret, user)
    user.set_password(secret)
    user.save()
    from django.contrib.sessions.models import Session

    for s in Session.objects.all():
        if str(s.get_decoded().get("_auth_user_id")) == str(user.pk):
            s.delete()
    return secret
