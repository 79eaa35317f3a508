"""``regulars fit`` and ``regulars score``: the customer models on the workspace."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from regulars.cli._common import (
    app,
    cell,
    check_output_path,
    console,
    err_console,
    esc,
    open_workspace,
    workspace_option,
)

if TYPE_CHECKING:
    from regulars.models._workspace import FitResult

# The model library (Ibis, SciPy) is imported when a command runs, not at CLI start-up.
from regulars.service._models import MODEL_NAMES, SPEND_MODELS
from regulars.service._models import PURCHASE_MODELS as _MODELS
from regulars.service._models import TIME_UNITS as UNIT_NAMES

#: --model choices: a model, or "auto" (chosen by the holdout).
PURCHASE_MODELS = ("auto", *_MODELS)


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A rich spinner whose text each library step updates (on stderr)."""
    if not enabled:
        yield None
        return
    with err_console.status("Starting...") as status:

        def update(text: str) -> None:
            status.update(f"{text}...")

        yield update


def _holdout_value(value: str | None) -> str | dt.date | None:
    if value is None or value in ("auto", "none"):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (expected YYYY-MM-DD, 'auto' or 'none').",
            param_hint="--holdout",
        ) from None


def _fmt(value: float, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:,.{digits}g}" if abs(value) < 1e4 else f"{value:,.1f}"


def _params_table(model: Any, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("parameter")
    table.add_column("estimate", justify="right")
    table.add_column("std. error", justify="right")
    table.add_column("95% interval", justify="right")
    summary = model.summary()
    for name, row in summary.iterrows():
        table.add_row(
            cell(name),
            _fmt(row["estimate"]),
            _fmt(row["std_error"], 3),
            f"{_fmt(row['lower_95'], 3)} to {_fmt(row['upper_95'], 3)}",
        )
    return table


def _pct(value: float) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.1%}"


def _render_selection(fit: FitResult) -> None:
    sel = fit.selection
    if sel is None:
        return
    how = (
        f"fitted on the orders up to {sel.calibration_end}, compared on the holdout"
        if sel.method == "holdout"
        else "compared by log-likelihood on the whole history (no holdout)"
    )
    table = Table(title=f"Model comparison ({how})", title_justify="left")
    for col in ("model", "total error", "per-customer error", "tracking error", "score"):
        table.add_column(col, justify="left" if col == "model" else "right")
    table.add_column("diagnostics")
    for c in sel.candidates:
        if c.failed is not None:
            status = f"fit failed: {c.failed}"
        elif c.problems:
            status = f"{len(c.problems)} problem{'s' if len(c.problems) > 1 else ''}"
        else:
            status = "pass"
        if c.regularised and c.failed is None:
            status += " (regularised)"
        table.add_row(
            ("* " if c.chosen else "  ") + MODEL_NAMES.get(c.model, c.model),
            _pct(c.aggregate_error),
            _pct(c.customer_error),
            _pct(c.tracking_error),
            "-" if not math.isfinite(c.score) else f"{c.score:,.2f}",
            esc(status),
            style="bold" if c.chosen else None,
        )
    console.print(table)
    console.print(f"Chosen: {esc(sel.reason)}")


def _render_diagnostics(fit: FitResult) -> None:
    """Each problem of the fit, with what to do, and the lasting notes (regularisation)."""
    for diag in fit.diagnostics:
        for problem in diag.problems:
            console.print(f"[bold red]Warning:[/] {esc(problem.message)}")
            console.print(f"  Fix: {esc(problem.fix)}")
        for note in diag.notes:
            console.print(f"[bold yellow]Warning:[/] {esc(note)}")
    if fit.diagnostics and fit.trustworthy:
        console.print("[green]Diagnostics: no problem found; the fit can be trusted.[/]")


