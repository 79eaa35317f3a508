"""Shared pieces of the CLI: the root group, the --workspace option, errors, output.

Everything the CLI prints goes through :data:`console` or :data:`err_console`.  Data
and messages are never markup: a value interpolated into a markup template goes
through :func:`esc` (a table cell through :func:`cell`), and both consoles make every
control character visible before it reaches the terminal.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import duckdb
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from regulars._text import visible
from regulars.errors import RegularsError
from regulars.store import DB_FILE, ENV_VAR, Workspace, resolve_workspace_path
from regulars.store._workspace import damaged_message

__all__ = [
    "SafeConsole",
    "UserError",
    "app",
    "cell",
    "check_output_path",
    "console",
    "err_console",
    "esc",
    "json_text",
    "open_workspace",
    "workspace_option",
    "write_out",
]


def esc(value: object, *, multiline: bool = False) -> str:
    """``value`` as text that Rich shows as it is: no markup, no control characters.

    Use it for every piece of data or message put into a markup template:
    ``console.print(f"Logged a call with [bold]{esc(name)}[/]")``.  Newlines and tabs
    stay only with ``multiline=True`` (messages); elsewhere they are made visible.
    """
    return escape(visible(value, keep="\n\t" if multiline else ""))


#: Characters json.dumps(ensure_ascii=False) leaves raw that a terminal may obey.
_JSON_RAW_CONTROLS = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def write_out(text: str) -> None:
    """Write machine output (CSV, JSON) to standard output.

    On a terminal, control characters are made visible (the data is for reading
    there); into a pipe or a file the bytes are exactly the data.
    """
    if sys.stdout.isatty():
        text = visible(text.replace("\r\n", "\n"), keep="\n\t")
    sys.stdout.write(text)


def json_text(text: str) -> str:
    """JSON text whose strings escape DEL, C1 and bidi controls too (still valid JSON)."""
    return _JSON_RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class TerminalSafeStream:
    """A binary stdout for streamed exports: on a terminal, controls are made visible."""

    def __init__(self, stream: Any) -> None:
        import codecs

        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def write(self, data: bytes) -> int:
        text = self._decoder.decode(data)
        self._stream.write(visible(text.replace("\r\n", "\n"), keep="\n\t").encode())
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


def cell(value: object) -> str:
    """A table cell of data: :func:`esc` on one line (``None`` is an empty cell)."""
    return "" if value is None else esc(value)


class SafeConsole(Console):
    """A Rich console that makes every control character visible and shows no emoji.

    The safety net under :func:`esc`: whatever string reaches it (a template, a table
    cell, a progress description) loses its control characters before Rich renders
    it, so data can never move the cursor, clear the screen or rename the window.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("highlight", False)
        kwargs.setdefault("emoji", False)
        super().__init__(**kwargs)
        if kwargs.get("width") is None:
            # Rich pins COLUMNS as it is when the console is made (at import); read it
            # when printing instead, so `COLUMNS=200 regulars ...` in one process, and
            # each CliRunner invocation of the tests, get the width they ask for.
            self._width = None

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(visible(text, keep="\n\t"), **kwargs)


console = SafeConsole()
err_console = SafeConsole(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A RegularsError shown as one clear message, with no traceback."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        err_console.print(
            f"[bold red]Error:[/] {esc(self.message, multiline=True)}", soft_wrap=True
        )


class _Group(click.Group):
    """Turns every RegularsError raised by a command into a clean error message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a full disk or closed pipe fails here, not at exit
            return result
        except RegularsError as exc:
            raise UserError(str(exc)) from None
        except KeyboardInterrupt:
            err_console.print("Interrupted. Nothing was written by the unfinished step.")
            sys.exit(130)
        except BrokenPipeError:
            # The reader went away (`regulars export orders | head`): stop quietly.
            _silence_stdout()
            sys.exit(141)
        except OSError as exc:
            raise UserError(os_error_message(exc)) from None
        except duckdb.OutOfMemoryException as exc:  # memory, or disk for the spill files
            raise UserError(_out_of_memory_message(str(exc))) from None
        except duckdb.IOException as exc:  # the database file failed under a query
            raise UserError(_database_io_message(str(exc))) from None
        except Exception as exc:
            if _spark_out_of_memory(exc):
                raise UserError(_spark_out_of_memory_message(str(exc))) from None
            raise


def _spark_out_of_memory(exc: Exception) -> bool:
    """Whether ``exc`` is Spark's (Py4J's or PySpark's) report of a JVM out of memory."""
    module = type(exc).__module__ or ""
    return module.startswith(("py4j", "pyspark")) and "OutOfMemoryError" in str(exc)


