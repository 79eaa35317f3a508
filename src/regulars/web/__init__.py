"""The regulars web app: the owner's weekly workspace, with logins.

Only this package imports Django.  Views are thin: they call :mod:`regulars.service`
and render what it returns.  :func:`setup` configures Django for one workspace;
:func:`wsgi_app` is the application a production server runs (``regulars serve``).
See ``docs/web.md``.
"""

from __future__ import annotations

from regulars.web._setup import setup, wsgi_app
from regulars.web._users import (
    create_user,
    disable_user,
    ensure_owner,
    list_users,
    set_password,
)

__all__ = [
    "create_user",
    "disable_user",
    "ensure_owner",
    "list_users",
    "set_password",
    "setup",
    "wsgi_app",
]