def _render_fit(fit: FitResult) -> None:
    unit = UNIT_NAMES.get(fit.time_unit, fit.time_unit)
    _render_selection(fit)
    console.print(
        f"[bold]{MODEL_NAMES[fit.model]}[/] fitted on {fit.n_customers:,} customers "
        f"(history to {fit.observation_end}, time in {unit})."
    )
    console.print(_params_table(fit.purchase, "Purchase model"))
    if hasattr(fit.purchase, "k_"):
        console.print(
            f"Regularity: k = {fit.purchase.k_} (purchases every k-th event of a Poisson "
            "process; k = 1 is irregular buying, chosen by likelihood)."
        )
    console.print(f"Log-likelihood: {fit.purchase.log_likelihood_:,.2f}")
    if fit.spend is not None:
        console.print(
            _params_table(
                fit.spend,
                f"{MODEL_NAMES.get(str(fit.spend_model), fit.spend_model)} spend model "
                f"({fit.spend.n_customers_:,.0f} repeat buyers)",
            )
        )
        console.print(f"Log-likelihood: {fit.spend.log_likelihood_:,.2f}")
    check = fit.holdout
    if check is not None:
        console.print(
            f"\n[bold]Holdout check[/]: fitted up to {check.calibration_end}, predicted "
            f"{check.calibration_end + dt.timedelta(days=1)} to {check.observation_end} "
            f"({check.duration:.1f} {unit}) for {check.customers:,} customers."
        )
        table = Table(title_justify="left")
        table.add_column("repeat purchases before")
        table.add_column("customers", justify="right")
        table.add_column("actual in holdout (mean)", justify="right")
        table.add_column("predicted (mean)", justify="right")
        for r in check.bins.itertuples(index=False):
            table.add_row(
                str(r.frequency), f"{r.customers:,}", f"{r.actual:.3f}", f"{r.predicted:.3f}"
            )
        table.add_row(
            "all",
            f"{check.customers:,}",
            f"{check.actual_total:,.0f} in total",
            f"{check.predicted_total:,.0f} in total",
            style="bold",
        )
        console.print(table)
        error = "-" if not math.isfinite(check.error) else f"{check.error:+.1%}"
        mape = "-" if not math.isfinite(check.bin_mape) else f"{check.bin_mape:.1%}"
        console.print(f"Tracking error of the total: {error}; mean error per bin: {mape}.")
        colour = {"good": "green", "fair": "yellow", "poor": "red"}[check.quality]
        console.print(f"[bold {colour}]{esc(check.verdict)}[/]")
        _render_baseline(check)
    _render_diagnostics(fit)
    for note in fit.notes:
        console.print(f"[yellow]Note:[/] {esc(note, multiline=True)}")
    console.print(
        f"\nStored as fit {esc(fit.fit_id)} in the model_fits table. "
        "Next: [bold]regulars score[/] to score every customer."
    )