def _spark_out_of_memory_message(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if "OutOfMemoryError" in line]
    cause = lines[-1] if lines else "OutOfMemoryError"
    return (
        f"Spark ran out of memory: {cause}\n"
        "Nothing was written by the unfinished step. Fix: give the local driver more "
        "memory ($REGULARS_SPARK_DRIVER_MEMORY, default 4g), or split the work into "
        'smaller tasks: REGULARS_SPARK_CONF=\'{"spark.sql.shuffle.partitions": "256"}\' '
        "(docs/scale.md)."
    )


def _out_of_memory_message(text: str) -> str:
    first = text.splitlines()[0] if text else "Out of Memory Error"
    return (
        f"The database engine ran out of memory or of disk for its spill files: {first}\n"
        "Nothing was written by the unfinished step. Fix: free disk space beside the "
        "workspace file (DuckDB spills what does not fit into regulars.duckdb.tmp-<pid>), "
        'or give it more memory: [engine] memory = "8GiB" in regulars.toml or '
        "$REGULARS_ENGINE_MEMORY, and for `regulars actions` [actions] memory or "
        "$REGULARS_ACTIONS_MEMORY (docs/scale.md)."
    )


def _database_io_message(text: str) -> str:
    lowered = text.lower()
    db = _opened.get("path", resolve_workspace_path()) / DB_FILE
    if "corrupt" in lowered or "checksum" in lowered:
        return damaged_message(db)
    first = re.sub(r"\s*See also https?://\S+", "", text.splitlines()[0] if text else "")
    return (
        f"Reading or writing {db} failed: {first}\nFix: check the disk and the file "
        "permissions; nothing was committed by the failed step."
    )


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def os_error_message(exc: OSError) -> str:
    """One clear sentence for a file-system error: what failed, why, how to fix it."""
    import errno

    target = exc.filename
    what = f"Cannot use {target}" if target else "Cannot write the output"
    reason = exc.strerror or str(exc)
    fix = "Fix: choose another path, or check the folder."
    if exc.errno == errno.ENOSPC:
        fix = "Fix: free some disk space, or write to another disk."
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "Fix: use a folder you may write to, or change its permissions."
    elif exc.errno == errno.ENOENT:
        fix = "Fix: create the folder first, or choose an existing one."
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        fix = "Fix: part of the path is a file, not a folder; choose another path."
    if target is None:
        _silence_stdout()  # the failing stream is stdout: don't fail again at exit
    return f"{what}: {reason}.\n{fix}"


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="regulars")
def app() -> None:
    """Keep and grow the customers you already have.

    \b
    Try it on a simulated business:
        regulars demo demo-shop
    Use your own data:
        regulars init my-shop && cd my-shop
        regulars import orders ~/invoices.csv --map order_id=Invoice --map revenue=Total
    """


def workspace_option(f: F) -> F:
    """``--workspace/-w PATH`` (default: ``$REGULARS_WORKSPACE`` or the current folder)."""
    return click.option(
        "--workspace",
        "-w",
        "workspace",
        type=click.Path(file_okay=False, path_type=Path),
        envvar=ENV_VAR,
        default=None,
        help=f"Workspace folder (default: ${ENV_VAR} or the current directory).",
    )(f)


def open_workspace(path: Path | None, *, read_only: bool = False) -> Workspace:
    """Open the workspace the user pointed at (or the current directory)."""
    ws = Workspace.open(path, read_only=read_only)
    _opened["path"] = ws.path
    return ws


def check_output_path(out: Path, *, option: str = "--out") -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    import os

    parent = out.parent
    fix = f"Fix: choose another {option}, or create the folder first (mkdir -p {parent})."
    if out.is_dir():
        raise UserError(
            f"Cannot write {option} {out}: it is a folder.\nFix: give a file name, "
            f"e.g. {option} {out / 'report.html' if option == '--out' else out}."
        )
    if not parent.exists():
        # The nearest existing ancestor tells whether a file is in the way.
        blocker = next((p for p in parent.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise UserError(
                f"Cannot write {option} {out}: {blocker} is a file, not a folder.\n"
                f"Fix: choose another {option}."
            )
        raise UserError(f"Cannot write {option} {out}: the folder {parent} does not exist.\n{fix}")
    if not parent.is_dir():
        raise UserError(
            f"Cannot write {option} {out}: {parent} is a file, not a folder.\n"
            f"Fix: choose another {option}."
        )
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UserError(
            f"Cannot write {option} {out}: permission denied.\nFix: choose a folder you "
            "may write to, or change its permissions."
        )


#: The workspace the running command opened (its errors name its database).
_opened: dict[str, Path] = {}
