"""The workspace configuration, ``regulars.toml``.

Each ``[section]`` of the file is a dataclass below.  Loading validates every key:
an unknown key or a value of the wrong kind raises :class:`~regulars.errors.ConfigError`
naming the key, the value and the valid choices.  Later stages add fields to their
own section (``[referrals]``, ``[playbooks.*]``...); the validator is generic.
"""

from __future__ import annotations

import dataclasses
import datetime
import keyword
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from regulars._config_actions import (
    ActionsConfig,
    PlaybooksConfig,
    PlaybookSettings,
    ProductsConfig,
    actions_config_text,
    apply_profile,
)
from regulars.errors import ConfigError
from regulars.schema import CHANNEL_KINDS

__all__ = [
    "CONFIG_FILE",
    "WEEKDAYS",
    "ActionsConfig",
    "Config",
    "DigestConfig",
    "EngineConfig",
    "GuaranteeConfig",
    "ImportConfig",
    "MetricsConfig",
    "ModelsConfig",
    "Period",
    "PlaybookSettings",
    "PlaybooksConfig",
    "ProductsConfig",
    "ReferralRule",
    "ReferralsConfig",
    "SmtpConfig",
    "SubscriptionsConfig",
    "WorkspaceSettings",
    "default_config_text",
    "load_config",
    "parse_config",
]

CONFIG_FILE = "regulars.toml"

Period = Literal["month", "quarter", "year"]
PERIODS: tuple[str, ...] = get_args(Period)


@dataclass
class WorkspaceSettings:
    """``[workspace]``: how the business counts."""

    name: str = "My business"
    currency: str = "EUR"
    period: Period = "month"
    # Share of revenue that is profit when an order has no cost.
    default_margin: float = 0.3
    # Periods without an order before an active customer counts as lapsed.
    activity_window: int = 3
    # Language and number format of reports: "en" or "ru".
    locale: str = "en"
    # The kind of business: "studio" (services and packages, the default), "shop"
    # (products: no package offers, no money-back guarantee, non-product lines such as
    # postage excluded) or "subscription" (renewals, no packages).  It sets the
    # defaults of [guarantee], [products] and [playbooks.*]; keys in the file win.
    kind: Literal["studio", "shop", "subscription"] = "studio"
    # The days the data cover (YYYY-MM-DD); empty: the first and last order date.  A
    # period is complete when the data cover it from its first to its last day.
    data_start: str = ""
    data_end: str = ""
    # The day the business started (YYYY-MM-DD).  Empty: detect from the data whether
    # the first customers were already customers when the data start (left-censored).
    business_start: str = ""
    # Orders without a customer (guest checkouts) are kept in guest_orders, out of
    # customer analytics. "include" counts their revenue in the business's revenue
    # totals; "exclude" (default) leaves it out (see docs/data.md).
    guest_revenue: Literal["exclude", "include"] = "exclude"

    def __post_init__(self) -> None:
        for key in ("data_start", "data_end", "business_start"):
            value = getattr(self, key)
            if value:
                try:
                    datetime.date.fromisoformat(value)
                except ValueError:
                    raise ConfigError(
                        f"[workspace] {key} = {value!r} is not a date (expected YYYY-MM-DD, "
                        'for example "2010-12-01"; leave it out to use the order dates).'
                    ) from None
        if self.data_start and self.data_end and self.data_start > self.data_end:
            raise ConfigError(
                f"[workspace] data_start = {self.data_start!r} is after data_end = "
                f"{self.data_end!r}. Swap them, or leave either out to use the order dates."
            )
        if not 0.0 <= self.default_margin <= 1.0:
            raise ConfigError(
                f"[workspace] default_margin = {self.default_margin!r} is out of range "
                "(expected a share between 0 and 1, for example 0.3 for 30%)."
            )
        if self.activity_window < 1:
            raise ConfigError(
                f"[workspace] activity_window = {self.activity_window!r} must be at least 1 "
                "(the number of periods without an order before a customer is lapsed)."
            )
        if len(self.currency) != 3 or not self.currency.isalpha():
            raise ConfigError(
                f"[workspace] currency = {self.currency!r} is not an ISO 4217 code "
                "(expected three letters, for example EUR, USD or RUB)."
            )
        self.currency = self.currency.upper()


