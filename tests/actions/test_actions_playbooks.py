"""Each playbook on a hand-made book where the right answer is obvious."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from conftest import Book
from regulars.actions import co_purchase_rules, compute_actions, record_outcome
from regulars.actions._features import paid_orders

TODAY = "2024-06-30"


def queue(book: Book, playbook: str, today: str = TODAY) -> dict[str, dict[str, Any]]:
    """Open actions of one playbook, by customer."""
    run = compute_actions(book.ws, today=today, playbooks=[playbook])
    rows = run.actions.to_pyarrow().to_pylist()
    assert all(r["playbook"] == playbook for r in rows)
    return {r["customer_id"]: r for r in rows}


# -- keep_in_touch --------------------------------------------------------------------


def test_keep_in_touch_follows_each_customers_rhythm(book: Book) -> None:
    days = ["2024-01-01", "2024-03-01", "2024-04-30"]  # every 60 days
    book.orders("K", days, 500).orders("T", days, 500).touch("T", "2024-06-20")
    book.orders("N", ["2024-04-30"], 500)  # one order: no rhythm yet
    book.orders("W", ["2024-04-01", "2024-04-08", "2024-04-15"], 500)  # weekly, lapsed
    got = queue(book, "keep_in_touch")
    assert set(got) == {"K"}
    k = got["K"]
    assert k["reason"].startswith("No contact (last order) for 61 days (due every 30 days")
    assert "3 orders worth 1,500 EUR" in k["reason"]
    assert k["due"] == dt.date(2024, 5, 30)
    assert "Hi K," in k["message"]


def test_keep_in_touch_cadence_is_shorter_for_valuable_customers(book: Book) -> None:
    days = ["2024-01-01", "2024-03-01", "2024-04-30", "2024-05-26"]
    # Mean gap 146 / 3 days; cadence 0.5 × gap × (median value / value) ** 0.25.
    book.orders("LOW", days, 100).orders("MID", days, 400).orders("HIGH", days, 1600)
    got = queue(book, "keep_in_touch", "2024-06-25")  # 30 days since the last order
    assert set(got) == {"MID", "HIGH"}  # LOW's cadence is 0.5 × 48.7 × 4 ** 0.25 = 34.4 days
    cadence = {c: json.loads(r["detail"])["cadence_days"] for c, r in got.items()}
    assert cadence["MID"] == pytest.approx(0.5 * (146 / 3), abs=0.05)
    assert cadence["HIGH"] == pytest.approx(0.5 * (146 / 3) * 0.25**0.25, abs=0.05)


def test_keep_in_touch_quotes_the_earlier_p_alive(book: Book) -> None:
    book.orders("K", ["2024-01-01", "2024-03-01", "2024-04-30"], 500)
    book.score("K", 0.95, 5000.0, scored_at="2024-03-15")
    compute_actions(book.ws, today="2024-03-20", playbooks=["keep_in_touch"])
    book.ws.con.execute("DELETE FROM scores")
    book.score("K", 0.82, 4000.0, scored_at="2024-06-29")
    k = queue(book, "keep_in_touch")["K"]
    assert "P(alive) 0.82, was 0.95 in March" in k["reason"]
    # What a touch can keep: (1 - P(alive)) x a year of the customer (1,500 EUR over a
    # 120-day span plus one 60-day gap, counted as at least a year).
    assert float(k["value_at_stake"]) == pytest.approx((1 - 0.82) * 1500.0)


def test_keep_in_touch_skips_customers_the_model_thinks_are_gone(book: Book) -> None:
    book.orders("K", ["2024-01-01", "2024-03-01", "2024-04-30"], 500)
    book.score("K", 0.2, 100.0)
    assert queue(book, "keep_in_touch") == {}


# -- next_step ------------------------------------------------------------------------


def next_step_book(book: Book) -> Book:
    for c in ("R1", "R2", "R3", "R4"):
        book.order(c, "2024-01-10", 300, product="audit").order(
            c, "2024-03-10", 1000, product="retainer"
        )
    for c in ("X1", "X2", "X3", "X4"):
        book.order(c, "2024-02-01", 200, product="logo")
    book.order("T", "2024-05-01", 300, product="audit")
    book.score("T", 0.9, 2000.0)
    return book


def test_co_purchase_rules_match_a_pandas_count(book: Book) -> None:
    next_step_book(book)
    rules = co_purchase_rules(paid_orders(book.ws, dt.date(2024, 6, 30))).to_pyarrow().to_pandas()
    r = rules.set_index(["a_item", "b_item"]).loc[("audit", "retainer")]
    o = book.ws.con.execute("SELECT customer_id, product, order_date FROM orders").arrow()
    o = o.read_all().to_pandas() if hasattr(o, "read_all") else o.to_pandas()
    first = o.groupby(["customer_id", "product"]).order_date.min().unstack()
    later = (first["retainer"] > first["audit"]).sum()
    assert r.support == later == 4
    assert r.buyers_a == first["audit"].notna().sum() == 5
    assert r.confidence == pytest.approx(4 / 5)
    assert r.base_rate == pytest.approx(4 / 9)
    assert r.lift == pytest.approx((4 / 5) / (4 / 9))
    assert r.mean_revenue_b == pytest.approx(1000.0)
    assert ("retainer", "audit") not in rules.set_index(["a_item", "b_item"]).index


def test_next_step_offers_what_similar_customers_bought_next(book: Book) -> None:
    next_step_book(book)
    got = queue(book, "next_step")
    assert set(got) == {"T"}
    t = got["T"]
    assert float(t["value_at_stake"]) == pytest.approx(800.0)  # 80% × 1,000
    assert "4 of 5 customers who bought audit later bought retainer (80%, 1.8×" in t["reason"]
    assert "never offered" in t["reason"]
    assert json.loads(t["detail"])["product"] == "retainer"


def test_next_step_is_not_repeated_until_the_cooldown_passes(book: Book) -> None:
    next_step_book(book)
    first = queue(book, "next_step")["T"]
    record_outcome(book.ws, first["action_id"], "done", outcome="declined", on="2024-06-30")
    offers = book.ws.con.execute("SELECT customer_id, product, outcome FROM offers").fetchall()
    assert offers == [("T", "retainer", "declined")]
    assert queue(book, "next_step", "2024-07-15") == {}
    assert queue(book, "next_step", "2024-12-26") == {}  # 179 days later
    again = queue(book, "next_step", "2024-12-28")["T"]
    assert again["action_id"] != first["action_id"]
    assert "last offered 2024-06-30" in again["reason"]


def test_a_touch_with_an_offer_counts_as_an_offer(book: Book) -> None:
    from regulars.actions import log_touch

    next_step_book(book)
    log_touch(book.ws, "T", kind="email", offer="retainer", at="2024-06-01")
    assert queue(book, "next_step") == {}


# -- package_offer --------------------------------------------------------------------


def test_package_offer_finds_customers_buying_services_separately(book: Book) -> None:
    for c in ("P", "Q"):
        book.order(c, "2023-09-01", 500, product="seo")
        book.order(c, "2024-01-01", 300, product="hosting")
        book.order(c, "2024-04-01", 200, product="content")
    book.order("Q", "2024-05-01", 2000, product="care-plan", kind="package")
    book.orders("S", ["2023-09-01", "2024-01-01", "2024-04-01"], 500, product="seo")
    book.order("U", "2024-01-01", 300, product="seo").order(
        "U", "2024-04-01", 300, product="hosting"
    )
    got = queue(book, "package_offer")
    assert set(got) == {"P"}
    p = got["P"]
    # The package's margin: 1,000 EUR a year on the services, less the 15% discount,
    # times the default 30% margin.
    assert float(p["value_at_stake"]) == pytest.approx(1000.0 * 0.85 * 0.3)
    assert (
        "Bought 3 services separately in the last 12 months: seo, hosting, content" in p["reason"]
    )
    assert "seo, hosting and content" in p["message"]
    assert "15%" in p["message"]


def test_package_offer_names_the_largest_services_only(book: Book) -> None:
    # Seven services: the reason counts them all and names the five of largest spend.
    days = ["2023-10-01", "2023-11-01", "2023-12-01", "2024-01-01", "2024-02-01"]
    days += ["2024-03-01", "2024-04-01"]
    for i, (day, amount) in enumerate(zip(days, [700, 600, 500, 400, 300, 200, 100], strict=True)):
        book.order("P", day, amount, product=f"service-{i}")
    p = queue(book, "package_offer")["P"]
    names = ", ".join(f"service-{i}" for i in range(5))
    assert f"Bought 7 services separately in the last 12 months: {names}, … (" in p["reason"]
    assert "service-5" not in p["reason"]
    assert "service-6" not in p["reason"]
    assert "service-0, service-1 and service-2" in p["message"]


# -- ask_for_referral -----------------------------------------------------------------


def test_ask_for_referral_asks_loyal_happy_customers_who_never_referred(book: Book) -> None:
    days = ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]
    for c in ("L1", "L2", "L3"):
        book.orders(c, days, 400)
    book.orders("L4", days[:2], 400)
    book.feedback("L1", "2024-05-02", 10).feedback("L2", "2024-05-02", 10)
    book.feedback("L3", "2024-01-02", 10).feedback("L3", "2024-05-02", 5)
    book.customer("NEW", referred_by="L2")
    got = queue(book, "ask_for_referral")
    assert set(got) == {"L1"}
    assert "Loyal: 5 orders worth 2,000 EUR" in got["L1"]["reason"]
    assert "latest feedback 10" in got["L1"]["reason"]
    book.set("playbooks.ask_for_referral", require_feedback=True, min_feedback=4.0)
    assert set(queue(book, "ask_for_referral")) == {"L1", "L3"}


def test_ask_for_referral_waits_after_an_ask(book: Book) -> None:
    book.orders("L1", ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"], 400)
    first = queue(book, "ask_for_referral")["L1"]
    record_outcome(book.ws, first["action_id"], "done", outcome="no-reply")
    assert queue(book, "ask_for_referral", "2024-10-01") == {}
    book.order("L1", "2024-12-01", 400)
    again = queue(book, "ask_for_referral", "2024-12-28")["L1"]
    assert "last asked 2024-06-30" in again["reason"]
    assert again["action_id"] != first["action_id"]


# -- renewal_due ----------------------------------------------------------------------


def renewal_book(book: Book) -> Book:
    for c in ("S1", "S2", "S3", "S4", "PK", "PK2"):
        book.order(c, "2023-08-01", 1200, kind="package" if c.startswith("PK") else "subscription")
    book.order("PK2", "2024-06-01", 1200, kind="package")
    book.subscription("sub-1", "S1", "2023-08-15", billing_period="year", price=1200, plan="gold")
    book.subscription("sub-2", "S2", "2023-08-15", billing_period="month", price=100)
    book.subscription(
        "sub-3", "S3", "2024-01-10", billing_period="month", price=100, end_date="2024-07-10"
    )
    book.subscription("sub-4", "S4", "2023-08-15", billing_period="year", cancel_date="2024-05-01")
    return book


def test_renewal_due_finds_ends_within_the_checkpoints(book: Book) -> None:
    renewal_book(book)
    got = queue(book, "renewal_due")
    assert set(got) == {"S1", "S3", "PK"}
    assert "renews or ends on 2024-08-15, in 46 days (90-day checkpoint)" in got["S1"]["reason"]
    assert got["S1"]["due"] == dt.date(2024, 5, 17)
    assert float(got["S1"]["value_at_stake"]) == 1200.0
    assert "gold runs until 2024-08-15" in got["S1"]["message"]
    assert "in 10 days (30-day checkpoint)" in got["S3"]["reason"]
    assert got["S3"]["priority"] == 1  # the last checkpoint is urgent
    assert "runs out on 2024-07-31, in 31 days" in got["PK"]["reason"]


def test_renewal_due_raises_one_action_per_checkpoint(book: Book) -> None:
    renewal_book(book)
    first = queue(book, "renewal_due")["S1"]
    record_outcome(book.ws, first["action_id"], "done", outcome="accepted")
    assert "S1" not in queue(book, "renewal_due", "2024-07-02")
    assert "S1" not in queue(book, "renewal_due", "2024-07-20")  # 21-day cooldown
    second = queue(book, "renewal_due", "2024-07-25")["S1"]
    assert "(30-day checkpoint)" in second["reason"]
    assert second["action_id"] != first["action_id"]


def test_next_renewal_of_open_ended_subscriptions(book: Book) -> None:
    book.order("Q1", "2024-01-31", 100).order("W1", "2024-06-01", 100)
    book.subscription("q", "Q1", "2024-01-31", billing_period="quarter")
    book.subscription("w", "W1", "2024-06-01", billing_period="week")
    book.set("playbooks.renewal_due", billing_periods=["quarter", "week"], checkpoints=[3])
    # Quarterly from Jan 31: Apr 30, Jul 31 (DuckDB clamps month ends).
    assert "on 2024-07-31, in 1 day" in queue(book, "renewal_due", "2024-07-30")["Q1"]["reason"]
    assert "on 2024-07-06, in 3 days" in queue(book, "renewal_due", "2024-07-03")["W1"]["reason"]


# -- win_back -------------------------------------------------------------------------


def test_win_back_finds_lapsed_valuable_customers(book: Book) -> None:
    book.orders("W1", ["2023-01-01", "2023-01-31", "2023-03-02"], 300, product="seo")
    book.orders("W5", ["2023-01-01", "2023-01-31", "2023-03-02"], 900, product="seo")
    book.orders("W2", ["2024-05-01", "2024-05-31"], 300, product="hosting")
    book.orders("W3", ["2020-01-01", "2020-02-01"], 300, product="hosting")
    book.orders("W4", ["2023-01-01", "2023-01-31"], 300, product="hosting")
    book.subscription("s4", "W4", "2023-01-01", billing_period="month")
    # Three seo buyers took brand-workshop later, first sold after W1's last order: a
    # rule seo -> brand-workshop (confidence 3/5, lift 1.6) that W1 has not seen yet.
    for x in ("X1", "X2", "X3"):
        book.order(x, "2023-06-01", 100, product="seo")
        book.order(x, "2024-06-01", 100, product="brand-workshop")
    got = queue(book, "win_back")
    assert set(got) == {"W1", "W5"}
    w1 = got["W1"]
    assert w1["reason"].startswith("No order for 486 days, 16.2× their usual gap of 30 days")
    assert "new since their last order: brand-workshop" in w1["reason"]
    assert "we have added brand-workshop" in w1["message"]
    assert float(got["W5"]["value_at_stake"]) == pytest.approx(3 * float(w1["value_at_stake"]))
    assert float(w1["value_at_stake"]) == pytest.approx(900.0)  # 900 over at least a year


def test_win_back_uses_p_alive_when_scored(book: Book) -> None:
    book.orders("M", ["2024-01-01", "2024-03-01"], 300)  # 121 days, gap 60: not lapsed by gap
    book.orders("N", ["2024-01-01", "2024-03-01"], 300)
    book.score("M", 0.1, 50.0).score("N", 0.9, 500.0)
    got = queue(book, "win_back")
    assert set(got) == {"M"}
    assert "P(alive) 0.10" in got["M"]["reason"]


# -- guarantee_check_in ---------------------------------------------------------------


def test_guarantee_check_in_covers_new_customers_not_contacted(book: Book) -> None:
    book.order("G1", "2024-06-10", 2400, product="website")
    book.order("G2", "2024-06-10", 2400).touch("G2", "2024-06-12")
    book.order("G3", "2024-03-01", 2400)
    book.order("G4", "2024-06-27", 2400)
    book.order("G5", "2024-06-10", 2400, refund_amount=400)
    got = queue(book, "guarantee_check_in")
    assert set(got) == {"G1"}
    g1 = got["G1"]
    assert g1["due"] == dt.date(2024, 6, 17)
    assert "first order 20 days ago (website, 2,400 EUR)" in g1["reason"]
    assert "window runs until 2024-09-08" in g1["reason"]
    assert "until 2024-09-08" in g1["message"]
    book.set("guarantee", days=0)
    assert queue(book, "guarantee_check_in") == {}


# -- pay_referral_reward --------------------------------------------------------------


def test_pay_referral_reward_lists_earned_unpaid_rewards(book: Book) -> None:
    book.customer("A", name="Ada").customer("B", name="Bob Ltd", referred_by="A")
    book.customer("C", name="Cleo", referred_by="A").customer("D", referred_by="A")
    book.order("A", "2024-01-05", 500).order("B", "2024-01-10", 500)
    book.order("C", "2024-03-01", 500).order("D", "2024-06-01", 500)
    # Earned 90 days (the guarantee) after the referee's first order: B on 2024-04-09,
    # C on 2024-05-30; D's reward is still pending on 2024-06-30.
    book.raw('[[referrals.rules]]\nkind = "double-sided"\namount = 50\nreferee_amount = 20\n')
    got = queue(book, "pay_referral_reward")
    assert set(got) == {"A", "B", "C"}
    assert float(got["A"]["value_at_stake"]) == 100.0
    assert float(got["B"]["value_at_stake"]) == 20.0
    assert "Owed 2 referral rewards (100 EUR) for Bob Ltd and Cleo" in got["A"]["reason"]
    assert "earned since 2024-04-09" in got["A"]["reason"]
    assert "reward of 100 EUR" in got["A"]["message"]
    record_outcome(book.ws, got["A"]["action_id"], "done")
    paid = book.ws.con.execute(
        "SELECT customer_id, referee, amount FROM reward_payments ORDER BY referee"
    ).fetchall()
    assert [(p[0], p[1], float(p[2])) for p in paid] == [("A", "B", 50.0), ("A", "C", 50.0)]
    assert book.ws.count("touches") == 0  # a payment is not a touch
    assert set(queue(book, "pay_referral_reward")) == {"B", "C"}
    # D's reward is earned on 2024-08-30 and is then owed on its own.
    later = queue(book, "pay_referral_reward", "2024-09-01")
    assert float(later["A"]["value_at_stake"]) == 50.0
    assert "for D" in later["A"]["reason"]


def test_no_referral_rules_no_rewards(book: Book) -> None:
    book.customer("A").customer("B", referred_by="A")
    book.order("A", "2023-01-05", 500).order("B", "2023-01-10", 500)
    assert queue(book, "pay_referral_reward") == {}
