"""The ``[actions]`` and ``[playbooks.<name>]`` sections of ``regulars.toml``.

They live in their own module so that :mod:`regulars.config` stays short; the
dataclasses are re-exported there.  ``regulars.actions`` reads them, and
``docs/actions.md`` documents every key.
"""

from __future__ import annotations

import copy
import re
import string
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from regulars.errors import ConfigError
from regulars.schema import TOUCH_KINDS

__all__ = [
    "BUSINESS_KINDS",
    "PLAYBOOK_NAMES",
    "PLAYBOOK_PLACEHOLDERS",
    "SHOP_EXCLUDES",
    "ActionsConfig",
    "AskForReferralPlaybook",
    "GuaranteeCheckInPlaybook",
    "KeepInTouchPlaybook",
    "NextStepPlaybook",
    "PackageOfferPlaybook",
    "PayReferralRewardPlaybook",
    "PlaybookSettings",
    "PlaybooksConfig",
    "ProductsConfig",
    "RenewalDuePlaybook",
    "WinBackPlaybook",
    "actions_config_text",
    "apply_profile",
    "compile_pattern",
]

# Placeholders every message template may use.
_COMMON = (
    "business",
    "currency",
    "customer_id",
    "due",
    "name",
    "orders",
    "revenue",
    "value_at_stake",
)

#: The placeholders each playbook's ``message`` template may use (``str.format`` style).
PLAYBOOK_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "keep_in_touch": (*_COMMON, "cycle_days", "days_since_touch", "last_product"),
    "next_step": (*_COMMON, "confidence_pct", "from_product", "product"),
    "package_offer": (*_COMMON, "discount_pct", "products"),
    "ask_for_referral": (*_COMMON, "feedback", "tenure_years"),
    "renewal_due": (*_COMMON, "days_left", "end_date", "plan"),
    "win_back": (*_COMMON, "days_since_order", "last_product", "something_new"),
    "guarantee_check_in": (*_COMMON, "guarantee_days", "guarantee_end", "product"),
    "pay_referral_reward": (*_COMMON, "amount", "referee", "referee_name"),
}

#: Playbook names, in the order they are listed and evaluated.
PLAYBOOK_NAMES: tuple[str, ...] = tuple(PLAYBOOK_PLACEHOLDERS)


def _check_template(playbook: str, template: str) -> None:
    """Every ``{field}`` of ``template`` must be a known placeholder of ``playbook``."""
    valid = PLAYBOOK_PLACEHOLDERS[playbook]
    where = f"[playbooks.{playbook}] message"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(
            f"{where} is not a valid template ({exc}). Write placeholders as {{name}} and a "
            "literal brace as {{ or }}."
        ) from None
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if name == "" or not name.isidentifier():
            raise ConfigError(
                f"{where} uses the placeholder {{{name}}}, which is not allowed: write a "
                f"plain name. Valid placeholders: {', '.join(sorted(valid))}."
            )
        if name not in valid:
            raise ConfigError(
                f"{where} uses the unknown placeholder {{{name}}}. "
                f"Valid placeholders: {', '.join(sorted(valid))}."
            )


