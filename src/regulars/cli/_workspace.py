"""``regulars init`` and ``regulars demo``."""

from __future__ import annotations

from pathlib import Path

import click

from regulars._text import visible
from regulars.cli._common import app, console, err_console, esc
from regulars.store import Workspace


@app.command("init")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Business name (default: the folder name).")
@click.option("--currency", default="EUR", show_default=True, help="ISO 4217 currency code.")
@click.option(
    "--kind",
    type=click.Choice(("studio", "shop", "subscription")),
    default="studio",
    show_default=True,
    help="The kind of business: sets which playbooks run and their defaults "
    "(shop: no package offers or money-back guarantee, postage and fees are not products).",
)
def init_command(path: Path | None, name: str | None, currency: str, kind: str) -> None:
    """Create a workspace: a regulars.toml and an embedded DuckDB database.

    PATH defaults to the current directory. An existing regulars.toml is kept.

    \b
    Examples:
        regulars init my-shop --kind shop --currency USD
        cd my-shop && regulars import orders ~/invoices.xlsx
    """
    ws = Workspace.init(path, name=name, currency=currency, kind=kind)
    console.print(f"Workspace ready at [bold]{esc(ws.path)}[/] ({ws.db_path.name}, regulars.toml).")
    console.print("Next: [bold]regulars import orders FILE[/] (CSV, TSV, Excel, Parquet, JSONL).")
    ws.close()


@app.command("demo")
@click.argument("path", required=False, default="demo-workspace", type=click.Path(path_type=Path))
@click.option("--customers", default=2000, show_default=True, help="Customers to simulate.")
@click.option("--years", default=4, show_default=True, help="Years of history.")
@click.option("--seed", default=0, show_default=True, help="Random seed (same seed, same book).")
@click.option(
    "--force",
    is_flag=True,
    help="PATH holds a regulars workspace: delete its database, config and report and "
    "build a fresh demo there (asks first; other files are kept).",
)
@click.option("--yes", "-y", is_flag=True, help="With --force: do not ask.")
def demo_command(path: Path, customers: int, years: int, seed: int, force: bool, yes: bool) -> None:
    """Build a demo workspace from a simulated studio and write its report.

    Simulates a service business (channels with spend, referrals, upsell, churn,
    win-backs, subscriptions, packages, refunds, touches), fits the customer models,
    computes this week's actions and writes PATH/report.html.

    PATH must be a new or empty folder: the demo never writes into existing data.
    With --force it replaces a regulars workspace at PATH, all its data included.

    \b
    Examples:
        regulars demo
        regulars demo /tmp/shop --customers 5000 --years 3
        regulars metrics growth-sources -w demo-workspace --period year
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from regulars.demo import STEPS, build_demo, demo_target

    if force and demo_target(path) == "workspace" and not yes:
        click.confirm(
            f"Delete the workspace at {visible(path)} (its database, regulars.toml and "
            "report.html) and build a demo there?",
            abort=True,
            err=True,
        )

    with Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(STEPS[0], total=len(STEPS))
        seen: list[str] = []

        def on_step(name: str) -> None:
            if seen:
                progress.advance(task)
            seen.append(name)
            progress.update(task, description=name)

        summary = build_demo(
            path, n_customers=customers, years=years, seed=seed, force=force, on_step=on_step
        )
        progress.advance(task)
    money = f"{summary.revenue:,.2f} {summary.currency}"
    console.print(
        f"Demo workspace: [bold]{esc(summary.workspace)}[/]\n"
        f"  {summary.customers:,} customers, {summary.orders:,} orders, {money} revenue "
        f"({summary.first_order} to {summary.last_order})\n"
        f"  {summary.open_actions:,} actions waiting this week "
        f"(see: regulars actions -w {esc(path)})\n"
        f"Report: [bold]{esc(summary.report)}[/]\n"
        f"  open it in a browser, for example: xdg-open {esc(summary.report)}\n"
        f"Done in {summary.seconds:.1f} s."
    )
