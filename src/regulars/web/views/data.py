"""Data: upload a file, preview its automatic mapping, fix it, import, see the history."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from regulars import service
from regulars.errors import RegularsError
from regulars.schema import TABLES
from regulars.web._access import require, role_of
from regulars.web._audit import audit
from regulars.web._jobs import start
from regulars.web._settings import app_dir
from regulars.web._ws import open_ws
from regulars.web.models import ImportRecord

__all__ = ["data_home", "preview", "rejects", "run_import", "status", "upload"]

#: Accepted extensions -> what the first bytes must look like.
EXTENSIONS = {".csv": "text", ".tsv": "text", ".txt": "text", ".xlsx": "zip", ".parquet": "parquet"}
IMPORTABLE = [name for name, t in TABLES.items() if t.importable]


def _uploads() -> Path:
    path = app_dir(Path(settings.REGULARS_WORKSPACE)) / "uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def content_problem(head: bytes, tail: bytes, kind: str) -> str | None:
    """Why the bytes are not a file of ``kind`` (None when they are)."""
    if kind == "zip" and not head.startswith(b"PK\x03\x04"):
        return _("This is not an Excel .xlsx file (it is not a zip archive).")
    if kind == "parquet" and not (head.startswith(b"PAR1") and tail.endswith(b"PAR1")):
        return _("This is not a Parquet file (it has no PAR1 marker).")
    if kind == "text":
        if b"\x00" in head:
            return _("This is not a text file (it holds binary bytes).")
        for encoding in ("utf-8", "cp1252"):
            try:
                head.decode(encoding)
                return None
            except UnicodeDecodeError as exc:
                if exc.start >= len(head) - 4:  # a character cut by the sample's end
                    return None
        return _("This file is not readable text.")
    return None


def _record(request: HttpRequest, import_id: int) -> ImportRecord:
    """The import, when the user may see it: owners see all, others their own uploads."""
    record = get_object_or_404(ImportRecord, pk=import_id)
    if role_of(request.user) != "owner" and record.user_id != request.user.pk:
        raise Http404(_("No such import."))
    return record


@require("viewer")
def data_home(request: HttpRequest) -> HttpResponse:
    history = ImportRecord.objects.select_related("user").order_by("-created_at", "-id")[:100]
    return render(
        request,
        "regulars_web/data.html",
        {
            "history": history,
            "tables": IMPORTABLE,
            "max_mb": settings.REGULARS_MAX_UPLOAD_BYTES // (1024 * 1024),
        },
    )


@require("staff")
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    f = request.FILES.get("file")
    table = request.POST.get("table", "orders")
    if table not in IMPORTABLE:
        table = "orders"
    if f is None:
        messages.error(request, _("Choose a file to upload."))
        return redirect("data")
    ext = Path(f.name or "").suffix.lower()
    if ext not in EXTENSIONS:
        messages.error(
            request,
            _(
                "%(name)s: files of this type cannot be imported. "
                "Use CSV, TSV, Excel (.xlsx) or Parquet."
            )
            % {"name": f.name},
        )
        return redirect("data")
    if f.size is None or f.size > settings.REGULARS_MAX_UPLOAD_BYTES:
        messages.error(
            request,
            _("%(name)s is larger than the upload limit of %(mb)s MB.")
            % {"name": f.name, "mb": settings.REGULARS_MAX_UPLOAD_BYTES // (1024 * 1024)},
        )
        return redirect("data")
    stored = secrets.token_hex(16) + ext
    target = _uploads() / stored
    with target.open("wb") as out:
        for chunk in f.chunks():
            out.write(chunk)
    with target.open("rb") as fh:
        head = fh.read(65536)
        fh.seek(max(0, target.stat().st_size - 4))
        tail = fh.read()
    problem = content_problem(head, tail, EXTENSIONS[ext])
    if problem:
        target.unlink()
        messages.error(request, f"{f.name}: {problem}")
        return redirect("data")
    record = ImportRecord.objects.create(
        user=request.user,
        file_name=Path(f.name or "upload").name[:255],
        stored_name=stored,
        table=table,
    )
    audit(request, "upload", json.dumps({"import": record.pk, "file": record.file_name}))
    return redirect("data-preview", import_id=record.pk)


def _mapping_from(request: HttpRequest, fields: list[dict[str, Any]]) -> dict[str, str]:
    return {f["name"]: request.POST.get(f"map_{f['name']}", "") for f in fields}


@require("viewer")
def preview(request: HttpRequest, import_id: int) -> HttpResponse:
    """The first rows and the mapping (editable while the upload is not imported)."""
    record = _record(request, import_id)
    path = _uploads() / record.stored_name
    result = None
    if record.state in ("uploaded", "failed") and path.exists():
        try:
            result = service.preview_file(path, record.table, mapping=record.mapping or None)
        except RegularsError as exc:
            messages.error(request, str(exc))
    return render(
        request,
        "regulars_web/preview.html",
        {"record": record, "p": result, "refresh": record.state == "running"},
    )


@require("staff")
@require_POST
def run_import(request: HttpRequest, import_id: int) -> HttpResponse:
    """Save the edited mapping; with ``go``, import in the background."""
    record = _record(request, import_id)
    if record.state not in ("uploaded", "failed"):
        messages.error(request, _("This file was imported already."))
        return redirect("data-preview", import_id=record.pk)
    path = _uploads() / record.stored_name
    p = service.preview_file(path, record.table)
    columns = set(p.columns)
    mapping = {k: v for k, v in _mapping_from(request, p.fields).items() if v in columns}
    record.mapping = mapping
    record.save(update_fields=["mapping"])
    if "go" not in request.POST:
        return redirect("data-preview", import_id=record.pk)
    record.state, record.step, record.message = "running", "starting", ""
    record.save(update_fields=["state", "step", "message"])
    user = request.user
    pk = record.pk

    def job(progress: Any) -> None:
        def step(name: str) -> None:
            progress(name)
            ImportRecord.objects.filter(pk=pk).update(step=name)

        r = ImportRecord.objects.get(pk=pk)
        try:
            with open_ws() as ws:
                result = service.import_data(
                    ws, r.table, path, mapping=mapping, skip_invalid=True, progress=step
                )
        except RegularsError as exc:
            r.state, r.message = "failed", str(exc)
            r.save(update_fields=["state", "message"])
            audit(None, "import_failed", f"{r.file_name}: {exc}", user=user)
            return
        r.state = "done"
        r.rows_read, r.rows_imported = result.rows_read, result.rows_imported
        r.rows_rejected = result.rows_rejected
        r.message = str(result)
        if result.rejected_path is not None and result.rejected_path.exists():
            r.rejects_name = result.rejected_path.name
        r.save()
        audit(
            None,
            "import",
            json.dumps(
                {
                    "file": r.file_name,
                    "table": r.table,
                    "rows": r.rows_imported,
                    "rejected": r.rows_rejected,
                }
            ),
            user=user,
        )

    if not start(f"import-{pk}", job):
        messages.error(request, _("This import is already running."))
    return redirect("data-preview", import_id=record.pk)


@require("viewer")
def status(request: HttpRequest, import_id: int) -> HttpResponse:
    record = _record(request, import_id)
    return JsonResponse(
        {
            "state": record.state,
            "step": record.step,
            "rows_imported": record.rows_imported,
            "rows_rejected": record.rows_rejected,
        }
    )


@require("staff")
def rejects(request: HttpRequest, import_id: int) -> HttpResponse:
    record = _record(request, import_id)
    if not record.rejects_name:
        raise Http404(_("This import rejected no rows."))
    path = _uploads() / record.rejects_name
    if path.parent != _uploads() or not path.exists():
        raise PermissionDenied
    name = Path(record.file_name).stem + ".rejected.csv"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="text/csv")