@dataclass
class EngineConfig:
    """``[engine]``: where the analytics run."""

    # "duckdb" (the workspace file), "parquet" (a folder of <table>.parquet files read by
    # DuckDB) or "spark" (a local or existing Spark session).
    backend: Literal["duckdb", "parquet", "spark"] = "duckdb"
    parquet_dir: str = ""
    spark_master: str = "local[2]"
    # DuckDB's memory limit for every command on this workspace (the web app too): a
    # size ("4GiB", "512MiB"), a share of the machine's memory ("25%"), or "auto" (an
    # eighth of it, 1 to 16 GiB).  Beyond it DuckDB spills to regulars.duckdb.tmp-<pid>.  The
    # environment variable REGULARS_ENGINE_MEMORY overrides it; imports and actions
    # have their own ([import] memory, [actions] memory).
    memory: str = "auto"

    def __post_init__(self) -> None:
        parse_size(self.memory, where="[engine] memory", of=100)


@dataclass
class ImportConfig:
    """``[import]``: the resources of ``regulars import`` (see docs/data.md, Big files)."""

    # DuckDB's memory limit during an import: a size ("4GiB", "512MiB"), a share of
    # the machine's memory ("25%"), or "auto" (an eighth of it, 1 to 16 GiB).  The
    # environment variable REGULARS_IMPORT_MEMORY and --memory override it.
    memory: str = "auto"
    # Most disk space the import's spill files may take: a size, a share of the free
    # disk space ("50%"), or "auto" (half of it).
    spill: str = "auto"

    def __post_init__(self) -> None:
        parse_size(self.memory, where="[import] memory", of=100)
        parse_size(self.spill, where="[import] spill", of=100)


@dataclass
class GuaranteeConfig:
    """``[guarantee]``: the money-back guarantee."""

    # Length of the money-back window in days (0 = no guarantee).
    days: int = 90


@dataclass
class SmtpConfig:
    """``[smtp]``: the mail server that sends the weekly digest (``regulars digest``)."""

    host: str = ""
    port: int = 587
    # "starttls" (port 587), "ssl" (port 465) or "none" (a local relay only).
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""
    # The password is never written here: name the environment variable that holds it.
    password_env: str = "REGULARS_SMTP_PASSWORD"
    from_address: str = ""
    # Actions due within this many days go into the digest.
    due_within_days: int = 7

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(
                f"[smtp] port = {self.port!r} is not a port number (expected 1 to 65535, "
                "usually 587 with starttls or 465 with ssl)."
            )
        if self.due_within_days < 0:
            raise ConfigError(
                f"[smtp] due_within_days = {self.due_within_days!r} must be 0 or more."
            )


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass
class DigestConfig:
    """``[digest]``: when ``regulars serve`` sends the weekly digest by itself."""

    # Send it from the running app (``regulars digest`` works either way).
    enabled: bool = False
    # Day of the week and hour (0-23, in `timezone`) of the weekly digest.
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = (
        "monday"
    )
    hour: int = 7
    # An IANA time zone name, such as "Europe/Ljubljana".
    timezone: str = "UTC"
    # The app's address for the link in the mail (default: the address it serves on).
    url: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.hour <= 23:
            raise ConfigError(
                f"[digest] hour = {self.hour!r} is not an hour of the day (expected 0 to 23)."
            )
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"[digest] timezone = {self.timezone!r} is not a time zone. Use an IANA name "
                'such as "UTC", "Europe/Ljubljana" or "Asia/Jerusalem".'
            ) from None


def _default_retention_channels() -> list[str]:
    return ["retention"]


@dataclass
class MetricsConfig:
    """``[metrics]``: conventions of the growth metrics."""

    # Spend channels whose spend keeps customers (newsletters, account management,
    # gifts) rather than winning them: the cost side of returning-customer efficiency.
    retention_channels: list[str] = field(default_factory=_default_retention_channels)


