"""Roles, checked on every view: owner > staff > viewer."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

__all__ = ["can_change_action", "require", "role_context", "role_of"]

_RANK = {"viewer": 0, "staff": 1, "owner": 2}


def role_of(user: Any) -> str:
    """The user's role (``viewer`` when unknown; nothing for anonymous users)."""
    if not getattr(user, "is_authenticated", False):
        return ""
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else "viewer"


def require(role: str = "viewer") -> Callable[[Callable[..., HttpResponse]], Callable[..., Any]]:
    """Log in first, then need at least ``role``: a lower role gets 403."""

    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., Any]:
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if _RANK.get(role_of(request.user), -1) < _RANK[role]:
                raise PermissionDenied(f"This page needs the {role} role.")
            return view(request, *args, **kwargs)

        inner.required_role = role  # type: ignore[attr-defined]
        return inner

    return wrap


def can_change_action(user: Any, assignee_id: int | None) -> bool:
    """Owners change any action; staff the unassigned ones and their own; viewers none."""
    role = role_of(user)
    if role == "owner":
        return True
    return role == "staff" and (assignee_id is None or assignee_id == user.pk)


def role_context(request: HttpRequest) -> dict[str, Any]:
    """``role``, ``can_edit`` and ``is_owner`` for every template."""
    role = role_of(getattr(request, "user", None))
    return {"role": role, "can_edit": role in ("owner", "staff"), "is_owner": role == "owner"}
