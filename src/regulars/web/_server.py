"""Run the app under waitress, a production WSGI server (not Django's development server)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["serve", "warm_up"]

#: The pages computed once when the server starts, so that the first visitors get them
#: from memory (see :func:`warm_up`).
WARM_PAGES = ("/week/", "/growth/", "/customers/")

_log = logging.getLogger(__name__)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    threads: int = 8,
    warm: bool = True,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the configured app (see :func:`regulars.web.setup`) until interrupted.

    With ``warm``, a background thread computes the main pages once as soon as the
    server listens (:func:`warm_up`); requests that come meanwhile wait for the same
    computation instead of starting their own.
    """
    from waitress.server import create_server

    from regulars.web._setup import wsgi_app

    server: Any = create_server(
        wsgi_app(),
        host=host,
        port=port,
        threads=threads,
        ident="regulars",
        clear_untrusted_proxy_headers=True,
        max_request_body_size=60 * 1024 * 1024,
    )
    if warm:
        threading.Thread(target=warm_up, name="regulars-warm-up", daemon=True).start()
    shown = host if ":" not in host else f"[{host}]"
    if on_ready is not None:
        on_ready(f"http://{shown}:{server.effective_port}/")
    try:
        server.run()
    finally:
        server.close()


def warm_up() -> list[str]:
    """Render :data:`WARM_PAGES` and the top customer's page once, into the page cache.

    They are rendered as the first active owner, in the default language and in each
    language a user chose, through the views themselves (so with the same cache keys).
    Returns the paths rendered; a page that fails (a busy workspace, no data yet) is
    skipped: its first visitor computes it as usual.
    """
    import re

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.http import HttpRequest
    from django.urls import resolve
    from django.utils import translation

    owner = (
        get_user_model()
        .objects.filter(is_active=True, profile__role="owner")
        .order_by("pk")
        .first()
    )
    if owner is None:
        return []
    from regulars.web.models import Profile

    chosen = Profile.objects.filter(user__is_active=True).exclude(language="")
    languages = dict.fromkeys([settings.LANGUAGE_CODE, *chosen.values_list("language", flat=True)])
    done: list[str] = []
    for lang in languages:
        paths = list(WARM_PAGES)
        with translation.override(lang):
            while paths:
                path = paths.pop(0)
                request = HttpRequest()
                request.method = "GET"
                request.path = request.path_info = path
                request.META = {"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80"}
                request.user = owner
                request.LANGUAGE_CODE = lang
                try:
                    match = resolve(path)
                    response = match.func(request, *match.args, **match.kwargs)
                except Exception:  # the first visitor computes it and sees the error
                    _log.debug("warm-up of %s failed", path, exc_info=True)
                    continue
                if response.status_code != 200:
                    continue
                done.append(f"{lang} {path}")
                if path == "/customers/":  # and the first customer: compiles its queries
                    first = re.search(rb'href="(/customers/[^/"?]+/)"', response.content)
                    if first:
                        paths.append(first.group(1).decode())
    return done