@dataclass
class SubscriptionsConfig:
    """``[subscriptions]``: the conventions of MRR movements (see docs/metrics.md)."""

    # When a cancelled subscription stops counting in MRR: "period_end" (after the last
    # day of its paid period, end_date) or "cancellation" (on cancel_date).
    churn_at: Literal["period_end", "cancellation"] = "period_end"
    # MRR "net" of the discounts on the customer's subscription orders, or at "list" price.
    discounts: Literal["net", "list"] = "net"
    # A customer whose subscriptions start and end inside one period: "both" counts them
    # as new (or reactivated) and as churned in that period; "neither" leaves them out.
    same_period: Literal["both", "neither"] = "both"


@dataclass
class ReferralRule:
    """One ``[[referrals.rules]]`` entry: a reward for a referral."""

    # "fixed": `amount` once per referee; "percentage": `percent` % of the referee's net
    # revenue in their first `months` months; "double-sided": `amount` to the referrer
    # and `referee_amount` (default `amount`) to the referee.
    kind: Literal["fixed", "percentage", "double-sided"] = "fixed"
    # Who is paid by a fixed or percentage rule: "referrer", "referee" or "both".
    side: Literal["referrer", "referee", "both"] = "referrer"
    amount: float = 0.0
    referee_amount: float | None = None
    percent: float = 0.0
    months: int = 12
    # Label shown in the reward ledger (default: the rule's kind and position).
    name: str = ""

    def __post_init__(self) -> None:
        where = f"[[referrals.rules]] {self.name or self.kind}"
        if self.kind in ("fixed", "double-sided") and self.amount <= 0:
            raise ConfigError(
                f"{where}: amount = {self.amount!r} must be positive for a {self.kind} reward "
                "(the money paid per referral, for example amount = 50)."
            )
        if self.referee_amount is not None and self.referee_amount < 0:
            raise ConfigError(
                f"{where}: referee_amount = {self.referee_amount!r} must not be negative."
            )
        if self.kind == "percentage":
            if not 0 < self.percent <= 100:
                raise ConfigError(
                    f"{where}: percent = {self.percent!r} is out of range (expected a "
                    "percentage above 0 and at most 100, for example percent = 10)."
                )
            if self.months < 1:
                raise ConfigError(
                    f"{where}: months = {self.months!r} must be at least 1 (the referee's "
                    "first months whose revenue earns the reward)."
                )


@dataclass
class ReferralsConfig:
    """``[referrals]``: the referral program's reward rules."""

    rules: list[ReferralRule] = field(default_factory=list)
    # Most money one referrer can earn in total (0 = no cap).
    cap_per_referrer: float = 0.0
    # How far the referral tree is followed (and cycles searched) from each customer.
    max_depth: int = 20

    def __post_init__(self) -> None:
        if self.cap_per_referrer < 0:
            raise ConfigError(
                f"[referrals] cap_per_referrer = {self.cap_per_referrer!r} must not be "
                "negative (0 means no cap)."
            )
        if not 1 <= self.max_depth <= 100:
            raise ConfigError(
                f"[referrals] max_depth = {self.max_depth!r} is out of range "
                "(expected 1 to 100 levels of referrals)."
            )


