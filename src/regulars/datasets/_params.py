"""Parameters of the simulated business: channels, catalogue, plans and rates.

Every number the simulator uses lives in :class:`SimulationParams`, so a benchmark or a
test can change one knob with :func:`dataclasses.replace` and ``docs/simulator.md`` can
describe them all in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from regulars.errors import ConfigError
from regulars.schema import BILLING_PERIODS, CHANNEL_KINDS

__all__ = ["Channel", "Package", "Plan", "Service", "SimulationParams", "currency_scale"]


@dataclass(frozen=True)
class Channel:
    """An acquisition channel.

    ``share`` is the channel's weight among the customers who do *not* come by
    referral (the referral channel's own share is :attr:`SimulationParams.referral_share`).
    ``cost_per_customer`` and ``monthly_cost`` drive the monthly ``spend`` rows; a
    channel with both zero has no spend.  ``loyalty_shift`` moves the customers'
    latent loyalty (in standard deviations), ``rate_factor`` their buying rate and
    ``refund_factor`` the chance that their first order is refunded.
    """

    name: str
    kind: str
    share: float
    cost_per_customer: float = 0.0
    monthly_cost: float = 0.0
    loyalty_shift: float = 0.0
    rate_factor: float = 1.0
    refund_factor: float = 1.0


@dataclass(frozen=True)
class Service:
    """A one-off service of the catalogue.

    ``price`` is the list price per unit at the start of the simulation, ``margin``
    the usual profit share of the list price.  ``quantity_mean`` above 1 makes the
    service hourly (quantity = 1 + Poisson(quantity_mean - 1)).  ``entry_weight``
    and ``mature_weight`` are the chances of picking the service for a customer's
    first orders and for the orders of a customer who already knows the studio.
    """

    name: str
    category: str
    price: float
    margin: float
    entry_weight: float
    mature_weight: float
    quantity_mean: float = 1.0


@dataclass(frozen=True)
class Plan:
    """A subscription plan, billed every ``billing_period``.

    The number of paid periods is geometric with a per-period cancellation chance
    drawn from Beta(``churn_a``, ``churn_b``) for each subscription (the shifted-beta-
    geometric model of Fader & Hardie 2007).
    """

    name: str
    category: str
    price: float
    margin: float
    billing_period: str
    weight: float
    churn_a: float
    churn_b: float


@dataclass(frozen=True)
class Package:
    """A bundle of services sold as one order at a discount."""

    name: str
    services: tuple[str, ...]
    weight: float = 1.0


_CHANNELS = (
    Channel("referral", "referral", 0.0, loyalty_shift=0.35, rate_factor=1.15, refund_factor=0.4),
    Channel(
        "google-ads",
        "cold",
        0.30,
        cost_per_customer=950.0,
        monthly_cost=400.0,
        loyalty_shift=-0.35,
        rate_factor=0.8,
        refund_factor=1.8,
    ),
    Channel(
        "cold-email",
        "cold",
        0.22,
        cost_per_customer=700.0,
        monthly_cost=250.0,
        loyalty_shift=-0.3,
        rate_factor=0.8,
        refund_factor=1.6,
    ),
    Channel("organic", "organic", 0.30, cost_per_customer=90.0, monthly_cost=300.0),
    Channel(
        "partner",
        "partner",
        0.18,
        cost_per_customer=320.0,
        loyalty_shift=0.1,
        refund_factor=0.8,
    ),
)

_SERVICES = (
    Service("consulting", "strategy", 95.0, 0.62, 0.22, 0.12, quantity_mean=6.0),
    Service("logo-design", "design", 650.0, 0.55, 0.20, 0.05),
    Service("brand-identity", "design", 2400.0, 0.50, 0.08, 0.14),
    Service("landing-page", "web", 1100.0, 0.50, 0.22, 0.09),
    Service("website", "web", 4800.0, 0.42, 0.12, 0.22),
    Service("seo-audit", "marketing", 900.0, 0.58, 0.16, 0.16),
    Service("content-campaign", "marketing", 1600.0, 0.45, 0.0, 0.22),
)

_PLANS = (
    Plan("bookkeeping", "accounting", 220.0, 0.40, "month", 0.40, 1.0, 14.0),
    Plan("ads-management", "marketing", 450.0, 0.35, "month", 0.30, 1.0, 9.0),
    Plan("site-maintenance", "web", 1200.0, 0.60, "year", 0.30, 0.8, 2.5),
)

_PACKAGES = (
    Package("starter", ("logo-design", "landing-page", "seo-audit")),
    Package("brand-and-web", ("brand-identity", "website")),
    Package("growth", ("website", "seo-audit", "content-campaign")),
    Package("visibility", ("seo-audit", "content-campaign"), 0.7),
)

# Rough units of a currency per euro, so that prices look plausible in any currency.
_CURRENCY_SCALE = {
    "EUR": 1.0,
    "USD": 1.1,
    "GBP": 0.85,
    "CHF": 1.0,
    "CAD": 1.5,
    "AUD": 1.6,
    "SEK": 11.0,
    "NOK": 11.0,
    "DKK": 7.5,
    "PLN": 4.3,
    "CZK": 25.0,
    "HUF": 390.0,
    "RUB": 100.0,
    "UAH": 45.0,
    "ILS": 4.0,
    "TRY": 35.0,
    "INR": 90.0,
    "JPY": 160.0,
    "CNY": 7.8,
    "BRL": 6.0,
}


def currency_scale(currency: str) -> float:
    """Rough units of ``currency`` per euro (1.0 for currencies not in the table)."""
    return _CURRENCY_SCALE.get(currency.upper(), 1.0)


@dataclass(frozen=True)
class SimulationParams:
    """Every knob of the simulated business, with its default.

    Rates are per year and money is in euros at the start of the simulation (scaled
    by :func:`currency_scale` for other currencies).  ``docs/simulator.md`` gives the
    generating process these parameters feed.
    """

    # -- acquisition -------------------------------------------------------------------
    channels: tuple[Channel, ...] = _CHANNELS
    # Long-run share of new customers who come by referral; it ramps up from zero
    # as the customer base grows (e-folding time ``referral_ramp_years``).
    referral_share: float = 0.5
    referral_ramp_years: float = 0.75
    # Yearly log growth of the number of new customers.
    acquisition_growth: float = 0.0
    # How strongly happy customers refer more: referrer weight = exp(k * loyalty).
    referral_loyalty_effect: float = 1.5
    # -- latent buying process (Pareto/NBD-like) --------------------------------------
    # Repeat one-off orders per year: Gamma(shape, mean) across customers.
    purchase_shape: float = 4.0
    purchase_rate: float = 1.2
    # Rate of "dying" (stopping buying) per year: Gamma(shape, mean) across customers.
    dropout_shape: float = 1.5
    dropout_rate: float = 0.3
    # Effect of one standard deviation of latent loyalty on the log buying rate and
    # on the log dropout rate.
    loyalty_rate_effect: float = 0.3
    loyalty_dropout_effect: float = 0.6
    # Segments with their share and their order-value factor.
    segments: tuple[tuple[str, float, float], ...] = (
        ("smb", 0.6, 1.0),
        ("startup", 0.2, 0.8),
        ("nonprofit", 0.1, 0.6),
        ("enterprise", 0.1, 2.2),
    )
    # Log-normal spread of the customers' order-value factor.
    value_sigma: float = 0.45
    # -- upsell ----------------------------------------------------------------------
    # Yearly log growth of a loyal customer's order value, reached over the first
    # ``upsell_years`` of the relationship.
    upsell_rate: float = 0.12
    # Yearly log growth of a customer's buying rate over the same years.
    frequency_growth: float = 0.25
    upsell_years: float = 4.0
    # How fast a customer moves from entry services to the mature mix: the chance
    # of the mature mix is 1 - exp(-prior_orders / upsell_orders).
    upsell_orders: float = 1.5
    # Yearly list-price increase.
    price_inflation: float = 0.04
    # -- churn and win-back -----------------------------------------------------------
    # Chance that a lapsed customer comes back (for average loyalty), and the gap.
    winback_rate: float = 0.1
    winback_min_gap_years: float = 1.0
    winback_mean_gap_years: float = 1.6
    # -- subscriptions ---------------------------------------------------------------
    plans: tuple[Plan, ...] = _PLANS
    # Chance that a customer takes a plan during their first relationship, a second
    # plan, and a plan when they come back; mean delay to the plan in years.
    subscription_rate: float = 0.25
    second_subscription_rate: float = 0.2
    winback_subscription_rate: float = 0.2
    subscription_delay_years: float = 0.4
    # -- catalogue, packages, discounts ----------------------------------------------
    services: tuple[Service, ...] = _SERVICES
    packages: tuple[Package, ...] = _PACKAGES
    # Chance that a first order is a package, and the long-run chance for a repeat order.
    package_rate_first: float = 0.04
    package_rate: float = 0.12
    package_discounts: tuple[float, ...] = (0.10, 0.15, 0.20, 0.25, 0.30)
    # Share of one-off orders with a small loyalty discount, and its size.
    discount_rate: float = 0.06
    discount_size: float = 0.08
    # -- guarantee, refunds, cancellations --------------------------------------------
    guarantee_days: int = 90
    # Chance that a new customer's first order is refunded (average channel and loyalty).
    refund_rate_first: float = 0.05
    # Chance for any later order (regular customers almost never ask).
    refund_rate_repeat: float = 0.001
    # Chance that a refunded customer never buys again.
    refund_churn: float = 0.85
    cancel_rate: float = 0.008
    # -- costs -----------------------------------------------------------------------
    # Share of orders whose cost is recorded (the rest use the configured margin).
    cost_coverage: float = 0.88
    # Extra cost of the first order of a new customer (onboarding), as a share.
    onboarding_cost: float = 0.1
    # Cost saving reached after ``upsell_years`` with a customer (familiarity).
    familiarity_saving: float = 0.05
    cost_noise: float = 0.15
    # -- touches and feedback ---------------------------------------------------------
    # Touches per year for an average active customer; touches go on for
    # ``touch_tail_days`` after the last order and come with ``touch_before_order``
    # of the orders (a call or meeting in the days before).
    touch_rate: float = 4.0
    touch_tail_days: int = 120
    touch_before_order: float = 0.5
    # Share of one-off orders followed by a satisfaction survey (score 0-10).
    feedback_rate: float = 0.3
    # -- money -----------------------------------------------------------------------
    # Price factor for the currency; None derives it from the currency code.
    price_scale: float | None = None
    # Monthly seasonality of orders (January..December), and weekday weights (Mon..Sun).
    seasonality: tuple[float, ...] = (
        1.10,
        1.05,
        1.10,
        1.00,
        1.00,
        0.95,
        0.80,
        0.55,
        1.10,
        1.15,
        1.10,
        0.85,
    )
    weekdays: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 0.9, 0.08, 0.03)

    def __post_init__(self) -> None:
        problems: list[str] = []
        kinds = {c.kind for c in self.channels}
        if "referral" not in kinds:
            problems.append("channels need one channel of kind 'referral'")
        for c in self.channels:
            if c.kind not in CHANNEL_KINDS:
                problems.append(
                    f"channel {c.name!r} has kind {c.kind!r} (valid: {', '.join(CHANNEL_KINDS)})"
                )
            if c.share < 0 or c.cost_per_customer < 0 or c.monthly_cost < 0:
                problems.append(f"channel {c.name!r} has a negative share or cost")
        if sum(c.share for c in self.channels if c.kind != "referral") <= 0:
            problems.append("the non-referral channels need a positive total share")
        for p in self.plans:
            if p.billing_period not in ("month", "year"):
                problems.append(
                    f"plan {p.name!r} has billing_period {p.billing_period!r} "
                    f"(the simulator bills 'month' or 'year'; the contract allows "
                    f"{', '.join(BILLING_PERIODS)})"
                )
        if not self.services:
            problems.append("services needs at least one service")
        elif min(
            sum(s.entry_weight for s in self.services),
            sum(s.mature_weight for s in self.services),
        ) <= 0 or any(s.entry_weight < 0 or s.mature_weight < 0 for s in self.services):
            problems.append(
                "services need non-negative entry_weight and mature_weight, "
                "each adding up to more than 0"
            )
        if any(p.weight <= 0 or p.price <= 0 for p in self.plans):
            problems.append("every plan needs a positive weight and price")
        names = {s.name for s in self.services}
        for pk in self.packages:
            missing = [s for s in pk.services if s not in names]
            if missing or len(pk.services) < 2:
                problems.append(
                    f"package {pk.name!r} needs at least two services of the catalogue "
                    f"(unknown: {', '.join(missing) or 'none'})"
                )
        if len(self.seasonality) != 12 or len(self.weekdays) != 7:
            problems.append("seasonality needs 12 monthly weights and weekdays 7")
        for name in ("referral_share", "winback_rate", "cost_coverage", "feedback_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name} = {value!r} must be between 0 and 1")
        if any(not 0.0 <= d < 1.0 for d in self.package_discounts):
            problems.append("package_discounts must be shares in [0, 1)")
        if self.purchase_rate <= 0 or self.dropout_rate <= 0:
            problems.append("purchase_rate and dropout_rate must be positive")
        if problems:
            raise ConfigError(
                "Invalid SimulationParams: "
                + "; ".join(problems)
                + ". Change the field with dataclasses.replace(SimulationParams(), ...)."
            )

    @property
    def channel_kinds(self) -> dict[str, str]:
        """Channel name -> channel kind, as ``[channels]`` in ``regulars.toml`` wants it."""
        return {c.name: c.kind for c in self.channels}
