"""``regulars serve``, ``regulars user ...`` and ``regulars digest``: the web app's commands."""

from __future__ import annotations

from pathlib import Path

import click

from regulars.cli._common import app, cell, console, err_console, esc, workspace_option
from regulars.store import resolve_workspace_path

ROLES = ("owner", "staff", "viewer")


def _setup(workspace: Path | None, database_url: str | None = None, https: bool = False) -> None:
    from regulars.web import setup

    setup(resolve_workspace_path(workspace), database_url=database_url, https=https)


@app.command("serve")
@workspace_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--https",
    is_flag=True,
    help="Behind a reverse proxy that terminates HTTPS: Secure cookies, HSTS, redirects.",
)
@click.option(
    "--database-url",
    envvar="REGULARS_DATABASE_URL",
    metavar="URL",
    help="App state in PostgreSQL (postgresql://USER:PASSWORD@HOST/NAME) instead of SQLite.",
)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
def serve_command(
    workspace: Path | None,
    host: str,
    port: int,
    https: bool,
    database_url: str | None,
    threads: int,
) -> None:
    """Serve the web app on the workspace (127.0.0.1:8000 by default).

    The first run creates the owner account and prints its password once.

    \b
    Examples:
        regulars serve -w demo-workspace
        regulars serve --host 0.0.0.0 --port 8080 --https   # behind a proxy
    """
    from regulars.web import ensure_owner
    from regulars.web._digest import DigestScheduler
    from regulars.web._server import serve

    _setup(workspace, database_url, https)
    created = ensure_owner()
    if created is not None:
        name, password = created
        console.print(
            f"Created the owner account. User: [bold]{esc(name)}[/]  "
            f"Password: [bold]{esc(password)}[/]",
            markup=True,
        )
        console.print("The password is shown only now. Change it under Account after login.")
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"Listening on {esc(host)}: anyone who can reach this address sees the login page. "
            "Put it behind HTTPS (see docs/web.md)."
        )

    def ready(url: str) -> None:
        console.print(f"Serving regulars at {esc(url)} (press Ctrl+C to stop).", soft_wrap=True)
        # The weekly digest at the time set in [digest] of regulars.toml (Settings page).
        DigestScheduler(default_url=url).start()

    serve(host, port, threads=threads, on_ready=ready)


@app.group("user")
def user_group() -> None:
    """Manage the web app's accounts: add, list, disable, set-password."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True)
@click.option("--email", default="", help="Email for the weekly digest.")
@click.option(
    "--language", type=click.Choice(["en", "ru", "sl", "he"]), help="Language of pages and mail."
)
@workspace_option
def user_add(
    username: str, role: str, email: str, language: str | None, workspace: Path | None
) -> None:
    """Add a user; prints a generated password once."""
    from regulars.web import create_user

    _setup(workspace)
    user, password = create_user(username, role=role, email=email, language=language or "")
    console.print(f"Added {esc(user.username)} ({role}). Password, shown only now: {esc(password)}")


@user_group.command("list")
@workspace_option
def user_list(workspace: Path | None) -> None:
    """List the users, their roles and their last login."""
    from rich.table import Table

    from regulars.web import list_users

    _setup(workspace)
    table = Table(title="Users", title_justify="left")
    for col in ("user", "role", "email", "language", "active", "last login"):
        table.add_column(col)
    for u in list_users():
        last = u["last_login"].strftime("%Y-%m-%d %H:%M") if u["last_login"] else "never"
        table.add_row(
            cell(u["username"]),
            cell(u["role"]),
            cell(u["email"]),
            cell(u["language"] or "browser"),
            "yes" if u["active"] else "no",
            last,
        )
    console.print(table)


@user_group.command("disable")
@click.argument("username")
@workspace_option
def user_disable(username: str, workspace: Path | None) -> None:
    """Disable a user: they can no longer log in and their sessions end."""
    from regulars.web import disable_user

    _setup(workspace)
    disable_user(username)
    console.print(f"Disabled {esc(username)}.")


@user_group.command("set-password")
@click.argument("username")
@click.option(
    "--prompt", "ask", is_flag=True, help="Type the new password instead of generating one."
)
@workspace_option
def user_set_password(username: str, ask: bool, workspace: Path | None) -> None:
    """Give a user a new password (generated, or typed with --prompt); ends their sessions."""
    from regulars.web import set_password

    _setup(workspace)
    typed = None
    if ask:
        typed = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    password = set_password(username, typed)
    if typed is None:
        console.print(f"New password for {esc(username)}, shown only now: {esc(password)}")
    else:
        console.print(f"Password of {esc(username)} changed.")


@app.command("digest")
@workspace_option
@click.option(
    "--url",
    "base_url",
    default="",
    metavar="URL",
    help="Address of the web app, linked from the mail (e.g. https://regulars.example.com).",
)
@click.option("--dry-run", is_flag=True, help="List who would get mail; send nothing.")
def digest_command(workspace: Path | None, base_url: str, dry_run: bool) -> None:
    """Email every user their actions due this week, in their language.

    Uses the mail server in [smtp] of regulars.toml; the password comes from the
    environment variable named by [smtp] password_env. While `regulars serve` runs it
    sends the digest itself at the time set under Settings ([digest] in regulars.toml);
    otherwise schedule this command weekly with cron or a systemd timer (docs/web.md).

    \b
    Examples:
        regulars digest --dry-run
        REGULARS_SMTP_PASSWORD=... regulars digest --url https://regulars.example.com
    """
    from regulars.store import Workspace
    from regulars.web._digest import send_digest

    _setup(workspace)
    with Workspace.open(resolve_workspace_path(workspace)) as ws:
        result = send_digest(ws, base_url=base_url, dry_run=dry_run)
    verb = "Would send" if dry_run else "Sent"
    console.print(
        f"{verb} {len(result.sent)} digest(s): {esc(', '.join(result.sent) or 'nobody')}. "
        f"No mail for: {esc(', '.join(result.skipped) or 'nobody')} "
        "(no email address, no due actions, or viewer)."
    )
