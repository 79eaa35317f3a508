"""Datasets: a simulated service business and the classic CLV benchmark data.

:func:`simulate` draws a whole customer book (customers, orders, subscriptions,
touches, spend, feedback) with a fixed seed; :func:`simulate_orders_to_parquet`
streams any number of order lines to Parquet for benchmarks.  The loaders return
the published data sets that the models are checked against.
"""

from __future__ import annotations

from regulars.datasets._book import SimulatedBook
from regulars.datasets._loaders import load_cdnow, load_donations, load_retention
from regulars.datasets._params import Channel, Package, Plan, Service, SimulationParams
from regulars.datasets._shop import ShopExport, simulate_shop_export
from regulars.datasets._simulate import simulate
from regulars.datasets._stream import simulate_orders_to_parquet

__all__ = [
    "Channel",
    "Package",
    "Plan",
    "Service",
    "ShopExport",
    "SimulatedBook",
    "SimulationParams",
    "load_cdnow",
    "load_donations",
    "load_retention",
    "simulate",
    "simulate_orders_to_parquet",
    "simulate_shop_export",
]
