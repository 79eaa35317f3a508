"""Every metric of this package against its oracle on a simulated business."""

from __future__ import annotations

import pytest
from _metrics_oracle import (
    assert_frames_equal,
    channel_economics,
    growth,
    lifecycle,
    new_vs_returning,
    sources,
)

import regulars.metrics as metrics
from regulars.config import Config
from regulars.datasets import simulate


@pytest.fixture(scope="module")
def simulated():
    return simulate(n_customers=120, years=2, seed=11)


@pytest.fixture
def ctx(book, simulated):
    return book(**simulated.tables(), config=Config(channels=dict(simulated.channels)))


@pytest.mark.parametrize("period", ["month", "quarter"])
def test_growth_accounting(ctx, book, to_frame, period):
    got = to_frame(metrics.growth_accounting(ctx, period=period), sort=["period"])
    assert_frames_equal(got, growth(book.inputs, period))


def test_new_vs_returning(ctx, book, to_frame):
    got = to_frame(metrics.new_vs_returning(ctx, period="month"), sort=["period"])
    assert_frames_equal(got, new_vs_returning(book.inputs, "month"))


def test_lifecycle(ctx, book, to_frame):
    got = to_frame(metrics.lifecycle(ctx, period="month", window=3), sort=["period"])
    assert_frames_equal(got, lifecycle(book.inputs, "month", 3))


@pytest.mark.on_spark
def test_growth_sources(ctx, book, simulated, to_frame):
    got = to_frame(metrics.growth_sources(ctx, period="quarter"), sort=[])
    assert_frames_equal(got, sources(book.inputs, "quarter", dict(simulated.channels)))


@pytest.mark.on_spark
def test_channel_economics(ctx, book, simulated, to_frame):
    got = to_frame(metrics.channel_economics(ctx, period="quarter"), sort=["period", "channel"])
    want = channel_economics(book.inputs, "quarter", dict(simulated.channels), 4)
    want = want.sort_values(["period", "channel"]).reset_index(drop=True)
    assert_frames_equal(got, want)
