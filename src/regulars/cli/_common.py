"""Shared pieces of the CLI: the root group, the --workspace option, errors, output."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from regulars.errors import RegularsError
from regulars.store import ENV_VAR, Workspace

__all__ = [
    "UserError",
    "app",
    "console",
    "err_console",
    "open_workspace",
    "workspace_option",
]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A RegularsError shown as one clear message, with no traceback."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        err_console.print(f"[bold red]Error:[/] {self.message}", soft_wrap=True, markup=True)


class _Group(click.Group):
    """Turns every RegularsError raised by a command into a clean error message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RegularsError as exc:
            raise UserError(str(exc)) from None
        except KeyboardInterrupt:
            err_console.print("Interrupted. Nothing was written by the unfinished step.")
            sys.exit(130)


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
    return Workspace.open(path, read_only=read_only)