@dataclass
class ActionsConfig:
    """``[actions]``: rules shared by every playbook."""

    # At most one action per customer per this many days, across all playbooks.  A
    # touch or a done action inside the window blocks new actions (0 = no cap).
    frequency_cap_days: int = 14
    # Share of each playbook's eligible customers held out (recorded, not shown).
    holdout_share: float = 0.10
    # Text mixed into the holdout hash; change it to draw new holdout groups.
    holdout_salt: str = ""
    # What "today" is: "data" = the date of the latest order (reproducible, right for
    # imported snapshots), "clock" = the computer's date.
    clock: Literal["data", "clock"] = "data"
    # Days after an action in which a repurchase counts for effectiveness.
    effect_window_days: int = 90
    # Default length of `regulars action snooze` without --until.
    snooze_days: int = 14
    # Most actions the list holds per week (0 = no limit): the open list is cut to the
    # most valuable ones, and actions closed in the last 7 days use up the week's room.
    weekly_capacity: int = 25
    # Most of the week's list one playbook may take while others have actions waiting
    # (places left over go to the most valuable actions, whatever their playbook).
    playbook_share: float = 0.5
    # Orders within this many days of the previous order are one visit: a burst of
    # orders in one week does not make a "usual gap" of a few days.
    visit_days: int = 7
    # DuckDB's memory limit while the actions are computed: a size ("4GiB", "512MiB"),
    # a share of the machine's memory ("25%"), or "auto" (an eighth of it, 1 to 16
    # GiB, like an import).  What does not fit spills to regulars.duckdb.tmp-<pid>.  The
    # environment variable REGULARS_ACTIONS_MEMORY overrides it.
    memory: str = "auto"

    def __post_init__(self) -> None:
        from regulars.config import parse_size  # config imports this module

        parse_size(self.memory, where="[actions] memory", of=100)
        if self.frequency_cap_days < 0:
            raise ConfigError(
                f"[actions] frequency_cap_days = {self.frequency_cap_days!r} must not be "
                "negative (days between two actions for one customer; 0 = no cap)."
            )
        if not 0.0 <= self.holdout_share < 1.0:
            raise ConfigError(
                f"[actions] holdout_share = {self.holdout_share!r} is out of range "
                "(expected a share from 0 to below 1, for example 0.1 for 10%)."
            )
        if self.weekly_capacity < 0:
            raise ConfigError(
                f"[actions] weekly_capacity = {self.weekly_capacity!r} must not be negative "
                "(actions the list holds per week, for example 25; 0 = no limit)."
            )
        if not 0.0 < self.playbook_share <= 1.0:
            raise ConfigError(
                f"[actions] playbook_share = {self.playbook_share!r} is out of range "
                "(expected a share above 0 and at most 1, for example 0.5; 1 = no limit)."
            )
        if self.visit_days < 0:
            raise ConfigError(
                f"[actions] visit_days = {self.visit_days!r} must not be negative (days within "
                "which orders count as one visit, for example 7; 0 = every order day)."
            )
        for key in ("effect_window_days", "snooze_days"):
            if getattr(self, key) < 1:
                raise ConfigError(
                    f"[actions] {key} = {getattr(self, key)!r} must be at least 1 day."
                )


#: The kinds of business ``[workspace] kind`` accepts (see :func:`apply_profile`).
BUSINESS_KINDS: tuple[str, ...] = ("studio", "shop", "subscription")

#: ``[products] exclude`` of a shop: lines that are not products (a regex, see
#: :func:`compile_pattern`).
SHOP_EXCLUDES: tuple[str, ...] = (
    r"re:\b(postage|carriage|shipping|delivery|fees?|manual|adjust(ment)?s?|"
    r"bank charges?)\b",
)


def compile_pattern(pattern: str, where: str = "[products] exclude") -> str:
    """The case-insensitive regular expression of one ``[products] exclude`` pattern.

    ``re:...`` is a regular expression searched anywhere in the name; anything else
    is a glob matched against the whole name (``*`` any text, ``?`` one character),
    so ``"*postage*"`` excludes "DOTCOM POSTAGE".  Both ignore case.  The result is
    anchored for globs and uses only syntax that DuckDB (RE2) and Spark (Java) share.
    """
    if not isinstance(pattern, str) or not pattern.strip():
        raise ConfigError(
            f"{where} contains {pattern!r}: each pattern must be a non-empty text, a glob "
            'such as "*postage*" or a regular expression such as "re:\\bfees?\\b".'
        )
    if pattern.startswith("re:"):
        regex = pattern[3:]
        try:
            re.compile(regex)
        except re.error as exc:
            raise ConfigError(
                f"{where} contains {pattern!r}, which is not a valid regular expression "
                f'({exc}). Fix the pattern, or write a glob such as "*postage*".'
            ) from None
        return "(?i)" + regex
    parts = []
    for ch in pattern.lower():
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        elif ch.isalnum() or ch in " _":
            parts.append(ch)
        else:
            parts.append("\\" + ch if not ch.isspace() else ch)
    return "(?i)^" + "".join(parts) + "$"


