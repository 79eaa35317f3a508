"""Loaders of the published benchmark data shipped in ``regulars/datasets/data``.

The files, their sources and their licence status are described in
``data/README.md`` next to them.
"""

from __future__ import annotations

from importlib import resources
from typing import Literal

import pandas as pd

from regulars.errors import ConfigError

__all__ = ["DATA_FILES", "load_cdnow", "load_donations", "load_retention"]

CdnowKind = Literal["sample", "master", "summary", "summary_holdout", "tracking"]
DonationsKind = Literal["calibration", "rf_matrix", "holdout", "annual"]

DATA_FILES = (
    "CDNOW_master.txt.gz",
    "CDNOW_sample.txt",
    "cdnow_customers_summary.csv",
    "cdnow_customers_summary_with_transactions.csv",
    "cdnowSummary_cbs.csv",
    "cdnowSummary_cu_tracking.csv",
    "donations.csv",
    "donationsSummary_rf_matrix.csv",
    "donationsSummary_rf_matrix_holdout.csv",
    "donationsSummary_annual_trans.csv",
    "sbg_fader_hardie_2007.csv",
)

# Length of the CDNOW holdout period (1997-10-01 to 1998-06-30) in weeks.
CDNOW_HOLDOUT_WEEKS = 39.0


def _read(name: str, **kwargs: object) -> pd.DataFrame:
    source = resources.files("regulars.datasets").joinpath("data", name)
    with resources.as_file(source) as path:
        return pd.read_csv(path, **kwargs)  # type: ignore[call-overload]


def _bad_kind(what: str, kind: object, valid: tuple[str, ...]) -> ConfigError:
    return ConfigError(
        f"{what}: kind={kind!r} is not a data set. Valid kinds: "
        + ", ".join(repr(v) for v in valid)
        + "."
    )


def load_cdnow(kind: CdnowKind = "sample") -> pd.DataFrame:
    """The CDNOW data of Fader & Hardie (purchases of a 1997 Q1 cohort until mid-1998).

    Parameters
    ----------
    kind : {"sample", "master", "summary", "summary_holdout", "tracking"}
        - ``"master"``: all 69,659 purchases of the 23,570 customers, with columns
          ``customer_id`` (zero-padded text, ``"00001"``), ``order_date``
          (datetime64), ``quantity`` (CDs, int) and ``revenue`` (dollars, float).
          Several purchases on one day are separate rows.
        - ``"sample"``: the 1/10 sample, 6,919 purchases of 2,357 customers, with
          ``customer_id`` (the sample id ``"1"`` .. ``"2357"``, as in the summaries),
          ``master_id`` (the id in the master file), ``order_date``, ``quantity``
          and ``revenue``.
        - ``"summary"``: the calibration-period RFM summary of the sample (weeks;
          calibration 1997-01-01 to 1997-09-30): ``customer_id``, ``frequency``
          (repeat purchase days), ``recency``, ``T`` and ``monetary_value`` (mean
          value of the repeat purchases, 0 without any).
        - ``"summary_holdout"``: the same customers with unrounded values and the
          holdout (1997-10-01 to 1998-06-30): ``customer_id``, ``frequency``,
          ``recency``, ``T``, ``monetary_value``, ``frequency_holdout`` (repeat
          purchases in the holdout) and ``duration_holdout`` (39 weeks).
        - ``"tracking"``: cumulative repeat purchases of the sample per week:
          ``week`` (1..78) and ``cum_repeat_transactions``.

    Returns
    -------
    pandas.DataFrame

    References
    ----------
    Fader, P. S., & Hardie, B. G. S. (2001). Forecasting repeat sales at CDNOW: a
    case study. *Interfaces*, 31(3), S94-S107.

    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers"
    the easy way: an alternative to the Pareto/NBD model. *Marketing Science*,
    24(2), 275-284.

    Examples
    --------
    >>> tx = load_cdnow("master")
    >>> len(tx), tx["customer_id"].nunique(), round(float(tx["revenue"].sum()), 2)
    (69659, 23570, 2500315.63)
    """
    if kind == "master":
        df = _read(
            "CDNOW_master.txt.gz",
            sep=r"\s+",
            compression="gzip",
            dtype={"customer_id": str, "date": str},
        )
        return pd.DataFrame(
            {
                "customer_id": df["customer_id"],
                "order_date": pd.to_datetime(df["date"], format="%Y%m%d"),
                "quantity": df["number_of_cds"].astype("int64"),
                "revenue": df["dollar_value"].astype("float64"),
            }
        )
    if kind == "sample":
        df = _read(
            "CDNOW_sample.txt",
            sep=r"\s+",
            header=None,
            names=["master_id", "sample_id", "date", "cds", "dollars"],
            dtype={"master_id": str, "sample_id": "int64", "date": str},
        )
        return pd.DataFrame(
            {
                "customer_id": df["sample_id"].astype(str),
                "master_id": df["master_id"],
                "order_date": pd.to_datetime(df["date"], format="%Y%m%d"),
                "quantity": df["cds"].astype("int64"),
                "revenue": df["dollars"].astype("float64"),
            }
        )
    if kind == "summary":
        df = _read("cdnow_customers_summary.csv")
        money = _read("cdnow_customers_summary_with_transactions.csv")
        return pd.DataFrame(
            {
                "customer_id": df["ID"].astype(str),
                "frequency": df["frequency"].astype("int64"),
                "recency": df["recency"].astype("float64"),
                "T": df["T"].astype("float64"),
                "monetary_value": money["zbar"].astype("float64"),
            }
        )
    if kind == "summary_holdout":
        df = _read("cdnowSummary_cbs.csv")
        return pd.DataFrame(
            {
                "customer_id": df["id"].astype(str),
                "frequency": df["x"].astype("int64"),
                "recency": df["t.x"].astype("float64"),
                "T": df["T.cal"].astype("float64"),
                "monetary_value": df["m.x"].astype("float64"),
                "frequency_holdout": df["x.star"].astype("int64"),
                "duration_holdout": CDNOW_HOLDOUT_WEEKS,
            }
        )
    if kind == "tracking":
        df = _read("cdnowSummary_cu_tracking.csv")
        return df.astype({"week": "int64", "cum_repeat_transactions": "int64"})
    raise _bad_kind(
        "load_cdnow", kind, ("sample", "master", "summary", "summary_holdout", "tracking")
    )


