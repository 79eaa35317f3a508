"""The use cases every surface calls: the CLI, the report and the web app.

Each function takes an open :class:`~regulars.store.Workspace` and returns plain
data (dicts, lists, Arrow tables or the library's result objects), never text for
one surface.  Errors are :class:`~regulars.errors.RegularsError` subclasses whose
``hint`` names what to change, so that each surface can word it (a ``--map`` flag in
the CLI, a form field in the web app).

>>> from regulars import service
>>> sorted(service.METRICS)[:3]
['business-revenue', 'channel-economics', 'cohort-retention']
"""

from __future__ import annotations

from regulars.service._actions import (
    action_row,
    due_actions,
    log_customer_touch,
    record_action,
    week_queue,
)
from regulars.service._customers import (
    CUSTOMER_SORTS,
    CustomerPage,
    customer_detail,
    customer_timeline,
    list_customers,
)
from regulars.service._data import ImportPreview, import_data, preview_file
from regulars.service._metrics import METRICS, call_metric, metric_function, run_metric
from regulars.service._models import (
    MODEL_NAMES,
    PURCHASE_MODELS,
    SPEND_MODELS,
    TIME_UNITS,
    fit_models,
    last_fit,
    model_label,
    score_models,
    top_customers,
)
from regulars.service._serialize import MONEY_FLOATS, cell_text, json_value, to_csv, to_json

__all__ = [
    "CUSTOMER_SORTS",
    "METRICS",
    "MODEL_NAMES",
    "MONEY_FLOATS",
    "PURCHASE_MODELS",
    "SPEND_MODELS",
    "TIME_UNITS",
    "CustomerPage",
    "ImportPreview",
    "action_row",
    "call_metric",
    "cell_text",
    "customer_detail",
    "customer_timeline",
    "due_actions",
    "fit_models",
    "import_data",
    "json_value",
    "last_fit",
    "list_customers",
    "log_customer_touch",
    "metric_function",
    "model_label",
    "preview_file",
    "record_action",
    "run_metric",
    "score_models",
    "to_csv",
    "to_json",
    "top_customers",
    "week_queue",
]