@dataclass
class ProductsConfig:
    """``[products]``: which line items are products a customer can be offered."""

    # Names (product, or category with item = "category") that are not products:
    # globs ("*postage*") or regular expressions ("re:\\bfees?\\b"), ignoring case.
    # They never appear in reasons, next-step suggestions or package offers.
    exclude: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for p in self.exclude:
            compile_pattern(p)

    @property
    def patterns(self) -> list[str]:
        """The regular expressions of :attr:`exclude`."""
        return [compile_pattern(p) for p in self.exclude]


# What each business kind changes, as keys of regulars.toml that the file does not set.
_PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "studio": {},
    "shop": {
        "guarantee": {"days": 0},
        "products": {"exclude": list(SHOP_EXCLUDES)},
        "playbooks.package_offer": {"enable": False},
        "playbooks.guarantee_check_in": {"enable": False},
    },
    "subscription": {
        "guarantee": {"days": 0},
        "playbooks.package_offer": {"enable": False},
        "playbooks.guarantee_check_in": {"enable": False},
    },
}


def apply_profile(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a parsed regulars.toml) with the defaults of its business kind added.

    ``[workspace] kind`` picks the profile; keys the file sets always win.  A file
    without ``kind`` is a ``studio`` (the behaviour of workspaces made before the key
    existed).  An unknown kind is left for the validator to report.
    """
    workspace = data.get("workspace")
    kind = workspace.get("kind", "studio") if isinstance(workspace, dict) else "studio"
    profile = _PROFILES.get(kind) if isinstance(kind, str) else None
    if not profile:
        return data
    out = copy.deepcopy(data)
    for section, keys in profile.items():
        node = out
        for part in section.split("."):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a wrong type: the validator reports it
                break
            node = child
        else:
            for key, value in keys.items():
                node.setdefault(key, copy.deepcopy(value))
    return out


@dataclass
class PlaybookSettings:
    """Keys every ``[playbooks.<name>]`` section has."""

    # Whether the playbook runs at all.
    enable: bool = True
    # Days a customer stays quiet for this playbook after an action is done or dismissed.
    cooldown_days: int = 90
    # This playbook's holdout share; -1 = use [actions] holdout_share.
    holdout_share: float = -1.0
    # false = the playbook's actions ignore the global frequency cap (and do not count
    # towards it).
    respect_cap: bool = True
    # Kind of the touch logged when an action is marked done.
    touch_kind: str = "call"
    # The suggested message: a str.format template (see docs/actions.md).
    message: str = ""

    def _name(self) -> str:
        return _SECTION_OF[type(self).__name__]

    def __post_init__(self) -> None:
        name = self._name()
        where = f"[playbooks.{name}]"
        if self.cooldown_days < 0:
            raise ConfigError(
                f"{where} cooldown_days = {self.cooldown_days!r} must not be negative."
            )
        if self.holdout_share != -1.0 and not 0.0 <= self.holdout_share < 1.0:
            raise ConfigError(
                f"{where} holdout_share = {self.holdout_share!r} is out of range (expected a "
                "share from 0 to below 1, or -1 to use [actions] holdout_share)."
            )
        if self.touch_kind not in TOUCH_KINDS:
            raise ConfigError(
                f"{where} touch_kind = {self.touch_kind!r} is not a touch kind. "
                f"Valid kinds: {', '.join(TOUCH_KINDS)}."
            )
        _check_template(name, self.message)
        for f in fields(self):
            value = getattr(self, f.name)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if f.name.startswith(("min_", "max_")) and numeric and value < 0:
                raise ConfigError(f"{where} {f.name} = {value!r} must not be negative.")


@dataclass
class KeepInTouchPlaybook(PlaybookSettings):
    """``[playbooks.keep_in_touch]``: valuable customers left without a touch too long."""

    cooldown_days: int = 14
    touch_kind: str = "idea"
    message: str = (
        "Hi {name}, I was thinking about your {last_product} and have an idea that could "
        "help. Do you have 15 minutes this week?"
    )
    # Customers need this many orders (distinct days) to have a rhythm.
    min_orders: int = 2
    # Least P(alive) (when scored) for a customer to count as active.
    min_p_alive: float = 0.5
    # Least value (CLV, or yearly revenue without scores) worth a touch.
    min_value: float = 0.0
    # Touch after this share of the customer's own purchase cycle without contact.
    cycle_share: float = 0.5
    # How strongly value shortens the cadence: cadence × (median value / value) ** weight.
    value_weight: float = 0.25
    # Bounds of the cadence in days.
    min_days: int = 14
    max_days: int = 180


@dataclass
class NextStepPlaybook(PlaybookSettings):
    """``[playbooks.next_step]``: the service similar customers bought next."""

    cooldown_days: int = 180
    touch_kind: str = "email"
    message: str = (
        "Hi {name}, many of our customers who did {from_product} with us took {product} "
        "as the next step. Would it help you too? I can send a short proposal."
    )
    # Orders column that names a service: "product" or "category".
    item: Literal["product", "category"] = "product"
    # Least customers who bought A and later B for the pair to count.
    min_support: int = 3
    # Least lift: P(B later | A) / P(B).
    min_lift: float = 1.2
    # Least P(B later | A).
    min_confidence: float = 0.1
    # Least P(alive) when scored.
    min_p_alive: float = 0.3


@dataclass
class PackageOfferPlaybook(PlaybookSettings):
    """``[playbooks.package_offer]``: customers buying several services one by one."""

    cooldown_days: int = 180
    touch_kind: str = "email"
    message: str = (
        "Hi {name}, you regularly order {products} from us. As a package they would cost "
        "you {discount_pct} less, with no separate orders. Shall I prepare an offer?"
    )
    item: Literal["product", "category"] = "product"
    # Least distinct services bought separately within the lookback.
    min_services: int = 2
    # Least separate (non-package) orders within the lookback.
    min_orders: int = 3
    lookback_days: int = 365
    # Discount of the suggested package (shown in the message).
    discount: float = 0.15


@dataclass
class AskForReferralPlaybook(PlaybookSettings):
    """``[playbooks.ask_for_referral]``: loyal, happy customers who never referred."""

    cooldown_days: int = 180
    message: str = (
        "Hi {name}, thank you for {orders} orders with us. If you know someone who could "
        "use the same help, we would be glad of an introduction."
    )
    min_orders: int = 3
    min_p_alive: float = 0.7
    # Least latest feedback score (for example 9 = an NPS promoter).
    min_feedback: float = 9.0
    # true = customers without any feedback are not asked.
    require_feedback: bool = False
    # Chance an ask brings a new customer; value at stake = this × the customer's value.
    success_rate: float = 0.2


def _default_checkpoints() -> list[int]:
    return [90, 30]


def _default_billing_periods() -> list[str]:
    return ["quarter", "year"]


@dataclass
class RenewalDuePlaybook(PlaybookSettings):
    """``[playbooks.renewal_due]``: subscriptions and packages reaching their end."""

    cooldown_days: int = 21
    message: str = (
        "Hi {name}, your {plan} runs until {end_date}. Shall we look at what worked this "
        "term and plan the next one?"
    )
    # Days before the end at which an action is raised (one action per checkpoint).
    checkpoints: list[int] = field(default_factory=_default_checkpoints)
    # Open-ended subscriptions with these billing periods get an action before each
    # renewal; fixed-term ones (with an end_date) always do.
    billing_periods: list[str] = field(default_factory=_default_billing_periods)
    # How long a package order (kind = package) runs.
    package_term_days: int = 365

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.checkpoints or any(c < 1 for c in self.checkpoints):
            raise ConfigError(
                f"[playbooks.renewal_due] checkpoints = {self.checkpoints!r} must be a "
                "non-empty list of positive day counts, for example [90, 30]."
            )
        from regulars.schema import BILLING_PERIODS

        for p in self.billing_periods:
            if p not in BILLING_PERIODS:
                raise ConfigError(
                    f"[playbooks.renewal_due] billing_periods contains {p!r}. "
                    f"Valid periods: {', '.join(BILLING_PERIODS)}."
                )
        if self.package_term_days < 1:
            raise ConfigError(
                "[playbooks.renewal_due] package_term_days must be at least 1 day, got "
                f"{self.package_term_days!r}."
            )


@dataclass
class WinBackPlaybook(PlaybookSettings):
    """``[playbooks.win_back]``: valuable customers who stopped buying."""

    touch_kind: str = "email"
    message: str = (
        "Hi {name}, it has been a while! Since your last order we have added "
        "{something_new}. Would that be useful for you?"
    )
    # P(alive) below this (when scored) counts as lapsing.
    max_p_alive: float = 0.3
    # ...or no order for this many times the customer's usual gap.
    gap_multiple: float = 3.0
    min_orders: int = 1
    # Customers gone longer than this are left alone.
    max_days_lapsed: int = 1095


@dataclass
class GuaranteeCheckInPlaybook(PlaybookSettings):
    """``[playbooks.guarantee_check_in]``: new customers inside the money-back window."""

    cooldown_days: int = 30
    message: str = (
        "Hi {name}, how is {product} working for you so far? If anything is not right, "
        "tell us: our {guarantee_days}-day money-back guarantee covers you until "
        "{guarantee_end}."
    )
    # Days after the first order at which to check in.
    after_days: int = 7


@dataclass
class PayReferralRewardPlaybook(PlaybookSettings):
    """``[playbooks.pay_referral_reward]``: rewards earned and cleared, not yet paid."""

    cooldown_days: int = 0
    holdout_share: float = 0.0
    respect_cap: bool = False
    touch_kind: str = "other"
    message: str = (
        "Hi {name}, thank you for recommending us to {referee_name}! Your reward of "
        "{amount} is on its way."
    )


_SECTION_OF = {
    "KeepInTouchPlaybook": "keep_in_touch",
    "NextStepPlaybook": "next_step",
    "PackageOfferPlaybook": "package_offer",
    "AskForReferralPlaybook": "ask_for_referral",
    "RenewalDuePlaybook": "renewal_due",
    "WinBackPlaybook": "win_back",
    "GuaranteeCheckInPlaybook": "guarantee_check_in",
    "PayReferralRewardPlaybook": "pay_referral_reward",
}


@dataclass
class PlaybooksConfig:
    """``[playbooks.<name>]``: one section per playbook."""

    keep_in_touch: KeepInTouchPlaybook = field(default_factory=KeepInTouchPlaybook)
    next_step: NextStepPlaybook = field(default_factory=NextStepPlaybook)
    package_offer: PackageOfferPlaybook = field(default_factory=PackageOfferPlaybook)
    ask_for_referral: AskForReferralPlaybook = field(default_factory=AskForReferralPlaybook)
    renewal_due: RenewalDuePlaybook = field(default_factory=RenewalDuePlaybook)
    win_back: WinBackPlaybook = field(default_factory=WinBackPlaybook)
    guarantee_check_in: GuaranteeCheckInPlaybook = field(default_factory=GuaranteeCheckInPlaybook)
    pay_referral_reward: PayReferralRewardPlaybook = field(
        default_factory=PayReferralRewardPlaybook
    )

    def get(self, name: str) -> PlaybookSettings:
        """The settings of playbook ``name``; a clear error lists the playbooks."""
        if name not in PLAYBOOK_NAMES:
            raise ConfigError(
                f"Unknown playbook {name!r}. Valid playbooks: {', '.join(PLAYBOOK_NAMES)}."
            )
        settings: PlaybookSettings = getattr(self, name)
        return settings


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def actions_config_text(kind: str = "studio") -> str:
    """The commented ``[actions]``, ``[products]`` and ``[playbooks.*]`` part of
    ``regulars.toml``, with the defaults of business ``kind``."""
    pb = PlaybooksConfig()
    off = kind in ("shop", "subscription")
    package_enable = (
        "enable = false             # a shop sells products, not packages\n" if off else ""
    )
    guarantee_enable = (
        "enable = false             # no money-back guarantee by default\n" if off else ""
    )
    excludes = list(_PROFILES.get(kind, {}).get("products", {}).get("exclude", []))
    exclude_text = ", ".join(_toml_str(p) for p in excludes)
    return f"""\