@dataclass
class ModelsConfig:
    """``[models]``: the customer models behind ``regulars fit`` and ``regulars score``."""

    # Repeat-purchase model: auto (fit the candidates on a calibration period and keep the
    # one that predicts the holdout best and passes its diagnostics), bgnbd (BG/NBD),
    # mbgnbd (MBG/NBD), pnbd (Pareto/NBD) or bgbb (BG/BB, discrete opportunities: one per
    # time_unit period).
    purchase_model: Literal["auto", "bgnbd", "mbgnbd", "pnbd", "bgbb"] = "auto"
    # The models `auto` compares; add "bgbb" for discrete buying opportunities.
    candidates: list[str] = field(default_factory=lambda: ["bgnbd", "mbgnbd", "pnbd", "mbgcnbd"])
    # Spend model: gamma-gamma, or none (CLV is then left empty).
    spend_model: Literal["gamma-gamma", "none"] = "gamma-gamma"
    # Unit of recency and T in the fits: D (days), W (weeks) or M (months).
    time_unit: Literal["D", "W", "M"] = "W"
    # CLV horizon in months and the annual discount rate used to discount it.
    clv_horizon_months: int = 12
    discount_rate: float = 0.10
    # Holdout check of `regulars fit`: "auto" (hold out the last 30% of the history, 4
    # weeks to a year, from a month or week start), "none", or a calibration end date
    # such as "2024-06-30".
    holdout: str = "auto"
    # L2 penalty on the log-parameters of every fit (0 = plain maximum likelihood; a
    # plain fit that fails is retried once with 0.01, and the fit says so).
    penalizer: float = 0.0

    def __post_init__(self) -> None:
        if self.clv_horizon_months < 1:
            raise ConfigError(
                f"[models] clv_horizon_months = {self.clv_horizon_months!r} must be at "
                "least 1 (the CLV horizon in months, for example 12)."
            )
        if not 0.0 <= self.discount_rate < 1.0:
            raise ConfigError(
                f"[models] discount_rate = {self.discount_rate!r} is out of range "
                "(expected an annual rate between 0 and 1, for example 0.10 for 10%)."
            )
        if not 0.0 <= self.penalizer <= 10.0:
            raise ConfigError(
                f"[models] penalizer = {self.penalizer!r} is out of range (expected a number "
                "from 0 to 10; 0.01 is a small penalty, 0 means plain maximum likelihood)."
            )
        valid = ("bgnbd", "mbgnbd", "pnbd", "bgbb", "mbgcnbd")
        bad = [c for c in self.candidates if c not in valid]
        if bad or not self.candidates or len(set(self.candidates)) != len(self.candidates):
            raise ConfigError(
                f"[models] candidates = {self.candidates!r} is not valid: expected a list of "
                f"distinct models among {', '.join(repr(v) for v in valid)}, for example "
                '["bgnbd", "mbgnbd", "pnbd"].'
            )
        if self.holdout not in ("auto", "none"):
            try:
                datetime.date.fromisoformat(self.holdout)
            except ValueError:
                raise ConfigError(
                    f"[models] holdout = {self.holdout!r} is not valid. Valid values: "
                    "'auto', 'none' or a date such as '2024-06-30'."
                ) from None


def _default_channels() -> dict[str, str]:
    return {kind: kind for kind in CHANNEL_KINDS}


