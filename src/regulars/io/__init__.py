"""Importers and exporters: files in, tables out.

``import_file`` reads CSV, TSV, Excel, Parquet and JSON Lines into a contract
table, all or nothing, keyed by natural id so re-importing changes nothing.
``export_table`` writes any workspace table back out.  ``PRESETS`` holds the
column maps of common exports (Stripe, Shopify, CDNOW).  The rules are in
``docs/data.md``.
"""

from __future__ import annotations

from regulars.io._export import EXPORT_FORMATS, export_table, safe_cell
from regulars.io._formats import FORMATS as IMPORT_FORMATS
from regulars.io._import import IMPORTABLE_TABLES, ImportResult, import_file
from regulars.io._presets import PRESETS

__all__ = [
    "EXPORT_FORMATS",
    "IMPORTABLE_TABLES",
    "IMPORT_FORMATS",
    "PRESETS",
    "ImportResult",
    "export_table",
    "import_file",
    "safe_cell",
]
