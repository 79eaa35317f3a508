"""The app's own state: roles and languages, assignments, import history, audit log.

The customer book stays in the workspace's DuckDB file; these tables live in the
app database (SQLite in the workspace by default).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

ROLES = (("owner", "owner"), ("staff", "staff"), ("viewer", "viewer"))


class Profile(models.Model):
    """A user's role and language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(max_length=10, choices=ROLES, default="viewer")
    language = models.CharField(max_length=8, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.user.username} ({self.role})"


class Assignment(models.Model):
    """Who works an action of the queue."""

    action_id = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    assigned_at = models.DateTimeField(auto_now=True)


class ImportRecord(models.Model):
    """One upload and its import: who, when, what, how many rows."""

    STATES: ClassVar[list[tuple[str, str]]] = [
        ("uploaded", "uploaded"),
        ("running", "running"),
        ("done", "done"),
        ("failed", "failed"),
    ]
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=255)
    table = models.CharField(max_length=32, default="orders")
    mapping = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=STATES, default="uploaded")
    step = models.CharField(max_length=32, blank=True, default="")
    rows_read = models.IntegerField(default=0)
    rows_imported = models.IntegerField(default=0)
    rows_rejected = models.IntegerField(default=0)
    message = models.TextField(blank=True, default="")
    rejects_name = models.CharField(max_length=255, blank=True, default="")


class AuditEvent(models.Model):
    """Logins, failed logins, imports, outcomes and settings changes."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    username = models.CharField(max_length=150, blank=True, default="")
    event = models.CharField(max_length=40)
    detail = models.TextField(blank=True, default="")
    address = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering: ClassVar[list[str]] = ["-at", "-id"]


class DigestRun(models.Model):
    """One scheduled weekly digest: its slot is unique, so it is sent at most once.

    The scheduler claims a slot by inserting its row; a second thread or process
    that tries the same slot gets an integrity error from the database and sends
    nothing.
    """

    STATES: ClassVar[list[tuple[str, str]]] = [
        ("sending", "sending"),
        ("sent", "sent"),
        ("failed", "failed"),
    ]
    slot = models.DateTimeField(unique=True)
    started_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=STATES, default="sending")
    recipients = models.IntegerField(default=0)
    detail = models.TextField(blank=True, default="")

    class Meta:
        ordering: ClassVar[list[str]] = ["-slot"]
