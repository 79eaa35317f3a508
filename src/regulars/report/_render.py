"""Turn report sections into one self-contained HTML file.

The page is a Jinja2 template (autoescaped).  The Vega, Vega-Lite and vega-embed
JavaScript comes from ``vl_convert.javascript_bundle()`` and is inlined, like the
CSS and the chart specs, so the file makes no request to any host.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from regulars.report._i18n import Translator
from regulars.report._model import Section

__all__ = ["ReportDocument", "embed_options", "render_html", "vega_javascript"]


@dataclass
class ReportDocument:
    """Everything the page shows, already translated and formatted."""

    lang: str
    title: str
    business: str
    subtitle: str
    footer: str
    version: str
    sections: list[Section] = field(default_factory=list)
    #: ``rtl`` for a language written right to left (the page's ``dir``).
    direction: str = "ltr"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "regulars"


@cache
def vega_javascript() -> str:
    """The bundled Vega + Vega-Lite + vega-embed JavaScript (about 0.9 MB).

    ``vl_convert`` builds it in a few seconds; the result is kept in memory and in
    ``$XDG_CACHE_HOME/regulars`` (keyed by the vl-convert version), so later reports
    start at once.  An unwritable cache folder only costs the rebuild.
    """
    import vl_convert

    version = importlib.metadata.version("vl-convert-python")
    path = _cache_dir() / f"vega-bundle-{version}.js"
    try:
        js = path.read_text(encoding="utf-8")
    except OSError:
        js = vl_convert.javascript_bundle()  # type: ignore[call-arg]
        # Defensive: the bundle sits inside a <script> element.
        js = js.replace("</script", "<\\/script")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(js, encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass
    return js


def _template_text(name: str) -> str:
    return resources.files("regulars.report").joinpath("templates", name).read_text("utf-8")


def tojson_script(value: Any) -> Markup:
    """JSON safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def embed_options(t: Translator) -> dict[str, Any]:
    """vega-embed options: SVG, no action menu (it links to a web editor), the locale."""
    return {
        "actions": False,
        "renderer": "svg",
        "formatLocale": t.d3_format_locale(),
        "tooltip": {"theme": "light"},
    }


def _environment(t: Translator) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("regulars.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        t._, t.ngettext, newstyle=True
    )
    env.filters["tojson_script"] = tojson_script
    return env


def render_html(doc: ReportDocument, t: Translator) -> str:
    """The report page for ``doc``, with every script, style and chart inlined."""
    env = _environment(t)
    template = env.get_template("report.html.j2")
    return template.render(
        doc=doc,
        css=Markup(_template_text("report.css")),
        init_js=Markup(_template_text("report.js")),
        vega_js=Markup(vega_javascript()),
        embed_options=embed_options(t),
    )
