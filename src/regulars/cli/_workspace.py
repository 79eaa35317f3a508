"""``regulars init`` and ``regulars demo``."""

from __future__ import annotations

from pathlib import Path

import click

from regulars.cli._common import app, console
from regulars.store import Workspace


@app.command("init")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Business name (default: the folder name).")
@click.option("--currency", default="EUR", show_default=True, help="ISO 4217 currency code.")
def init_command(path: Path | None, name: str | None, currency: str) -> None:
    """Create a workspace: a regulars.toml and an embedded DuckDB database.

    PATH defaults to the current directory. An existing regulars.toml is kept.

    \b
    Examples:
        regulars init my-shop --currency USD
        cd my-shop && regulars import orders ~/invoices.xlsx
    """
    ws = Workspace.init(path, name=name, currency=currency)
    console.print(f"Workspace ready at [bold]{ws.path}[/] ({ws.db_path.name}, regulars.toml).")
    console.print("Next: [bold]regulars import orders FILE[/] (CSV, TSV, Excel, Parquet, JSONL).")
    ws.close()