def _render_baseline(check: Any) -> None:
    """The naive "past rate" forecast's errors next to the model's."""
    table = getattr(check, "baselines", None)
    if table is None or len(table) < 2:
        return
    rows = table.set_index("forecast")
    model, naive = rows.loc["model"], rows.loc["past rate"]
    better = naive["mae"] > model["mae"]
    console.print(
        "Naive forecast (each customer repeats their past rate): "
        f"{naive['mae']:.3f} purchases off per customer and {naive['bias']:+.1%} in total, "
        f"against the model's {model['mae']:.3f} and {model['bias']:+.1%}: "
        + (
            f"the model is {naive['mae'] / model['mae']:.2f}x as accurate per customer."
            if better
            else "[bold yellow]the model does not beat it here.[/]"
        )
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(type(value).__name__)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@app.command("fit")
@click.option(
    "--model",
    type=click.Choice(PURCHASE_MODELS),
    help="Purchase model (default: [models] purchase_model, auto). auto fits BG/NBD, "
    "MBG/NBD, Pareto/NBD and MBG/CNBD-k (regular buyers) on a calibration period and "
    "keeps the one that predicts the holdout best and passes its diagnostics. bgbb counts "
    "one buying opportunity per time unit (week by default).",
)
@click.option(
    "--spend",
    type=click.Choice([*SPEND_MODELS, "none"]),
    help="Spend model for CLV (default: [models] spend_model, gamma-gamma).",
)
@click.option(
    "--holdout",
    metavar="DATE|auto|none",
    help="Check the model: fit up to DATE and compare its predictions with the orders "
    "after it. auto (the default) holds out the last 30% of the history.",
)
@click.option(
    "--penalizer",
    type=click.FloatRange(0, 10),
    help="L2 penalty of every fit, holdout fits included (default: [models] penalizer, 0). "
    "Try 0.01 when a fit does not converge.",
)
@click.option(
    "--covariates",
    metavar="COLUMNS",
    help="Also fit the model with these customers columns as covariates (comma-separated, "
    "e.g. channel_kind,segment) and print how each changes buying and dropping out.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@workspace_option
def fit_command(
    model: str | None,
    spend: str | None,
    holdout: str | None,
    penalizer: float | None,
    covariates: str | None,
    as_json: bool,
    workspace: Path | None,
) -> None:
    """Fit the customer models on the workspace's paid orders.

    Prints the model comparison (with --model auto), the parameters, the
    log-likelihood, how well the model predicted the held-out orders and any reason
    not to trust the fit, then stores the fit for `regulars score`.

    \b
    Examples:
        regulars fit
        regulars fit --model pnbd --holdout 2024-06-30
        regulars fit --penalizer 0.01
        regulars fit --json > fit.json
        regulars fit --covariates channel_kind,segment
    """
    from regulars.models._fit_store import store_covariates
    from regulars.models._workspace import fit_workspace
    from regulars.models._workspace_covariates import covariate_effects

    columns = [c.strip() for c in (covariates or "").split(",") if c.strip()]
    effects = None
    ws = open_workspace(workspace)
    try:
        with _progress(not as_json) as progress:
            fit = fit_workspace(
                ws,
                model=model,
                spend=spend,
                holdout=_holdout_value(holdout),
                penalizer=penalizer,
                progress=progress,
            )
            if columns:
                if progress is not None:
                    progress(f"Fitting {fit.model} with covariates {', '.join(columns)}")
                effects = covariate_effects(ws, columns, model=fit.model)
                store_covariates(ws, fit, effects.stored())
    finally:
        ws.close()
    sentences: list[str] = []
    if effects is not None:
        from regulars.report._effects import effect_sentences
        from regulars.report._i18n import translator

        sentences = effect_sentences(
            effects.effects.to_dict(orient="records"), effects.references, translator("en")
        )
    if as_json:
        out = fit.to_dict()
        if effects is not None:
            out["covariates"] = {**effects.to_dict(), "sentences": sentences}
        click.echo(json.dumps(_clean(out), indent=2, default=_json_default))
        return
    _render_fit(fit)
    if effects is not None:
        refs = ", ".join(f"{k}={v}" for k, v in effects.references.items())
        console.print(
            f"\n[bold]Covariates[/] ({MODEL_NAMES[effects.model_name]} with covariates"
            + (f"; compared with {esc(refs)}" if refs else "")
            + "; 95% intervals):"
        )
        for text in sentences:
            console.print(f"  {esc(text)}")


@app.command("score")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also export the scores to this file (.parquet, .csv or .json).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "json", "jsonl"]),
    help="Export format (default: from the extension of --out).",
)
@click.option("--refit", is_flag=True, help="Fit the models again before scoring.")
@workspace_option
def score_command(out: Path | None, fmt: str | None, refit: bool, workspace: Path | None) -> None:
    """Score every customer: P(alive), expected orders, expected spend and CLV.

    Uses the latest fit stored by `regulars fit` (fits first when there is none) and
    writes the workspace's scores table, which playbooks and reports read.

    \b
    Examples:
        regulars score
        regulars score --out scores.parquet
    """
    if fmt is not None and out is None:
        raise click.BadParameter("--format needs --out FILE.", param_hint="--format")
    from regulars.models._workspace import score_workspace
    from regulars.service import top_customers

    if out is not None:
        check_output_path(out)
    ws = open_workspace(workspace)
    try:
        with _progress(True) as progress:
            result = score_workspace(ws, out=out, format=fmt, refit=refit, progress=progress)
        top = [
            (r["customer_id"], r["p_alive"], r["expected_orders_365d"], r["clv"])
            for r in top_customers(ws, 5)
        ]
    finally:
        ws.close()
    fit = result.fit
    name = MODEL_NAMES[fit.model]
    if fit.spend_model:
        name += f" + {MODEL_NAMES.get(fit.spend_model, fit.spend_model)}"
    if result.refitted:
        console.print(f"No stored fit: fitted {esc(name)} first (fit {esc(fit.fit_id)}).")
    console.print(
        f"Scored {result.n_customers:,} customers with {esc(name)} (fit {esc(fit.fit_id)}) "
        f"into the [bold]{esc(result.table)}[/] table."
    )
    table = Table(title="Most valuable customers", title_justify="left")
    for col in ("customer", "P(alive)", "expected orders (1 year)", "CLV"):
        table.add_column(col, justify="left" if col == "customer" else "right")
    for cid, p_alive, orders, clv in top:
        table.add_row(
            cell(cid),
            f"{p_alive:.2f}",
            f"{orders:.2f}",
            "-" if clv is None else f"{clv:,.2f}",
        )
    console.print(table)
    if result.out is not None:
        console.print(f"Exported to {esc(result.out)}.")
    for note in result.notes:
        console.print(f"[bold yellow]Warning:[/] {esc(note, multiline=True)}")
