"""Run the app under waitress, a production WSGI server (not Django's development server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["serve"]


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    threads: int = 8,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the configured app (see :func:`regulars.web.setup`) until interrupted."""
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
    shown = host if ":" not in host else f"[{host}]"
    if on_ready is not None:
        on_ready(f"http://{shown}:{server.effective_port}/")
    try:
        server.run()
    finally:
        server.close()