def load_donations(kind: DonationsKind = "calibration") -> pd.DataFrame:
    """The donations data of Fader, Hardie & Shang (2010), for the BG/BB model.

    A 1995 cohort of 11,104 first-time supporters of a US nonprofit; each row is a
    cell of customers with the same repeat pattern.

    Parameters
    ----------
    kind : {"calibration", "rf_matrix", "holdout", "annual"}
        - ``"calibration"``: 1996-2001 (6 opportunities): ``frequency``, ``recency``,
          ``periods`` (6) and ``weights`` (customers in the cell; 11,104 in all).
        - ``"rf_matrix"``: the same 22 cells plus ``holdout_transactions``, the total
          repeat transactions of the cell's customers in 2002-2006 (13,260 in all).
        - ``"holdout"``: the recency/frequency matrix of 2002-2006 (5 opportunities):
          ``frequency``, ``recency``, ``periods`` (5) and ``weights``.
        - ``"annual"``: repeat transactions of the whole cohort per year:
          ``year`` (1996-2006) and ``transactions``.

    Returns
    -------
    pandas.DataFrame

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Shang, J. (2010). Customer-base analysis in a
    discrete-time noncontractual setting. *Marketing Science*, 29(6), 1086-1108.

    Examples
    --------
    >>> int(load_donations()["weights"].sum())
    11104
    """
    if kind == "calibration":
        df = _read("donations.csv")
        return df[["frequency", "recency", "periods", "weights"]].astype("int64")
    if kind == "rf_matrix":
        df = _read("donationsSummary_rf_matrix.csv")
        return pd.DataFrame(
            {
                "frequency": df["x"],
                "recency": df["t.x"],
                "periods": df["n.cal"],
                "weights": df["custs"],
                "holdout_transactions": df["x.star"],
            }
        ).astype("int64")
    if kind == "holdout":
        df = _read("donationsSummary_rf_matrix_holdout.csv")
        return pd.DataFrame(
            {
                "frequency": df["x.star"],
                "recency": df["t.x.star"],
                "periods": df["n.star"],
                "weights": df["custs"],
            }
        ).astype("int64")
    if kind == "annual":
        return _read("donationsSummary_annual_trans.csv").astype("int64")
    raise _bad_kind("load_donations", kind, ("calibration", "rf_matrix", "holdout", "annual"))


def load_retention() -> pd.DataFrame:
    """Customers still active at the start of each year, for two cohorts of 1,000.

    The "regular" and "high end" segments of Fader & Hardie (2007), the data of the
    shifted-beta-geometric (sBG) model: columns ``year`` (0-12), ``regular`` and
    ``highend``.  The papers fit years 0-7 and keep the rest as the holdout.

    References
    ----------
    Fader, P. S., & Hardie, B. G. S. (2007). How to project customer retention.
    *Journal of Interactive Marketing*, 21(1), 76-90.

    Examples
    --------
    >>> load_retention()["regular"].tolist()[:4]
    [1000, 631, 468, 382]
    """
    return _read("sbg_fader_hardie_2007.csv").astype("int64")