@dataclass
class Config:
    """The whole ``regulars.toml``."""

    workspace: WorkspaceSettings = field(default_factory=WorkspaceSettings)
    # Channel name -> channel kind (referral, cold, organic, partner, other).
    channels: dict[str, str] = field(default_factory=_default_channels)
    engine: EngineConfig = field(default_factory=EngineConfig)
    # ``[import]`` in the file (``import`` is a Python keyword).
    import_: ImportConfig = field(default_factory=ImportConfig)
    guarantee: GuaranteeConfig = field(default_factory=GuaranteeConfig)
    subscriptions: SubscriptionsConfig = field(default_factory=SubscriptionsConfig)
    referrals: ReferralsConfig = field(default_factory=ReferralsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    actions: ActionsConfig = field(default_factory=ActionsConfig)
    products: ProductsConfig = field(default_factory=ProductsConfig)
    playbooks: PlaybooksConfig = field(default_factory=PlaybooksConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)

    def __post_init__(self) -> None:
        for name, kind in self.channels.items():
            if kind not in CHANNEL_KINDS:
                raise ConfigError(
                    f"[channels] {name} = {kind!r} is not a channel kind. "
                    f"Valid kinds: {', '.join(CHANNEL_KINDS)}."
                )

    def channel_kind(self, channel: str | None) -> str:
        """The kind of a channel name; unknown names are ``other``."""
        if channel is None:
            return "other"
        return self.channels.get(channel, "other")


_UNITS = {"k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:([kmgt]?)(i?)b?)?\s*", re.I)


def parse_size(text: str, *, where: str, of: int | None = None) -> int | None:
    """Bytes of a size such as ``4GiB``, ``512MB``, ``3g`` or ``25%`` (of ``of``).

    ``auto`` (or an empty text) gives None: the default applies.  Anything else
    raises :class:`ConfigError` naming ``where``.
    """
    value = str(text).strip()
    if value.lower() in ("", "auto"):
        return None
    example = 'for example "4GiB", "512MiB", "25%" or "auto"'
    if value.endswith("%"):
        try:
            share = float(value[:-1])
        except ValueError:
            share = -1.0
        if of is None or not 0 < share <= 100:
            raise ConfigError(
                f"{where} = {text!r} is not a size ({example}; a percentage is between 0 and 100)."
            )
        return int(of * share / 100)
    m = _SIZE.fullmatch(value)
    if not m:
        raise ConfigError(f"{where} = {text!r} is not a size ({example}).")
    number, unit = float(m.group(1)), (m.group(2) or "").lower()
    if not unit:
        raise ConfigError(f"{where} = {text!r} has no unit ({example}).")
    factor = 1024 ** " kmgt".index(unit) if m.group(3) else _UNITS[unit]
    return int(number * factor)


T = TypeVar("T")


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a table"
    if origin in (dict,):
        return "a table"
    if origin in (list,):
        return "a list"
    return {int: "an integer", float: "a number", str: "text", bool: "true or false"}.get(
        tp, str(tp)
    )


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table ([{where}]), got {value!r}.")
        return _build(tp, value, where)
    if origin is Literal:
        if value not in get_args(tp):
            raise ConfigError(
                f"{where} = {value!r} is not valid. Valid values: "
                + ", ".join(repr(a) for a in get_args(tp))
                + "."
            )
        return value
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return _convert(value, args[0], where)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, got {value!r}.")
        _, vtp = get_args(tp)
        return {str(k): _convert(v, vtp, f"{where}.{k}") for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {value!r}.")
        (itp,) = get_args(tp)
        return [_convert(v, itp, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is Any or (isinstance(tp, type) and isinstance(value, tp)):
        if tp is int and isinstance(value, bool):
            pass
        else:
            return value
    raise ConfigError(f"{where} = {value!r} has the wrong type (expected {_type_name(tp)}).")


def _build(cls: type[T], data: dict[str, Any], where: str) -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{where}.{key}" if where else key
        attr = f"{key}_" if keyword.iskeyword(key) else key  # [import] -> import_
        if attr not in fields:
            raise ConfigError(
                f"Unknown key {name!r} in {CONFIG_FILE}. "
                f"Valid keys{' in [' + where + ']' if where else ''}: "
                f"{', '.join(sorted(f.removesuffix('_') for f in fields))}."
            )
        kwargs[attr] = _convert(value, hints[attr], name)
    return cls(**kwargs)


def parse_config(text: str, *, source: str = CONFIG_FILE) -> Config:
    """Parse and validate the text of a ``regulars.toml``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}.") from None
    return _build(Config, apply_profile(data), "")


def load_config(path: str | Path) -> Config:
    """Read and validate ``regulars.toml`` at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} not found. Create a workspace with `regulars init`.") from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path} is a folder, not a settings file.\nFix: move the folder away and run "
            f"`regulars init {path.parent}` to write a fresh {path.name}."
        ) from None
    except PermissionError:
        raise ConfigError(
            f"Cannot read {path}: permission denied.\nFix: ask the owner of the workspace "
            "for read access to the file."
        ) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} is not UTF-8 text: line {line} has the byte "
            f"0x{exc.object[exc.start]:02x}, which UTF-8 does not allow.\nFix: save the "
            "file as UTF-8 in your editor (TOML files are always UTF-8)."
        ) from None
    return parse_config(text, source=str(path))


