"""Customers: search and sort, one customer's page with the timeline, log a touch."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regulars import service
from regulars.schema import TOUCH_KINDS
from regulars.service._customers import CustomerQueries, attributes_of
from regulars.web._access import require, role_of
from regulars.web._audit import audit
from regulars.web._cache import cached, cached_html
from regulars.web._format import Formatter, formatter
from regulars.web._ws import open_ws

__all__ = ["customer_list", "customer_page", "log_touch"]

PAGE = 50


class TouchForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k) for k in TOUCH_KINDS])
    note = forms.CharField(max_length=2000, required=False)
    outcome = forms.CharField(max_length=500, required=False)


@require("viewer")
def customer_list(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "clv")
    if sort not in service.CUSTOMER_SORTS:
        sort = "clv"
    descending = request.GET.get("dir", "desc") != "asc"
    try:
        page = max(0, int(request.GET.get("page", "0")))
    except ValueError:
        page = 0
    query = request.GET.get("q", "")[:200]

    def compute() -> tuple[service.CustomerPage, str]:
        with open_ws() as ws:
            result = service.list_customers(
                ws, query=query, sort=sort, descending=descending, limit=PAGE, offset=page * PAGE
            )
            return result, ws.config.workspace.currency

    result, currency = cached(("customers", query, sort, descending, page), compute)
    fmt = formatter(request, currency)
    rows = [
        {
            **r,
            "clv_text": fmt.money(r["clv"]),
            "p_alive_text": fmt.percent(r["p_alive"]),
            "last_order_text": fmt.date(r["last_order"]),
        }
        for r in result.rows
    ]
    return render(
        request,
        "regulars_web/customers.html",
        {
            "rows": rows,
            "result": result,
            "sorts": service.CUSTOMER_SORTS,
            "page": page,
            "has_next": (page + 1) * PAGE < result.total,
            "next_page": page + 1,
            "prev_page": page - 1,
        },
    )


def _why_text(fmt: object, why: list[tuple[str, dict[str, object]]]) -> list[str]:
    texts = []
    for code, values in why:
        if code == "no_scores":
            texts.append(_("No scores yet: fit the models on the Models page."))
        elif code == "repeat_orders":
            texts.append(_("%(n)s repeat orders so far.") % {"n": values["n"]})
        elif code == "since_last":
            texts.append(_("%(days)s days since the last order.") % {"days": values["days"]})
        elif code == "alive_high":
            texts.append(_("Buys often enough for this gap: very likely still a customer."))
        elif code == "alive_mid":
            texts.append(_("The gap is longer than usual for them: may be drifting away."))
        else:
            texts.append(_("The gap is far longer than their rhythm: probably lost."))
    return texts


def _customer(customer_id: str) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    with open_ws() as ws:
        # compiled once per state of the workspace, then a few small queries per customer
        queries = cached(("customer-queries",), lambda: CustomerQueries(ws))
        customer, timeline = queries.page(ws, customer_id)
        return customer, timeline, ws.config.workspace.currency


@require("viewer")
def customer_page(request: HttpRequest, customer_id: str) -> HttpResponse:
    """Facts, scores with their "why", the timeline, and (staff) the touch form.

    The body is rendered once per customer, language and role, and kept until the
    workspace changes (see :func:`~regulars.web._cache.cached_html`).
    """
    customer, timeline, currency = cached(("customer", customer_id), lambda: _customer(customer_id))
    can_edit = role_of(request.user) in ("owner", "staff")

    def context() -> dict[str, Any]:
        return _page_context(customer, timeline, currency) | {"can_edit": can_edit}

    body = cached_html(request, (customer_id, can_edit), "regulars_web/customer_body.html", context)
    return render(request, "regulars_web/customer.html", {"c": customer, "body": body})


def _page_context(
    customer: dict[str, Any], timeline: list[dict[str, Any]], currency: str
) -> dict[str, Any]:
    timeline = [dict(e) for e in timeline]
    fmt = Formatter(translation.get_language() or "en", currency)
    for e in timeline:
        e["at_text"] = fmt.date(e["at"])
        if e.get("amount") is not None:
            e["amount_text"] = fmt.money(e["amount"])
    return {
        "c": customer,
        "attributes": sorted(attributes_of(customer).items()),
        "timeline": timeline,
        "why": _why_text(fmt, customer["why"]),
        # with the 90% interval where the scores have one: "€1,200 (€800–€1,900)"
        "clv_text": fmt.money_interval(
            customer["clv"], customer.get("clv_low"), customer.get("clv_high")
        ),
        "p_alive_text": fmt.percent_interval(
            customer["p_alive"], customer.get("p_alive_low"), customer.get("p_alive_high")
        ),
        "revenue_text": fmt.money(customer["revenue"]),
        "form": TouchForm(),
    }


@require("staff")
@require_POST
def log_touch(request: HttpRequest, customer_id: str) -> HttpResponse:
    form = TouchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(" ".join(v) for v in form.errors.values()))
        return redirect("customer", customer_id=customer_id)
    d = form.cleaned_data
    with open_ws() as ws:
        service.customer_detail(ws, customer_id)  # 404 for an unknown customer
        touch_id = service.log_customer_touch(
            ws, customer_id, kind=d["kind"], note=d["note"], outcome=d["outcome"]
        )
    audit(request, "touch_logged", json.dumps({"customer_id": customer_id, "touch_id": touch_id}))
    messages.success(request, _("Touch logged."))
    return redirect("customer", customer_id=customer_id)
