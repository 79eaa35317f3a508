"""Configure Django for one workspace, migrate the app database, build the WSGI app."""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path
from typing import Any

from regulars.web._settings import app_dir, build_settings

__all__ = ["compile_catalogues", "setup", "wsgi_app"]

_configured: dict[str, Any] = {}


def compile_catalogues(target: Path) -> None:
    """Compile the app's ``.po`` catalogues into ``target/<lang>/LC_MESSAGES/django.mo``.

    The catalogues ship as text; Babel compiles them when the app starts, so no
    build step (and no gettext tools) are needed.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = resources.files("regulars.web").joinpath("locale")
    for entry in root.iterdir():
        po = entry.joinpath("LC_MESSAGES", "django.po")
        if not po.is_file():
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=entry.name, domain="django")
        buf = io.BytesIO()
        write_mo(buf, catalog)
        out = target / entry.name / "LC_MESSAGES"
        out.mkdir(parents=True, exist_ok=True)
        (out / "django.mo").write_bytes(buf.getvalue())


def setup(
    workspace: str | Path,
    *,
    database_url: str | None = None,
    https: bool = False,
    allowed_hosts: list[str] | None = None,
    migrate: bool = True,
) -> None:
    """Configure Django for ``workspace`` (once per process) and migrate its database."""
    import django
    from django.conf import settings

    from regulars.store import Workspace

    ws = Workspace.open(workspace)  # a clear error when it is not a workspace
    root = ws.path.resolve()
    ws.close()
    if settings.configured:
        if _configured.get("workspace") != root:
            settings.REGULARS_WORKSPACE = str(root)
            _configured["workspace"] = root
        return
    compile_catalogues(app_dir(root) / "locale")
    settings.configure(
        **build_settings(root, database_url=database_url, https=https, allowed_hosts=allowed_hosts)
    )
    django.setup()
    _configured["workspace"] = root
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def wsgi_app() -> Any:
    """The WSGI application (call :func:`setup` first)."""
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()
