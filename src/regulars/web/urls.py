"""Every page of the app.  Each view checks its role (see ``_access.require``)."""

from __future__ import annotations

from pathlib import Path

from django.urls import path, re_path
from django.views.static import serve

from regulars.web import views
from regulars.web.views import admin, customers, data, growth, week

_STATIC = str(Path(__file__).resolve().parent / "static")

#: Pages that anyone may open (the login page and its static files).
PUBLIC = frozenset({"login", "static"})

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("account/", views.account, name="account"),
    path("week/", week.week, name="week"),
    path("week/<str:action_id>/done/", week.done, name="action-done"),
    path("week/<str:action_id>/snooze/", week.snooze, name="action-snooze"),
    path("week/<str:action_id>/dismiss/", week.dismiss, name="action-dismiss"),
    path("week/<str:action_id>/assign/", week.assign, name="action-assign"),
    path("customers/", customers.customer_list, name="customers"),
    path("customers/<str:customer_id>/", customers.customer_page, name="customer"),
    path("customers/<str:customer_id>/touch/", customers.log_touch, name="customer-touch"),
    path("data/", data.data_home, name="data"),
    path("data/upload/", data.upload, name="data-upload"),
    path("data/<int:import_id>/", data.preview, name="data-preview"),
    path("data/<int:import_id>/import/", data.run_import, name="data-import"),
    path("data/<int:import_id>/status/", data.status, name="data-status"),
    path("data/<int:import_id>/rejects/", data.rejects, name="data-rejects"),
    path("growth/", growth.growth, name="growth"),
    path("growth/chart/<str:name>.svg", growth.chart, name="growth-chart"),
    path("growth/report/", growth.report_download, name="growth-report"),
    path("growth/vega.js", growth.vega_script, name="growth-vega"),
    path("models/", growth.models_page, name="models"),
    path("models/refit/", growth.refit, name="models-refit"),
    path("settings/", admin.settings_page, name="settings"),
    path("settings/digest/", admin.digest_schedule, name="settings-digest"),
    path("users/", admin.users, name="users"),
    path("users/<int:user_id>/", admin.user_edit, name="user-edit"),
    path("audit/", admin.audit_log, name="audit"),
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": _STATIC}, name="static"),
]
