"""The Django app of regulars."""

from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "regulars.web"
    label = "regulars_web"
    verbose_name = "regulars"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from regulars.web import _audit  # noqa: F401  (connects the login signals)