[actions]
frequency_cap_days = 14    # at most one action per customer per this many days (0 = no cap)
holdout_share = 0.1        # share of each playbook's eligible customers held out to measure lift
holdout_salt = ""          # change to draw new holdout groups
clock = "data"             # "today" is the latest order date (data) or the computer's date (clock)
effect_window_days = 90    # days after an action in which a repurchase counts
snooze_days = 14           # default snooze length
weekly_capacity = 25       # most actions on the list per week, the most valuable first (0 = all)
playbook_share = 0.5       # most of the week's list one playbook may take (1 = no limit)
visit_days = 7             # orders this close to the previous one are one visit (rhythm)
memory = "auto"            # DuckDB's memory while computing: "4GiB", "25%", or auto (1/8 of RAM)

# Names that are not products (postage, fees...): globs such as "*postage*" or regular
# expressions written "re:...", ignoring case. Kept out of reasons and offers.
[products]
exclude = [{exclude_text}]

# Every playbook also takes: enable = true, cooldown_days, holdout_share (-1 = use
# [actions]), respect_cap = true, touch_kind, and message (placeholders in docs/actions.md).
[playbooks.keep_in_touch]
min_orders = 2             # orders needed to have a purchase rhythm
min_p_alive = 0.5          # least P(alive) to count as active (when scored)
min_value = 0.0            # least CLV (or yearly revenue) worth a touch
cycle_share = 0.5          # touch after this share of the customer's own purchase cycle
value_weight = 0.25        # more valuable customers get a shorter cadence
min_days = 14              # cadence bounds in days
max_days = 180
cooldown_days = 14
message = {_toml_str(pb.keep_in_touch.message)}