def default_config_text(
    *,
    name: str = "My business",
    currency: str = "EUR",
    channels: dict[str, str] | None = None,
    kind: str = "studio",
) -> str:
    """The commented ``regulars.toml`` that ``regulars init`` writes.

    ``channels`` maps channel names to kinds; the default maps each kind's own name.
    ``kind`` is the business profile (studio, shop or subscription): the file shows
    that profile's defaults.
    """
    from regulars._config_actions import BUSINESS_KINDS

    if kind not in BUSINESS_KINDS:
        raise ConfigError(
            f"Business kind {kind!r} is not valid. Valid kinds: {', '.join(BUSINESS_KINDS)}."
        )
    guarantee_line = f"days = {90 if kind == 'studio' else 0}".ljust(27)
    channel_lines = "\n".join(
        f'"{k}" = "{v}"' for k, v in (channels or _default_channels()).items()
    )
    return f"""\
# regulars workspace settings. Every key is optional; the values shown are the defaults.

[workspace]
name = "{name}"
currency = "{currency}"     # ISO 4217 code used for every money column
period = "month"           # month, quarter or year: the default reporting period
default_margin = 0.3       # profit share of revenue for orders without a cost
activity_window = 3        # periods without an order before a customer is lapsed
locale = "en"              # report language and number format: en, ru, sl or he
{f'kind = "{kind}"'.ljust(27)}# studio, shop or subscription: sets the defaults below
# data_start = "2010-12-01"  # first/last day the data cover (default: first/last order);
# data_end = "2011-12-09"    # periods not covered from their first to last day are partial
# business_start = "2010-12-01"  # the day the business opened; default: detect whether the
#                               # first customers were already customers before the data

# Channel name (as written in customers.channel) -> channel kind.
# Kinds: referral, cold, organic, partner, other. Unknown names count as other.
[channels]
{channel_lines}

[engine]
backend = "duckdb"         # duckdb (this folder's regulars.duckdb), parquet or spark
memory = "auto"            # DuckDB's memory for every command: "4GiB", "25%", or auto (1/8 of RAM)

[import]
memory = "auto"            # DuckDB's memory during an import: "4GiB", "25%", or auto (1/8 of RAM)
spill = "auto"             # most disk for its spill files: "20GiB", "50%", or auto (half the free)

[guarantee]
{guarantee_line}# money-back window in days; 0 = no guarantee

[subscriptions]
churn_at = "period_end"    # period_end (after the paid period) or cancellation (on cancel_date)
discounts = "net"          # MRR net of discounts, or "list" price
same_period = "both"       # started and ended in one period: count as new and churned, or "neither"

[referrals]
cap_per_referrer = 0       # most one referrer can earn in total; 0 = no cap
max_depth = 20             # levels followed in the referral tree and cycle checks
# Reward rules; rewards are held until the referee's [guarantee] window has passed.
# [[referrals.rules]]
# kind = "fixed"           # fixed, percentage or double-sided
# side = "referrer"        # referrer, referee or both (fixed and percentage rules)
# amount = 50
# [[referrals.rules]]
# kind = "percentage"
# percent = 10             # % of the referee's net revenue in their first `months` months
# months = 6

[metrics]
# Spend channels that keep customers rather than win them (retention spend).
retention_channels = ["retention"]

# Customer models (regulars fit / regulars score).
[models]
purchase_model = "auto"    # auto (best on the holdout), bgnbd, mbgnbd, pnbd, mbgcnbd or bgbb
# what auto compares (mbgcnbd: regular buyers); add "bgbb" if buying is discrete
candidates = ["bgnbd", "mbgnbd", "pnbd", "mbgcnbd"]
spend_model = "gamma-gamma"  # gamma-gamma or none
time_unit = "W"            # unit of recency and T: D, W or M
clv_horizon_months = 12    # CLV horizon
discount_rate = 0.10       # annual discount rate of CLV
holdout = "auto"           # fit check: auto (last 30%, 4 weeks to a year), none, or a date
penalizer = 0.0            # 0 = maximum likelihood; a failed fit is retried with 0.01

""" + actions_config_text(kind)
