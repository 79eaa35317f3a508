"""Reference data for the model tests: the published benchmark files of ``shared/data``.

The tests read the copies shipped in ``regulars.datasets`` (byte-identical to
``shared/data``); their README names the source of each file and the published values
the tests reproduce.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import regulars.datasets

#: The published benchmark files ship inside the package (a copy of ``shared/data``;
#: tests/datasets/test_datasets_loaders.py checks the copies are byte-identical).
SHARED_DATA = Path(regulars.datasets.__file__).parent / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        pytest.fail(
            f"The reference data folder {SHARED_DATA} is missing. The model tests need the "
            "published benchmark files (CDNOW, donations, sBG) shipped in regulars.datasets."
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def cdnow_rounded(shared_data: Path) -> pd.DataFrame:
    """CDNOW calibration RFM (lifetimes' file: recency and T rounded to 2 decimals)."""
    return pd.read_csv(shared_data / "cdnow_customers_summary.csv")[["frequency", "recency", "T"]]


@pytest.fixture(scope="session")
def cdnow_cbs(shared_data: Path) -> pd.DataFrame:
    """CDNOW calibration RFM at full precision (BTYD), with holdout counts and spend."""
    cbs = pd.read_csv(shared_data / "cdnowSummary_cbs.csv")
    return cbs.rename(
        columns={
            "x": "frequency",
            "t.x": "recency",
            "T.cal": "T",
            "x.star": "frequency_holdout",
            "m.x": "monetary_value",
        }
    )


@pytest.fixture(scope="session")
def cdnow_rfm(cdnow_cbs: pd.DataFrame) -> pd.DataFrame:
    return cdnow_cbs[["frequency", "recency", "T"]]


@pytest.fixture(scope="session")
def cdnow_tracking(shared_data: Path) -> np.ndarray:
    """Weekly cumulative repeat transactions of the CDNOW sample, weeks 1..78."""
    frame = pd.read_csv(shared_data / "cdnowSummary_cu_tracking.csv")
    return frame["cum_repeat_transactions"].to_numpy(dtype=float)


@pytest.fixture(scope="session")
def donations(shared_data: Path) -> pd.DataFrame:
    """The donations recency/frequency matrix (BG/BB), with a weight per cell."""
    frame = pd.read_csv(shared_data / "donations.csv")
    return frame.rename(columns={"periods": "T", "weights": "weight"})


@pytest.fixture(scope="session")
def donations_holdout(shared_data: Path) -> pd.DataFrame:
    """The same cells with ``x.star``: holdout transactions of each cell, 2002-2006."""
    frame = pd.read_csv(shared_data / "donationsSummary_rf_matrix.csv")
    return frame.rename(columns={"x": "frequency", "t.x": "recency", "n.cal": "T"})


@pytest.fixture(scope="session")
def sbg_counts(shared_data: Path) -> pd.DataFrame:
    """Survivors of two cohorts of 1,000 (Fader and Hardie 2007), years 0..12."""
    return pd.read_csv(shared_data / "sbg_fader_hardie_2007.csv")
