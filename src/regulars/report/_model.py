"""What a report is made of: sections, figures, charts, tables and missing-data notes.

Section builders return these plain objects; the renderer turns them into HTML and
``regulars chart`` turns one chart into PNG or SVG.  Nothing here knows about Ibis or
about HTML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from regulars.errors import RegularsError

__all__ = [
    "Chart",
    "Figure",
    "Missing",
    "MissingDataError",
    "Section",
    "TableView",
]


class MissingDataError(RegularsError, LookupError):
    """A report part needs data the workspace does not have.

    Raised by the report's data access (never by a bug) and caught by the section
    builders, which then say what data would fill the part and how to import it.
    """

    def __init__(self, message: str, *, missing: Missing) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Missing:
    """A note that replaces a chart or table whose data are missing.

    ``what`` says what data would fill the part, ``commands`` how to get them (for
    example ``regulars import spend spend.csv``).
    """

    what: str
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chart:
    """One Vega-Lite chart.  ``name`` is stable and used by ``regulars chart NAME``."""

    name: str
    title: str
    spec: dict[str, Any]
    wide: bool = False


@dataclass(frozen=True)
class TableView:
    """A small table, already formatted for the report's language."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Figure:
    """A headline figure: its value now, and the change against the previous period."""

    label: str
    value: str
    change: str = ""
    direction: int = 0  # +1 better, -1 worse, 0 flat or unknown
    detail: str = ""


@dataclass
class Section:
    """One numbered section of the report.

    ``takeaway`` is one sentence computed from the data.  A section whose data are
    all missing has no charts, tables or figures, only ``missing`` notes.
    """

    id: str
    title: str
    takeaway: str = ""
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[TableView] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when the section shows no data at all (only missing-data notes)."""
        return not (self.figures or self.charts or self.tables)
