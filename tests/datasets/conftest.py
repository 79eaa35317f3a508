from __future__ import annotations

import pandas as pd
import pytest

from regulars.datasets import SimulatedBook, simulate


@pytest.fixture(scope="session")
def book() -> SimulatedBook:
    """The default simulated studio: 2,000 customers over 4 years, seed 0."""
    return simulate()


@pytest.fixture(scope="session")
def frames(book: SimulatedBook) -> dict[str, pd.DataFrame]:
    """The book's tables as pandas frames (money as float, for the invariants)."""
    out = {}
    for name, t in book:
        df = t.to_pandas()
        for col in df.columns:
            if str(t.schema.field(col).type).startswith("decimal"):
                df[col] = df[col].astype(float)
        out[name] = df
    return out
