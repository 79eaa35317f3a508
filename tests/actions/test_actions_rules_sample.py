"""The next-step rules of a large book: found on a sample of customers, counted on all.

A customer with ``k`` distinct items makes ``k**2`` pairs, so above
``RULE_PAIRS`` the rules are found on a sample and only each item's best pairs are
counted.  Every rule found that way must be a rule of the full count, with the same
numbers: the reason a customer reads is never an estimate.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from regulars.actions._features import first_purchases
from regulars.actions._playbooks_offers import (
    CANDIDATES_PER_ITEM,
    _candidate_pairs,
    _rules,
)


def _items(seed: int, customers: int = 400, products: int = 40) -> pd.DataFrame:
    """Lines of customers who each buy a few popular products over several days."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, products + 1)
    popularity /= popularity.sum()
    rows = []
    for c in range(customers):
        for _ in range(int(rng.integers(2, 15))):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
            item = f"p{int(rng.choice(products, p=popularity)):02d}"
            rows.append((f"c{c:04d}", item, day, round(float(rng.uniform(5, 80)), 2)))
    return pd.DataFrame(rows, columns=["customer_id", "item", "order_date", "amount"])


def _sorted(t: ibis.Table) -> pd.DataFrame:
    df = t.to_pandas()
    return df.sort_values(["a_item", "b_item"]).reset_index(drop=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_sampled_rules_are_exact_rules_with_the_same_numbers(seed: int) -> None:
    lines = ibis.memtable(_items(seed))
    owned = first_purchases(lines, "item")
    exact = _sorted(_rules(owned, lines, "amount"))
    sizes = owned.group_by("customer_id").agg(k=owned.count()).to_pandas()
    pairs = int((sizes.k.astype("int64") ** 2).sum())
    assert _candidate_pairs(owned, lines, pairs, pairs, pairs // 4) is None  # within budget

    candidates = _candidate_pairs(owned, lines, pairs, pairs // 2, pairs // 4)
    assert candidates is not None
    chosen = candidates.to_pandas()
    per_item = chosen.groupby("a_item").size()
    assert per_item.max() <= 2 * CANDIDATES_PER_ITEM
    sampled = _sorted(_rules(owned, lines, "amount", candidates))
    assert 0 < len(sampled) < len(exact)
    # Every sampled rule is a rule of the full count, with the same numbers.
    both = sampled.merge(exact, on=["a_item", "b_item"], suffixes=("", "_exact"))
    assert len(both) == len(sampled)
    for col in ("support", "buyers_a", "buyers_b", "confidence", "base_rate", "lift"):
        assert both[col].tolist() == both[f"{col}_exact"].tolist(), col
    assert both.mean_revenue_b.tolist() == pytest.approx(both.mean_revenue_b_exact.tolist())
    # The sample finds most of each item's best rule by expected value.
    exact["ev"] = exact.confidence * exact.mean_revenue_b
    best = exact.sort_values(["a_item", "ev", "b_item"], ascending=[True, False, True])
    best = best.groupby("a_item").head(1)
    found = best.merge(sampled, on=["a_item", "b_item"])
    assert len(found) >= 0.5 * len(best)


def test_the_sample_is_the_same_on_every_run() -> None:
    lines = ibis.memtable(_items(3))
    owned = first_purchases(lines, "item")
    runs = []
    for _ in range(2):
        c = _candidate_pairs(owned, lines, 10**6, 10**5, 10**5)
        assert c is not None
        runs.append(_sorted(c))
    pd.testing.assert_frame_equal(runs[0], runs[1])