[playbooks.next_step]
item = "product"           # product or category
min_support = 3            # customers who bought A and later B
min_lift = 1.2             # P(B later | A) / P(B)
min_confidence = 0.1       # P(B later | A)
min_p_alive = 0.3
cooldown_days = 180        # an offer is not repeated for this long
message = {_toml_str(pb.next_step.message)}

[playbooks.package_offer]
{package_enable}item = "product"
min_services = 2           # distinct services bought separately in the lookback
min_orders = 3
lookback_days = 365
discount = 0.15            # discount of the suggested package
cooldown_days = 180
message = {_toml_str(pb.package_offer.message)}

[playbooks.ask_for_referral]
min_orders = 3
min_p_alive = 0.7
min_feedback = 9.0         # least latest feedback score
require_feedback = false   # true = never ask customers without feedback
success_rate = 0.2         # chance an ask brings a customer
cooldown_days = 180        # not asked again for this long
message = {_toml_str(pb.ask_for_referral.message)}

[playbooks.renewal_due]
checkpoints = [90, 30]     # days before the end
billing_periods = ["quarter", "year"]  # open-ended subscriptions renewed this often
package_term_days = 365    # how long a package order runs
cooldown_days = 21
message = {_toml_str(pb.renewal_due.message)}

[playbooks.win_back]
max_p_alive = 0.3          # P(alive) below this counts as lapsing (when scored)
gap_multiple = 3.0         # ...or no order for this many usual gaps
min_orders = 1
max_days_lapsed = 1095     # leave alone customers gone longer than this
cooldown_days = 90
message = {_toml_str(pb.win_back.message)}

[playbooks.guarantee_check_in]
{guarantee_enable}after_days = 7             # days after the first order
cooldown_days = 30
message = {_toml_str(pb.guarantee_check_in.message)}

[playbooks.pay_referral_reward]
holdout_share = 0.0        # rewards owed are always paid
respect_cap = false
cooldown_days = 0
message = {_toml_str(pb.pay_referral_reward.message)}
"""
